"""What a feature tells another without importing it: its figures for the monthly branch
report, and the problems of its problem lists that may become rectification tasks.

The supervision feature writes the report, but the learning participation, the broadcast
acknowledgement rate, the appraisal and the mailbox figures belong to the features that keep
them, and a feature never imports another. So each feature may declare a ``figures``
function on its ``Feature`` record; the core collects them into ``Settings.figures`` and a
report asks each in turn, without knowing which features exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from store.repos import Repositories


class Unit(StrEnum):
    SHARE = "share"
    """From 0 to 1, shown as a percentage."""
    COUNT = "count"
    """A whole number."""
    STARS = "stars"
    """An average rating out of 5."""


@dataclass(frozen=True, slots=True)
class Span:
    """Whose figures, over which days: ``branch_ids`` ``None`` means the whole organisation;
    ``start`` and ``end`` are the month's bounds in UTC (``[start, end)``) for timestamps,
    ``first_day`` and ``last_day`` the same month as the organisation's calendar days."""

    branch_ids: frozenset[int] | None
    first_day: date
    last_day: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the report: ``label`` is a catalog message, translated by the report."""

    label: str
    value: float | None
    """``None``: nothing to measure this month (no broadcast was sent, say)."""
    unit: Unit
    of: int | None = None
    """What a share is a share of (acknowledgements due, members asked): shown beside it."""


Figures = Callable[[Repositories, Span], Awaitable[Sequence[Figure]]]
"""A feature's contribution: its figures for a span, read in the report's session."""


RECTIFY = "rectify"
"""The button prefix that turns a problem into a rectification task: a feature that lists
problems offers ``rectify:<source>`` buttons when ``Settings.rectifying`` (a composed feature
declares ``Feature.rectifies``)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """An item of a problem list (an appraisal's weakest items, say)."""

    source: str
    """Where it is, ``<feature>:<list>:<branch id>:<item>`` (``appraisal:R3:12:2``): at most
    64 characters, since it travels in a button; the third part is the branch."""
    title: str
    """In the reader's language."""


Problems = Callable[[Repositories, str, str], Awaitable[Problem | None]]
"""A feature's lookup of one of its problems by ``source``, in a locale; ``None`` when the
source is not one of its own (or no longer exists)."""
