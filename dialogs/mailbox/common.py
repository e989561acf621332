"""What the mailbox's modules share: the router, the case number, the category names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from bot.commands import Router
from bot.context import Context
from bot.i18n import _
from bot.numbers import BadNumber, Kind
from bot.workdays import WorkCalendar
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.relay import Relay, relay_of

router = Router()

SEQ = 1_000_000
"""A case number as one int: ``year * SEQ + seq`` (what a ``Number`` argument carries)."""


@dataclass(frozen=True, slots=True)
class CaseKind(Kind):
    """``M-2026-0042``: the year it was written in and its place in that year."""

    _CASE = re.compile(r"#?\s*(?:([A-Za-z]+)\s*-?\s*)?([0-9]{4})\s*-\s*([0-9]{1,6})")

    def format(self, value: int) -> str:
        return f"{self.prefix}-{value // SEQ}-{value % SEQ:04d}"

    def example(self) -> str:
        return self.format(2026 * SEQ + 42)

    def digits(self, text: str) -> int:
        normal = unicodedata.normalize("NFKC", text).strip()
        match = self._CASE.fullmatch(normal)
        if match is None or (match[1] and match[1].upper() != self.prefix):
            found = None
            try:
                Kind.digits(self, normal)
            except BadNumber as error:
                found = error.found
            raise BadNumber(text, found if found is not self else None)
        return int(match[2]) * SEQ + int(match[3])


CASE = CaseKind("M", _("case number"))

CATEGORY = {
    "work": _("Work"),
    "study": _("Study"),
    "life": _("Life"),
    "suggestion": _("Suggestion"),
    "complaint": _("Complaint"),
}
"""The default categories' names; a category the config adds is shown as written."""

STATUS = {
    "new": _("new"),
    "answered": _("answered"),
    "closed": _("closed"),
    "reopened": _("reopened"),
}


def config(ctx: Context) -> MailboxConfig:
    return ctx.settings.section(MailboxConfig)


def relay(ctx: Context) -> Relay:
    return relay_of(config(ctx))


def category_label(ctx: Context, category: str) -> str:
    known = CATEGORY.get(category)
    return ctx.text(known) if known else category


def today(ctx: Context) -> date:
    """The organisation's calendar day (deadlines are counted in its days)."""
    return ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()


def calendar(ctx: Context) -> WorkCalendar:
    return WorkCalendar([*ctx.settings.days_off, *config(ctx).days_off])
