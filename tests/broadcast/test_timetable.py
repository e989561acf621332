"""Schedule phrases, cron rules and quiet hours in the organisation's (fixed-offset) zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.timetable import BadSchedule, QuietHours, next_run, parse_when

ZONE = "Asia/Shanghai"


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("daily 08:30", "30 8 * * *"),
        ("Daily  8:05", "5 8 * * *"),
        ("weekdays 07:00", "0 7 * * mon-fri"),
        ("weekly mon 09:00", "0 9 * * mon"),
        ("WEEKLY sun 23:59", "59 23 * * sun"),
        ("monthly 1 09:00", "0 9 1 * *"),
        ("cron 0 9 * * 1", "0 9 * * 1"),
        ("cron */15 8-18 * * mon-fri", "*/15 8-18 * * mon-fri"),
    ],
)
def test_recurring_phrases(text: str, cron: str) -> None:
    when = parse_when(text, ZONE)
    assert when.cron == cron and when.run_at is None


def test_one_moment_is_local_time() -> None:
    when = parse_when("2026-12-01 09:00", ZONE)
    assert when.run_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert when.spec == "at 2026-12-01 09:00"
    assert parse_when("at 2026-12-01 9:00", ZONE).run_at == when.run_at


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "daily 24:00",
        "daily 8",
        "weekly funday 09:00",
        "monthly 32 09:00",
        "2026-02-30 09:00",
        "cron 61 * * * *",
        "cron 0 9 * *",
        "cron 0 9 * * 8",
        "",
    ],
)
def test_bad_phrases_are_refused(text: str) -> None:
    with pytest.raises(BadSchedule):
        parse_when(text, ZONE)


def test_next_run_in_a_zone_without_daylight_saving() -> None:
    # Monday 2026-11-30 09:00 in Shanghai is 01:00 UTC, the whole year round.
    assert next_run("0 9 * * mon", ZONE, datetime(2026, 11, 30, 0, 59, tzinfo=UTC)) == datetime(
        2026, 11, 30, 1, 0, tzinfo=UTC
    )
    after_slot = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert next_run("0 9 * * mon", ZONE, after_slot) == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert next_run("0 9 * * mon", ZONE, datetime(2026, 6, 29, 0, 0, tzinfo=UTC)) == datetime(
        2026, 6, 29, 1, 0, tzinfo=UTC
    )


# The week starting Sunday 2026-11-29 (Shanghai); 00:00 local is 16:00 UTC the day before.
SUNDAY_EVE = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def _weekdays(cron: str, count: int) -> list[str]:
    days, after = [], SUNDAY_EVE
    for _ in range(count):
        slot = next_run(cron, ZONE, after)
        assert slot is not None
        days.append(slot.astimezone(ZoneInfo(ZONE)).strftime("%a"))
        after = slot
    return days


@pytest.mark.parametrize(
    ("weekday", "days"),
    [
        ("1", ["Mon", "Mon"]),
        ("0", ["Sun", "Sun"]),
        ("7", ["Sun", "Sun"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]),
        ("6,0", ["Sun", "Sat", "Sun"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat", "Sun"]),
        ("1-5/2", ["Mon", "Wed", "Fri", "Mon"]),
        ("mon,3", ["Mon", "Wed", "Mon"]),
        ("*", ["Sun", "Mon"]),
    ],
)
def test_cron_weekdays_are_numbered_as_in_crontab(weekday: str, days: list[str]) -> None:
    """Crontab's 0/7 is Sunday and 1 is Monday (APScheduler alone would say Tuesday)."""
    assert _weekdays(f"0 9 * * {weekday}", len(days)) == days


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours.parse("22:00-08:00")
    assert quiet == QuietHours(time(22, 0), time(8, 0))
    shanghai_23h = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    shanghai_07h = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    shanghai_08h = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    shanghai_12h = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    assert quiet.contains(shanghai_23h, ZONE) and quiet.contains(shanghai_07h, ZONE)
    assert not quiet.contains(shanghai_08h, ZONE) and not quiet.contains(shanghai_12h, ZONE)
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch.contains(datetime(2026, 12, 1, 4, 59, tzinfo=UTC), ZONE)
    assert not lunch.contains(datetime(2026, 12, 1, 5, 30, tzinfo=UTC), ZONE)
    assert not QuietHours.parse("").contains(shanghai_23h, ZONE)
    for bad in ("22-08", "25:00-08:00", "night"):
        with pytest.raises(ValueError):
            QuietHours.parse(bad)
