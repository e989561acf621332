"""A question bank sent to the bot in a DM by a secretary or admin is imported like
``branchbot bank import``: everything is checked first, and a file with errors imports nothing
unless its caption says ``skip-bad``.

Reading a file is unbounded work, so none of it happens here, in the engine's batch: the file
is stored as a job with the sender's rights and their chat, and the bank worker
(``bank_imports``) reads it in a fenced child process and answers through the outbox. A
secretary's file goes to their branch's bank; an admin's to the organisation's.
"""

from __future__ import annotations

from pathlib import PurePath

from bot.context import Context
from bot.events import Attachment
from bot.i18n import _
from bot.identity import Role
from dialogs.learning.common import router
from store.bank_jobs import BankJobs, Upload
from store.banks import FORMATS, LIMITS, shown
from store.branches import branch_key

SKIP_BAD = "skip-bad"
"""The caption word that imports the good questions of a file with errors."""


def _branch(ctx: Context) -> int | None:
    """The branch whose bank a secretary's file goes to: their only branch, or the one the
    caption names; None when that is unclear."""
    branches = ctx.who.secretary_of
    if len(branches) == 1:
        return next(iter(branches))
    # The caption is the branch's name, with ``skip-bad`` anywhere: compared whole, so a
    # branch called "East" is not also "East Wing", nor "Bad" the ``skip-bad`` caption.
    caption = branch_key(" ".join(w for w in ctx.event.text.split() if w.lower() != SKIP_BAD))
    named = [b for b, name in branches.items() if branch_key(name) == caption]
    return named[0] if len(named) == 1 else None


async def import_file(ctx: Context, attachment: Attachment) -> bool:
    if PurePath(attachment.name).suffix.lower() not in FORMATS:
        return False
    if not ctx.event.chat.direct:
        ctx.reply(_("Please send question banks to me in a direct chat."))
        return True
    if not ctx.who.has(Role.SECRETARY):
        ctx.reply(_("Only branch secretaries and admins can import question banks."))
        return True
    if len(attachment.data) > LIMITS.file_bytes:
        ctx.reply(
            _("{name} is too big: a question bank file can have at most {limit} KB."),
            name=attachment.name,
            limit=LIMITS.file_bytes // 1024,
        )
        return True
    branch_id = None
    if not ctx.who.is_admin:
        branch_id = _branch(ctx)
        if branch_id is None:
            ctx.reply(
                _(
                    "You are the secretary of several branches ({names}). Send the file again "
                    "with the name of the branch whose bank it is as its caption."
                ),
                names=ctx.listing(list(ctx.who.secretary_of.values())),
            )
            return True
    await ctx.store.get(BankJobs).add(
        Upload(
            file_name=shown(attachment.name, 255),
            data=attachment.data,
            skip_bad=SKIP_BAD in ctx.event.text.lower().split(),
            admin=ctx.who.is_admin,
            branch_id=branch_id,
            member_id=ctx.who.member_id,
            platform=ctx.event.platform,
            chat_id=ctx.event.chat.id,
            user_id=ctx.event.sender.id,
            locale=ctx.translator.locale,
        )
    )
    ctx.reply(
        _("Received {name}. I am checking it and will answer here when it is done."),
        name=attachment.name,
    )
    return True


router.file_handlers.append(import_file)
