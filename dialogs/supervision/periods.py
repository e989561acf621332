"""Periods: which month, quarter or year a report is for, and when it is due.

Everything is in the organisation's calendar days (its ``timezone``): the caller turns the
clock into a day first. A period is named by a short key that sorts in time order
(``2026-12``, ``2026-Q4``, ``2026``; ``once`` for a one-off item), which is what the store
keeps on a submission.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from dialogs.supervision.indicators import Cadence, Indicator


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    first: date
    last: date
    due: date
    """The deadline: the last day plus the indicator's grace days (a one-off: its date)."""

    def label(self, locale: str) -> str:
        """``2026年第4季度`` / ``2026 Q4``: how a chat shows the period."""
        if self.key == "once":
            return "一次性" if locale == "zh_Hans" else "once"
        year, _, part = self.key.partition("-")
        if not part:
            return f"{year}年" if locale == "zh_Hans" else year
        if part.startswith("Q"):
            return f"{year}年第{part[1:]}季度" if locale == "zh_Hans" else f"{year} {part}"
        month = int(part)
        if locale == "zh_Hans":
            return f"{year}年{month}月"
        return f"{calendar.month_abbr[month]} {year}"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def containing(indicator: Indicator, day: date) -> Period:
    """The period of ``indicator`` that ``day`` falls in (a one-off: its only period)."""
    grace = timedelta(days=indicator.grace_days)
    if indicator.cadence == Cadence.ONCE:
        assert indicator.due is not None
        return Period("once", date.min, indicator.due, indicator.due)
    if indicator.cadence == Cadence.MONTHLY:
        first = day.replace(day=1)
        last = _month_end(day.year, day.month)
        key = f"{day.year}-{day.month:02d}"
    elif indicator.cadence == Cadence.QUARTERLY:
        quarter = (day.month - 1) // 3
        first = date(day.year, 3 * quarter + 1, 1)
        last = _month_end(day.year, 3 * quarter + 3)
        key = f"{day.year}-Q{quarter + 1}"
    else:
        first, last, key = date(day.year, 1, 1), date(day.year, 12, 31), str(day.year)
    return Period(key, first, last, last + grace)


def by_key(indicator: Indicator, key: str) -> Period | None:
    """The period a stored key names, or ``None`` when it is not one of this indicator's."""
    try:
        if indicator.cadence == Cadence.ONCE:
            return containing(indicator, date.today()) if key == "once" else None
        year, _, part = key.partition("-")
        if indicator.cadence == Cadence.YEARLY and not part:
            day = date(int(year), 1, 1)
        elif indicator.cadence == Cadence.QUARTERLY and part[:1] == "Q" and part[1:] in "1234":
            day = date(int(year), 3 * int(part[1:]) - 2, 1)
        elif indicator.cadence == Cadence.MONTHLY and part.isdecimal() and len(part) == 2:
            day = date(int(year), int(part), 1)
        else:
            return None
    except ValueError:
        return None
    period = containing(indicator, day)
    return period if period.key == key else None


def previous(indicator: Indicator, period: Period) -> Period | None:
    if indicator.cadence == Cadence.ONCE or period.first <= date.min + timedelta(days=366):
        return None
    return containing(indicator, period.first - timedelta(days=1))


def open_periods(
    indicator: Indicator, today: date, starts_on: date, late_days: int
) -> list[Period]:
    """The periods a branch may still report for, newest first: the current one and earlier
    ones whose deadline passed less than ``late_days`` ago (reported late), none before the
    period ``starts_on`` falls in (an indicator imported mid-year starts there)."""
    first = containing(indicator, starts_on)
    found: list[Period] = []
    period: Period | None = containing(indicator, today)
    while period is not None and period.first >= first.first:
        if period.due < today - timedelta(days=late_days):
            break
        found.append(period)
        period = previous(indicator, period)
    return found


def closes(period: Period, late_days: int) -> date:
    """The last day a report for ``period`` is accepted (late) or corrected."""
    return period.due + timedelta(days=late_days)


def due_in(indicator: Indicator, first_day: date, last_day: date, starts_on: date) -> list[Period]:
    """The periods whose deadline falls in ``[first_day, last_day]``: what a month's report
    rates. None before the period ``starts_on`` falls in."""
    start = containing(indicator, starts_on)
    found: list[Period] = []
    period: Period | None = containing(indicator, last_day)
    while period is not None and period.due >= first_day:
        if period.first < start.first:
            break
        if period.due <= last_day:
            found.append(period)
        period = previous(indicator, period)
    return found


def in_view(
    indicator: Indicator, today: date, starts_on: date
) -> tuple[Period | None, Period | None]:
    """The two periods a board may show for ``indicator``: the one whose deadline comes next
    (today or later) and the newest whose deadline has passed; none before ``starts_on``'s.
    A branch's cell shows the next one once it is reported, else the passed one (a report
    missing there is what needs doing), else the next one, pending."""
    start = containing(indicator, starts_on).first
    upcoming: Period | None = None
    period: Period | None = containing(indicator, today)
    while period is not None and period.first >= start:
        if period.due < today:
            return upcoming, period
        upcoming = period
        period = previous(indicator, period)
    return upcoming, None
