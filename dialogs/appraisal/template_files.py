"""A survey template sent to the bot in a direct chat by an admin is imported like
``branchbot survey import``: everything is checked first, and a file with any problem imports
nothing, its problems listed with their lines.

Only admins import templates: a template is the organisation's (every branch's rounds use
the same keys, and importing a key again is its next version for everyone), so a secretary is
told that an admin can do it. Unlike a question bank, a template is read here, in the event's
batch: the limits (``templates.LIMITS``) keep the costliest file they let through to about
10 ms (docs/appraisal.md).

The handler claims only YAML files with a top-level ``survey:`` key (``is_template``), so a
question bank still reaches the learning feature's handler, asked after this one.
"""

from __future__ import annotations

from pathlib import PurePath

from bot.context import Context
from bot.events import Attachment
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from dialogs.appraisal.common import router
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import Template, TemplateError, is_template, parse_template
from store.banks import shown

YAML = (".yaml", ".yml")
ERRORS_SHOWN = 10
"""Problems listed in the answer; the CLI lists them all."""


def problems(ctx: Context, name: str, errors: tuple[TemplateError, ...]) -> Markup:
    """The first problems of a file, how many more there are, and that nothing was stored."""
    lines = [
        ctx.t(
            _n("{name} has {count} problem:", "{name} has {count} problems:"),
            len(errors),
            name=name,
        )
    ]
    lines += [Markup.format("• {error}", error=shown(str(e))) for e in errors[:ERRORS_SHOWN]]
    if len(errors) > ERRORS_SHOWN:
        lines.append(ctx.t(_("… and {count} more."), count=len(errors) - ERRORS_SHOWN))
    lines.append(ctx.t(_("Nothing was imported. Fix the file and send it again.")))
    return Markup.join(lines, "\n")


def imported(ctx: Context, template: Template, version: int) -> Markup:
    return ctx.t(
        _n(
            "Survey template **{title}** ({key}) imported as version {version}: {count} question.",
            "Survey template **{title}** ({key}) imported as version {version}: {count} questions.",
        ),
        len(template.questions),
        title=template.title.get(ctx.translator.locale),
        key=template.key,
        version=version,
    )


async def import_template(ctx: Context, attachment: Attachment) -> bool:
    if PurePath(attachment.name).suffix.lower() not in YAML or not is_template(attachment.data):
        return False
    if not ctx.event.chat.direct:
        ctx.reply(_("Please send survey templates to me in a direct chat."))
        return True
    if not ctx.who.is_admin:
        if ctx.who.has(Role.SECRETARY):
            ctx.reply(
                _(
                    "Only admins can import survey templates, because every branch uses them. "
                    "Please send the file to an admin."
                )
            )
        else:
            ctx.reply(_("Only admins can import survey templates."))
        return True
    name = shown(attachment.name, 255)
    loaded = parse_template(attachment.data, name)
    if loaded.template is None:
        ctx.reply(problems(ctx, name, loaded.errors))
        return True
    repository = ctx.store.get(Appraisal)
    stored = await repository.template_by_id(await repository.add_template(loaded.template))
    assert stored is not None  # just added, in this transaction
    ctx.reply(imported(ctx, loaded.template, stored.version))
    return True


router.file_handlers.append(import_template)
