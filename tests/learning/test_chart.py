"""The /stats learning chart: readable at chat size, every bar named and valued, Chinese and
English names drawn in the CJK font that the install provides, in time for the event budget."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.charts import FONT_FILE, MAX_CATEGORIES, WIDTH, BarChart, Series, figure, png
from dialogs.learning.chart import COLOURS
from tests.support.chat import BotFactory, ask
from tests.support.png import bars, decode, length

NAMES = ["东区图书馆", "North", "西区分馆 West", "Branch with a name far too long to show"]
LONG_CHINESE = "东区图书馆第一分馆少儿阅览室附属自习室"


def learning(categories: list[str], part: list[float], right: list[float]) -> BarChart:
    return BarChart(
        "Learning this week",
        categories,
        [Series("took part", part, COLOURS[0]), Series("right answers", right, COLOURS[1])],
    )


@contextmanager
def every_glyph_drawn() -> Iterator[None]:
    """matplotlib warns "Glyph … missing from font(s)" where it draws a box instead."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph .* missing")
        yield


def texts(fig: Figure) -> list[Text]:
    """The words the figure draws (not the hidden labels of the axes' other sides)."""
    return [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]


def test_a_one_branch_chart_is_big_enough_to_read_in_a_chat() -> None:
    chart = png(learning(["1. East"], [0.5], [1.0]))
    assert chart.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = decode(chart)
    height, width = len(pixels), len(pixels[0])
    assert width == WIDTH >= 480 and 260 <= height <= 400
    (blue,), (green,) = bars(pixels, COLOURS[0]), bars(pixels, COLOURS[1])
    assert len(blue) >= 20 and len(green) >= 20 and blue.stop <= green.start
    # the full bar (100%) is twice as long as the half one
    assert abs(length(pixels, COLOURS[1], green) - 2 * length(pixels, COLOURS[0], blue)) <= 2


def test_twenty_branches_stay_a_phone_sized_picture() -> None:
    pixels = decode(png(learning([f"{n}. Branch {n}" for n in range(1, 21)], [0.5] * 20, [1] * 20)))
    assert len(pixels[0]) == WIDTH and len(pixels) <= 1200
    assert len(bars(pixels, COLOURS[0])) == len(bars(pixels, COLOURS[1])) == 20


def test_every_bar_carries_its_value_and_every_pair_its_name() -> None:
    fig = figure(learning(["1. East", "2. 北区", "3. West"], [0.6, 0.25, 1.0], [0.8, 0.75, 0.5]))
    fig.canvas.draw()
    (axes,) = fig.axes
    values, names = axes.texts[:6], axes.texts[6:]
    assert [t.get_text() for t in values] == ["60%", "25%", "100%", "80%", "75%", "50%"]
    assert [t.get_text() for t in names] == ["1. East", "2. 北区", "3. West"]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["took part", "right answers"]
    assert "Learning this week" in [t.get_text() for t in texts(fig)]


def test_the_scale_marks_every_quarter_with_its_percentage() -> None:
    fig = figure(learning(["1. East", "2. West"], [0.5, 0.2], [1.0, 0.4]))
    fig.canvas.draw()
    (axes,) = fig.axes
    assert [t.get_text() for t in axes.get_xticklabels()] == ["0%", "25%", "50%", "75%", "100%"]


def test_a_long_name_is_cut_with_an_ellipsis_and_stays_inside_the_picture() -> None:
    fig = figure(learning([*NAMES, LONG_CHINESE], [0.1] * 5, [0.2] * 5))
    fig.canvas.draw()
    (axes,) = fig.axes
    labels = axes.texts[10:]
    assert [t.get_text() for t in labels[:3]] == NAMES[:3]
    for cut, name in zip(labels[3:], [*NAMES[3:], LONG_CHINESE], strict=True):
        assert cut.get_text().endswith("…") and name.startswith(cut.get_text()[:-1])
    assert all(t.get_window_extent().x0 >= 0 for t in labels)


def test_chinese_and_english_names_are_drawn_in_the_shipped_cjk_font() -> None:
    chart = BarChart(
        "本周学习情况",
        [f"{n}. {name}" for n, name in enumerate(NAMES, start=1)],
        [Series("参与率", [0.5] * 4, COLOURS[0]), Series("right answers", [0.7] * 4, COLOURS[1])],
    )
    assert FONT_FILE.is_file() and FONT_FILE.name == "NotoSansCJKsc-Regular.otf"
    fig = figure(chart)
    with every_glyph_drawn():
        fig.canvas.draw()
        assert decode(png(chart))
    assert {t.get_fontproperties().get_file() for t in texts(fig)} == {str(FONT_FILE)}


def test_the_glyph_check_catches_a_font_without_chinese() -> None:
    """The check above can fail: matplotlib's own default font has no Han characters."""
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "东区", family="DejaVu Sans")
    with every_glyph_drawn(), pytest.raises(UserWarning, match="Glyph"):
        fig.canvas.draw()


def test_a_chart_of_more_categories_than_its_cap_is_refused() -> None:
    count = MAX_CATEGORIES + 1
    with pytest.raises(ValueError, match="categories"):
        figure(learning([str(n) for n in range(count)], [0.5] * count, [0.5] * count))


async def test_the_stats_chart_names_every_branch_it_lists(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    for name in ("East", "West", "北区"):
        await ask(bot, adapter, "boss", f"/branch add {name}")
    for lang, title, part, right in (
        ("en", "Learning this week", "took part", "right answers"),
        ("zh", "本周学习情况", "参与率", "正确率"),
    ):
        await ask(bot, adapter, "boss", f"/lang {lang}")
        before = len(adapter.sent)
        with every_glyph_drawn():
            text = await ask(bot, adapter, "boss", "/stats learning")
        assert "1. East" in text and "2. West" in text and "3. 北区" in text
        (image,) = [s.message.image for s in adapter.sent[before:] if s.message.image]
        names = ["1. East", "2. West", "3. 北区"]
        series = [Series(part, [0.0] * 3, COLOURS[0]), Series(right, [0.0] * 3, COLOURS[1])]
        assert image.data == png(BarChart(title, names, series))
