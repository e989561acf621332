"""A question bank sent to the bot in a DM by a secretary or admin is imported like
``branchbot bank import``: everything is checked first, and a file with errors imports nothing
unless its caption says ``skip-bad``."""

from __future__ import annotations

import asyncio
from pathlib import PurePath

from bot.context import Context
from bot.events import Attachment
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from dialogs.learning.common import router
from store.banks import FORMATS, parse_file

ERRORS_SHOWN = 10


async def import_file(ctx: Context, attachment: Attachment) -> bool:
    if PurePath(attachment.name).suffix.lower() not in FORMATS:
        return False
    if not ctx.event.chat.direct:
        ctx.reply(_("Please send question banks to me in a direct chat."))
        return True
    if not ctx.who.has(Role.SECRETARY):
        ctx.reply(_("Only branch secretaries and admins can import question banks."))
        return True
    # Parsing a large workbook takes a while: off the event loop, other chats go on meanwhile.
    bank = await asyncio.to_thread(parse_file, attachment.name, attachment.data)
    skip_bad = "skip-bad" in ctx.event.text.lower()
    if bank.errors:
        lines = [
            ctx.t(
                _n("{name} has {count} problem:", "{name} has {count} problems:"),
                name=attachment.name,
                count=len(bank.errors),
            )
        ]
        lines += [Markup.format("• {error}", error=str(e)) for e in bank.errors[:ERRORS_SHOWN]]
        if not skip_bad:
            lines.append(
                ctx.t(
                    _(
                        "Nothing was imported. Fix the file and send it again, or send it with "
                        "the caption `skip-bad` to import the good questions only."
                    )
                )
            )
            ctx.reply(Markup.join(lines))
            return True
        ctx.reply(Markup.join(lines))
    notes: list[Markup] = []
    if (bank.levels or bank.lessons) and not ctx.who.is_admin:
        # Levels and lessons are the whole organisation's; a branch secretary adds questions.
        notes.append(
            ctx.t(
                _(
                    "Levels and lessons apply to the whole organisation, so only admins can "
                    "import them; the ones in {name} were left out."
                ),
                name=attachment.name,
            )
        )
        bank.levels, bank.lessons = [], []
    done = await ctx.store.learning.import_bank(bank)
    counts = [
        ctx.t(_n("{count} new question", "{count} new questions"), done.added),
        ctx.t(_n("{count} updated", "{count} updated"), done.updated),
        ctx.t(_n("{count} level", "{count} levels"), done.levels),
        ctx.t(_n("{count} lesson", "{count} lessons"), done.lessons),
    ]
    if done.missing:
        notes.append(
            ctx.t(
                _n(
                    "{count} question of this bank is not in the file; it was kept.",
                    "{count} questions of this bank are not in the file; they were kept.",
                ),
                done.missing,
            )
        )
    summary = ctx.t(
        _("Bank **{bank}** imported: {counts}"),
        bank=bank.name,
        counts=ctx.translator.join(counts).plain(),
    )
    ctx.reply(Markup.join([summary, *notes]))
    return True


router.file_handlers.append(import_file)
