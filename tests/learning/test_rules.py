"""Pure rules: SM-2, stars, the branch order, the chart, the points table in the config."""

from __future__ import annotations

import struct

import pytest

from bot.app import configure
from bot.charts import BarChart, Series, png
from bot.config import ConfigError
from dialogs.learning.chart import COLOURS
from dialogs.learning.levels import star_count, unlocked
from dialogs.learning.ranking import branch_order
from store.learning import BranchActivity, Schedule, sm2
from store.learning_tables import Level
from tests.support.png import decode


def test_sm2_grows_intervals_and_resets_on_a_miss() -> None:
    first = sm2(None, 4)
    second = sm2(first, 4)
    third = sm2(second, 5)
    assert (first.interval_days, second.interval_days) == (3, 6)
    assert third.interval_days == round(6 * third.ease) and third.repetitions == 3
    missed = sm2(third, 1)
    assert (missed.repetitions, missed.interval_days) == (0, 1)
    assert missed.ease < third.ease
    assert sm2(Schedule(3, 10, 1.3), 0).ease == 1.3


@pytest.mark.parametrize(
    ("score", "mark", "stars"), [(40, 60, 0), (60, 60, 1), (79, 60, 1), (80, 60, 2), (100, 60, 3)]
)
def test_stars(score: int, mark: int, stars: int) -> None:
    assert star_count(score, mark) == stars


def test_a_small_keen_branch_beats_a_big_one() -> None:
    small = BranchActivity(1, "Small", members=6, active=6, answers=30, correct=21)
    big = BranchActivity(2, "Big", members=40, active=20, answers=400, correct=380)
    tie = BranchActivity(3, "Tie", members=6, active=6, answers=30, correct=27)
    assert [b.name for b in branch_order([big, small, tie])] == ["Tie", "Small", "Big"]


def test_chart_is_a_valid_png() -> None:
    series = [Series("took part", [0.5, 0.0], COLOURS[0]), Series("right", [1.0, 0.25], COLOURS[1])]
    chart = png(BarChart("Chart", ["1. East", "2. 北区"], series))
    assert chart.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", chart[16:24])
    pixels = decode(chart)
    assert (width, height) == (len(pixels[0]), len(pixels)) and height >= 260


def test_points_table_is_configurable_and_checked() -> None:
    config = configure(None, learning={"points": {"quiz_correct": {"points": 3, "daily_cap": 9}}})
    assert config.learning.points["quiz_correct"].daily_cap == 9
    assert config.learning.points["streak_day"].points == 5
    with pytest.raises(ConfigError, match="unknown activities"):
        configure(None, learning={"points": {"farming": {"points": 1, "daily_cap": 1}}})


def test_levels_unlock_in_order_even_with_gaps_in_their_numbers() -> None:
    levels = [
        Level(number=n, title=f"L{n}", category="", questions=3, pass_mark=60) for n in (10, 1, 5)
    ]
    assert unlocked(levels, {}) == 1
    assert unlocked(levels, {"level:1": 2}) == 5
    assert unlocked(levels, {"level:1": 2, "level:5": 1}) == 10
    assert unlocked([], {}) == 0
