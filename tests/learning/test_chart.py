"""The /stats learning chart: readable at chat size, each pair of bars numbered like the text."""

from __future__ import annotations

import struct
import zlib

from dialogs.learning.chart import AXIS, COLOURS, bar_chart

Pixel = tuple[int, int, int]


def decode(png: bytes) -> list[list[Pixel]]:
    """The chart's own PNG form (RGB, 8 bit, filter 0 on every row) back into pixels."""
    width, height = struct.unpack(">II", png[16:24])
    idat = png.index(b"IDAT")
    length = struct.unpack(">I", png[idat - 4 : idat])[0]
    raw = zlib.decompress(png[idat + 4 : idat + 4 + length])
    stride = 1 + 3 * width
    rows = []
    for y in range(height):
        row = raw[y * stride + 1 : (y + 1) * stride]
        rows.append([(row[x], row[x + 1], row[x + 2]) for x in range(0, len(row), 3)])
    return rows


def columns_with(pixels: list[list[Pixel]], colour: Pixel, rows: range) -> list[int]:
    return [x for x in range(len(pixels[0])) if any(pixels[y][x] == colour for y in rows)]


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


def test_each_pair_of_bars_carries_its_number_below_the_axis() -> None:
    pixels = decode(bar_chart([(0.5, 1.0), (0.25, 0.75), (1.0, 0.0)]))
    height = len(pixels)
    axis = max(y for y in range(height) if pixels[y].count(AXIS) > len(pixels[0]) // 2)
    below = range(axis + 1, height)
    ink = columns_with(pixels, AXIS, below)
    # three separate numbers: runs of inked columns under the bars
    runs = [x for i, x in enumerate(ink) if i == 0 or ink[i - 1] != x - 1]
    assert len(runs) == 3
    bars = columns_with(pixels, COLOURS[0], range(axis))
    assert runs[0] < bars[-1] and runs[0] >= bars[0] - 20
