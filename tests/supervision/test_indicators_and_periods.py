"""Indicator files: the shipped template is valid; every problem is one ``file:line`` error
and a file with any imports nothing; hostile files are refused quickly. Periods are named,
bounded and due as the organisation's calendar says."""

from __future__ import annotations

import time
from datetime import date

import pytest

from dialogs.supervision.board import colour_of
from dialogs.supervision.indicators import SHIPPED, Colour, Indicator, load, parse
from dialogs.supervision.periods import by_key, containing, due_in, in_view, open_periods
from dialogs.supervision.tables import Report


def test_the_shipped_template_is_valid_and_bilingual() -> None:
    loaded = load(SHIPPED)
    assert not loaded.errors
    keys = [i.key for i in loaded.indicators]
    assert {"members-meeting", "committee-meeting", "group-meeting", "lesson"} <= set(keys)
    assert all(i.title.en and i.title.zh_Hans for i in loaded.indicators)


BAD = b"""indicators:
  - key: ok
    title: {en: A, zh_Hans: A}
    cadence: monthly
  - key: Bad Key
    title: {en: B}
    cadence: weekly
    weight: 500
  - key: ok
    title: {en: C, zh_Hans: C}
    cadence: once
  - key: numbers
    title: {en: D, zh_Hans: D}
    cadence: quarterly
    colour:
      thresholds: {number: attendance, green: 50, yellow: 80}
"""


def test_every_problem_is_reported_at_its_line() -> None:
    loaded = parse(BAD, "bad.yaml")
    assert loaded.indicators == ()
    shown = [str(e) for e in loaded.errors]
    assert any(s.startswith("bad.yaml:5: indicators[1].key") for s in shown), shown
    assert any(s.startswith("bad.yaml:6: indicators[1].title.zh_Hans") for s in shown), shown
    assert any(s.startswith("bad.yaml:7: indicators[1].cadence") for s in shown), shown
    assert any(s.startswith("bad.yaml:8: indicators[1].weight") for s in shown), shown
    assert any("bad.yaml:9:" in s and "due (a date)" in s for s in shown), shown
    assert any("yellow is greater than green" in s for s in shown), shown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"indicators: [", "not valid YAML"),
        (b"\xff\xfe", "not UTF-8"),
        (b"indicators:\n  - key: a\x00", "control character"),
        (b"a: &a [" + b"*a," * 60 + b"]", "alias"),
        (b"x" * 300_000, "bytes"),
        (b"indicators: " + b"[" * 50 + b"]" * 50, "nested deeper"),
        (b"- 1\n" * 30_000, "expands to more than"),
    ],
)
def test_hostile_files_are_one_error_and_quick(data: bytes, message: str) -> None:
    started = time.thread_time()  # CPU time: the other workers' load does not count
    loaded = parse(data, "x.yaml")
    assert time.thread_time() - started < 2
    assert loaded.indicators == () and len(loaded.errors) >= 1
    assert message in str(loaded.errors[0]), loaded.errors


def indicator(**values: object) -> Indicator:
    fields: dict[str, object] = {"key": "x", "title": {"en": "X", "zh_Hans": "X"}}
    fields.update(values)
    return Indicator.model_validate(fields)


def test_periods_their_keys_and_deadlines() -> None:
    monthly = indicator(cadence="monthly", grace_days=5)
    november = containing(monthly, date(2026, 11, 30))
    assert (november.key, november.first, november.last, november.due) == (
        "2026-11",
        date(2026, 11, 1),
        date(2026, 11, 30),
        date(2026, 12, 5),
    )
    assert november.label("zh_Hans") == "2026年11月" and november.label("en") == "Nov 2026"
    assert by_key(monthly, "2026-11") == november
    assert by_key(monthly, "2026-Q4") is None and by_key(monthly, "2026-13") is None
    quarterly = indicator(cadence="quarterly")
    q4 = containing(quarterly, date(2026, 10, 1))
    assert (q4.key, q4.last, q4.label("zh_Hans")) == (
        "2026-Q4",
        date(2026, 12, 31),
        "2026年第4季度",
    )
    yearly = indicator(cadence="yearly", grace_days=31)
    assert containing(yearly, date(2026, 6, 1)).due == date(2027, 1, 31)
    once = indicator(cadence="once", due="2026-07-01")
    assert containing(once, date(2026, 1, 1)).due == date(2026, 7, 1)


def test_an_indicator_imported_mid_year_starts_with_the_current_period() -> None:
    monthly = indicator(cadence="monthly", grace_days=5)
    started = date(2026, 11, 20)
    # On 3 December both November (due the 5th) and December are open; nothing before.
    assert [p.key for p in open_periods(monthly, date(2026, 12, 3), started, 30)] == [
        "2026-12",
        "2026-11",
    ]
    assert [p.key for p in open_periods(monthly, date(2026, 11, 25), started, 30)] == ["2026-11"]
    # Late reports are taken for ``late_days`` after a deadline, then the period closes.
    assert "2026-11" not in [p.key for p in open_periods(monthly, date(2027, 1, 5), started, 30)]
    assert in_view(monthly, date(2026, 11, 25), started) == (
        containing(monthly, started),
        None,
    )
    upcoming, passed = in_view(monthly, date(2026, 12, 10), started)
    assert upcoming is not None and upcoming.key == "2026-12"
    assert passed is not None and passed.key == "2026-11"
    assert [p.key for p in due_in(monthly, date(2026, 12, 1), date(2026, 12, 31), started)] == [
        "2026-11"
    ]
    assert due_in(monthly, date(2026, 11, 1), date(2026, 11, 30), started) == []


def test_colours_by_time_and_by_number() -> None:
    rated = indicator(
        cadence="monthly",
        numbers=[{"key": "attendance", "label": {"en": "A", "zh_Hans": "A"}, "max": 100}],
        colour={"thresholds": {"number": "attendance", "green": 80, "yellow": 60}},
    )
    period = containing(rated, date(2026, 11, 1))

    def report(value: int, late: bool = False) -> Report:
        return Report(numbers={"attendance": value}, late=late)

    before, after = date(2026, 11, 15), date(2026, 12, 2)
    assert colour_of(rated, period, None, before) is Colour.PENDING
    assert colour_of(rated, period, None, after) is Colour.RED
    assert colour_of(rated, period, report(90), after) is Colour.GREEN
    assert colour_of(rated, period, report(70), after) is Colour.YELLOW
    assert colour_of(rated, period, report(10), after) is Colour.RED
    assert colour_of(rated, period, report(90, late=True), after) is Colour.YELLOW
