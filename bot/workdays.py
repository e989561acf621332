"""Working days on the Chinese public calendar, for deadlines counted in working days (the
mailbox's) and the first working day of a month (the supervision report).

The calendar is the ``holidays`` package's China (maintained with each year's State Council
notice): public holidays are days off and its ``weekend_workdays`` (调休, the make-up working
days such as the Saturday before the Spring Festival) are working days. The organisation's own
days off come from the config. For a year the package does not know yet, it still computes the
statutory holidays but has no make-up days; one warning per such year says so
(docs/mailbox.md#how-deadlines-are-counted).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, timedelta

from holidays.countries.china import China, ChinaStaticHolidays

log = logging.getLogger(__name__)

MAX_ADD_DAYS = 366
"""Working days ``add`` counts at most (deadlines are 30 at most)."""
MAX_SPAN = timedelta(days=800)
"""The longest span ``between`` counts: a letter's age, bounded whatever the dates."""
_years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
"""Per year: its days off and its make-up working days (computed once per process)."""
_warned: set[int] = set()


def _year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    found = _years.get(year)
    if found is None:
        calendar = China(years=year)  # type: ignore[no-untyped-call]
        found = (
            frozenset(calendar),
            frozenset(day for day in calendar.weekend_workdays if day.year == year),
        )
        _years[year] = found
    return found


def known(year: int) -> bool:
    """Whether the package has that year's official notice (its make-up working days)."""
    return year in ChinaStaticHolidays.special_public_holidays


class WorkCalendar:
    def __init__(self, days_off: Collection[date] = ()) -> None:
        self.days_off = frozenset(days_off)

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        if not known(day.year) and day.year not in _warned:
            _warned.add(day.year)
            log.warning(
                "the holidays package does not know %d's make-up working days yet: deadlines "
                "count only its statutory holidays; upgrade the package once it does",
                day.year,
            )
        holidays, workdays = _year(day.year)
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays

    def add(self, start: date, days: int) -> date:
        """The day ``days`` working days after ``start`` (``start`` itself not counted)."""
        if not 1 <= days <= MAX_ADD_DAYS:
            raise ValueError(f"working days to add must be 1..{MAX_ADD_DAYS}, not {days}")
        day, left = start, days
        while left:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days in (``start``, ``end``]: 0 when ``end`` is not after ``start``."""
        if end <= start:
            return 0
        end = min(end, start + MAX_SPAN)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )

    def first_working_day(self, year: int, month: int) -> date:
        """The month's first working day (the 1st of a month that starts on a working day)."""
        day = date(year, month, 1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day
