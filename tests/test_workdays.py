"""Working days on the Chinese public calendar: the 2026 Spring Festival and its make-up
Saturdays, National Day, the organisation's own days off, and a year the package does not know."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from bot import workdays
from bot.workdays import WorkCalendar


def test_the_spring_festival_2026_and_its_make_up_saturdays() -> None:
    calendar = WorkCalendar()
    assert calendar.is_working_day(date(2026, 2, 14))  # a Saturday, made up
    assert calendar.is_working_day(date(2026, 2, 28))  # the other one
    assert not any(calendar.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert calendar.is_working_day(date(2026, 2, 24))
    # Written on Friday the 13th: the 14th, then the 24th and the 25th.
    assert calendar.add(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert calendar.add(date(2026, 2, 11), 3) == date(2026, 2, 14)


def test_national_day_2026() -> None:
    calendar = WorkCalendar()
    assert not any(calendar.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert calendar.is_working_day(date(2026, 9, 20))  # a Sunday, made up
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday, made up
    assert calendar.add(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_an_ordinary_week_and_the_organisations_own_day_off() -> None:
    assert WorkCalendar().add(date(2026, 12, 4), 3) == date(2026, 12, 9)  # Fri → Wed
    calendar = WorkCalendar([date(2026, 12, 7)])
    assert not calendar.is_working_day(date(2026, 12, 7))
    assert calendar.add(date(2026, 12, 4), 3) == date(2026, 12, 10)


def test_between_counts_what_add_added() -> None:
    calendar = WorkCalendar([date(2026, 3, 2)])
    start = date(2026, 2, 10)
    for days in (1, 3, 10, 30):
        assert calendar.between(start, calendar.add(start, days)) == days
    assert calendar.between(start, start) == 0
    assert calendar.between(start, date(2026, 1, 1)) == 0


def test_a_year_the_package_does_not_know_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    assert workdays.known(2026)
    year = 2090
    assert not workdays.known(year)
    calendar = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger=workdays.__name__):
        assert not calendar.is_working_day(date(year, 10, 1))  # statutory: still off
        assert calendar.is_working_day(date(year, 10, 9))
        calendar.add(date(year, 3, 1), 30)
    warnings = [r for r in caplog.records if str(year) in r.getMessage()]
    assert len(warnings) == 1


def test_bad_arguments_are_refused() -> None:
    calendar = WorkCalendar()
    for days in (0, -1, workdays.MAX_ADD_DAYS + 1):
        with pytest.raises(ValueError):
            calendar.add(date(2026, 1, 5), days)
