"""The /stats learning chart: readable at chat size, each pair of bars numbered like the text."""

from __future__ import annotations

from dialogs.learning.chart import AXIS, COLOURS, DIGITS, SCALE, SMALL, bar_chart
from tests.support.chat import BotFactory, ask
from tests.support.png import Pixel, columns_with, decode


def test_a_one_branch_chart_is_big_enough_to_read_in_a_chat() -> None:
    pixels = decode(bar_chart([(0.5, 1.0)]))
    height, width = len(pixels), len(pixels[0])
    assert width >= 480 and height >= 240
    blue = columns_with(pixels, COLOURS[0], range(height))
    green = columns_with(pixels, COLOURS[1], range(height))
    assert len(blue) >= 20 and len(green) >= 20
    # the full bar (100%) is twice as tall as the half one
    tall = sum(1 for row in pixels if row[green[0]] == COLOURS[1])
    short = sum(1 for row in pixels if row[blue[0]] == COLOURS[0])
    assert abs(tall - 2 * short) <= 2


def scale_line(pixels: list[list[Pixel]]) -> int:
    """The column of the vertical axis, right of the percentage scale."""
    height = len(pixels)
    return min(x for x in range(len(pixels[0])) if sum(r[x] == AXIS for r in pixels) > height // 2)


def test_each_pair_of_bars_carries_its_number_below_the_axis() -> None:
    pixels = decode(bar_chart([(0.5, 1.0), (0.25, 0.75), (1.0, 0.0)]))
    height = len(pixels)
    axis = max(y for y in range(height) if pixels[y].count(AXIS) > len(pixels[0]) // 2)
    below = range(axis + 1, height)
    ink = [x for x in columns_with(pixels, AXIS, below) if x > scale_line(pixels)]
    # three separate numbers: runs of inked columns under the bars
    runs = [x for i, x in enumerate(ink) if i == 0 or ink[i - 1] != x - 1]
    assert len(runs) == 3
    bars = columns_with(pixels, COLOURS[0], range(axis))
    assert runs[0] < bars[-1] and runs[0] >= bars[0] - 20


def read(pixels: list[list[Pixel]], xs: range, ys: range, scale: int) -> str:
    """The digits drawn in AXIS ink inside the box, read back through the chart's own font."""
    ink = [(x, y) for y in ys for x in xs if pixels[y][x] == AXIS]
    assert ink, "nothing is written there"
    left, top = min(x for x, _ in ink), min(y for _, y in ink)
    right = max(x for x, _ in ink) + 1
    glyphs = (right - left + scale) // (4 * scale)
    text = ""
    for index in range(glyphs):
        x0 = left + index * 4 * scale
        cells = tuple(
            "".join(
                "1" if pixels[top + dy * scale][x0 + dx * scale] == AXIS else "0" for dx in range(3)
            )
            for dy in range(5)
        )
        found = [digit for digit, shape in DIGITS.items() if shape == cells]
        assert found, f"no glyph like {cells}"
        text += found[0]
    return text


def runs(values: list[int]) -> list[range]:
    """Consecutive values as ranges: the separate labels along one direction."""
    found: list[range] = []
    for value in values:
        if found and found[-1].stop == value:
            found[-1] = range(found[-1].start, value + 1)
        else:
            found.append(range(value, value + 1))
    return found


def test_every_bar_carries_its_value_and_every_pair_its_number() -> None:
    groups = [(0.6, 0.8), (0.25, 0.75), (1.0, 0.5)]
    pixels = decode(bar_chart(groups))
    height = len(pixels)
    axis = max(y for y in range(height) if pixels[y].count(AXIS) > len(pixels[0]) // 2)
    values = []
    for colour in COLOURS:
        for bar in runs(columns_with(pixels, colour, range(axis))):
            bar_top = min(y for y in range(axis) if pixels[y][bar.start] == colour)
            values.append((bar.start, read(pixels, bar, range(bar_top - 20, bar_top), SMALL)))
    assert [text for _, text in sorted(values)] == ["60", "80", "25", "75", "100", "50"]
    ink = [x for x in columns_with(pixels, AXIS, range(axis + 2, height)) if x > scale_line(pixels)]
    numbers = runs(ink)
    assert [read(pixels, xs, range(axis + 2, height), SCALE) for xs in numbers] == ["1", "2", "3"]


def test_the_scale_marks_every_quarter_with_its_percentage() -> None:
    pixels = decode(bar_chart([(0.5, 1.0), (0.2, 0.4)]))
    height = len(pixels)
    line = scale_line(pixels)
    scale = range(line - 4)
    rows = runs([y for y in range(height) if any(pixels[y][x] == AXIS for x in scale)])
    assert [read(pixels, scale, ys, SMALL) for ys in rows] == ["100%", "75%", "50%", "25%", "0%"]
    ticks = [ys.start + 5 * SMALL // 2 for ys in rows]
    assert all(pixels[y][line - 2] == AXIS for y in ticks)


async def test_the_stats_chart_numbers_every_branch_it_lists(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    for name in ("East", "North", "West"):
        await ask(bot, adapter, "boss", f"/branch add {name}")
    before = len(adapter.sent)
    text = await ask(bot, adapter, "boss", "/stats learning")
    assert "1. East" in text and "2. North" in text and "3. West" in text
    (image,) = [s.message.image for s in adapter.sent[before:] if s.message.image]
    pixels = decode(image.data)
    height = len(pixels)
    axis = max(y for y in range(height) if pixels[y].count(AXIS) > len(pixels[0]) // 2)
    ink = [x for x in columns_with(pixels, AXIS, range(axis + 2, height)) if x > scale_line(pixels)]
    assert [read(pixels, xs, range(axis + 2, height), SCALE) for xs in runs(ink)] == ["1", "2", "3"]
