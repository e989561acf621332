"""The secretary mailbox (书记信箱): letters to the branch's secretaries, signed or anonymous,
as threads with case numbers, deadlines in working days, reminders and escalation.

A member writes with ``/mail`` (``writing``); the letter reaches the branch's secretaries (or
their room, or the admins) headed by its case number (``posts``); they answer with ``/reply``
or a platform reply, the writer follows up, closes, reopens and rates (``answering``);
secretaries pass and block (``managing``) and read their inbox and figures (``views``). The
deadline worker (``deadlines``) releases anonymous writers' steps at their slot, reminds and
escalates. Who wrote an anonymous letter is known only to the relay (``relay``,
docs/privacy.md).
"""

from __future__ import annotations

from pathlib import Path

from bot.feature import Feature, Services
from dialogs.mailbox import answering, managing, privacy_note, tables, views, writing
from dialogs.mailbox.common import router
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.deadlines import Deadlines
from dialogs.mailbox.monthly import monthly

__all__ = ["FEATURE"]

MODULES = (writing, answering, managing, views, privacy_note)
"""Each module registers its commands or dialogs on ``router`` on import."""


def _workers(services: Services) -> list[Deadlines]:
    return [Deadlines(services)]


FEATURE = Feature(
    "mailbox",
    router,
    dialogs=(writing.Writing, managing.PassLetter),
    config=MailboxConfig,
    workers=_workers,
    tables=tables.TABLES,
    migrations=Path(__file__).parent / "migrations",
    figures=monthly,
)
