"""What ``/privacy`` says about the mailbox. Every claim is one docs/privacy.md explains and
tests/mailbox/test_anonymity.py checks; change them together."""

from __future__ import annotations

from bot.context import Context
from bot.i18n import _
from bot.markup import Markup
from dialogs.mailbox.common import router


@router.privacy_section
async def mailbox_privacy(ctx: Context) -> list[Markup]:
    return [
        ctx.t(_("**Your privacy in the secretary mailbox**")),
        ctx.t(
            _(
                "• A signed letter shows your name to the secretaries who answer it (and to "
                "the admins, if it is passed up)."
            )
        ),
        ctx.t(
            _(
                "• An anonymous letter is stored without your name or account, and its steps "
                "by day only, not by time. Who wrote it is sealed with a key kept outside the "
                "database: no command, report, export or log shows it, nor does a copy of the "
                "database alone. The bot opens it only to bring you the answers, to know you "
                "as the writer when you act on your letter, and to check a block."
            )
        ),
        ctx.t(
            _(
                "• Messages to you about an anonymous letter are erased from the bot's outbox, "
                "with your chat, once delivered; anonymous letters and follow-ups reach the "
                "secretaries together with the others of the same few minutes."
            )
        ),
        ctx.t(
            _(
                "• A secretary can block the writer of an abusive letter from writing for a "
                "time without learning who it is; admins see that the block exists."
            )
        ),
        ctx.t(
            _(
                "• What you write yourself can still give you away: leave out your name and "
                "details only you would know if you do not want to be recognised."
            )
        ),
    ]
