"""Public numbers: the numbers people see and type back (``N12`` a notice, ``S3`` a schedule).

Each kind of thing gets its own prefix, so a schedule's number can never be mistaken for a
notice's (``/acks 2`` after "scheduled as 2" used to read another row). The kinds live in one
table here, so features that never import each other still cannot pick the same prefix, and a
number of the wrong kind gets an answer that names its kind. A later kind with a longer shape
(a letter's ``M-2026-0042``) subclasses ``Kind`` and overrides ``format`` and ``digits``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar

from bot.i18n import _

MAX_DIGITS = 12


class BadNumber(ValueError):
    """What someone typed is not a number of the kind asked for."""

    def __init__(self, text: str, found: Kind | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.found = found
        """The kind the text is a number of, when it is one of another kind."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of publicly numbered thing. ``noun`` is a catalog message ("notice number")."""

    prefix: str
    noun: str

    _all: ClassVar[dict[str, Kind]] = {}
    _SHAPE: ClassVar[re.Pattern[str]] = re.compile(rf"#?\s*([A-Za-z]*)\s*([0-9]{{1,{MAX_DIGITS}}})")

    def __post_init__(self) -> None:
        key = self.prefix.upper()
        if not key.isalpha() or key in Kind._all:
            raise ValueError(f"number prefix {self.prefix!r} is taken or invalid")
        Kind._all[key] = self

    def format(self, value: int) -> str:
        """``N12``: how the number is shown everywhere (replies, lists, buttons, reports)."""
        return f"{self.prefix}{value}"

    def example(self) -> str:
        return self.format(2)

    def digits(self, text: str) -> int:
        """The row number in ``N12``, ``n12``, ``#N12``, ``#12``, ``12`` (full-width too);
        ``BadNumber`` otherwise, carrying the other kind when the text is one of its numbers."""
        match = Kind._SHAPE.fullmatch(unicodedata.normalize("NFKC", text).strip())
        if match is None:
            raise BadNumber(text)
        prefix = match[1].upper()
        if prefix and prefix != self.prefix.upper():
            raise BadNumber(text, Kind._all.get(prefix))
        return int(match[2])


NOTICE = Kind("N", _("notice number"))
SCHEDULE = Kind("S", _("schedule number"))
