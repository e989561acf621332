"""A small PNG bar chart written with the standard library (zlib), no plotting dependency.

No words in the bitmap: the message that carries the chart names each numbered branch and
says what the colours mean, in the reader's language and script, which a bitmap font could not
do for Chinese branch names. Digits are script-neutral, so each group of bars carries the
number of its line in the message, each bar its percentage, and the scale on the left its
0/25/50/75/100% ticks.
"""

from __future__ import annotations

import struct
import zlib

BACKGROUND = (255, 255, 255)
AXIS = (90, 90, 90)
GRID = (225, 225, 225)
COLOURS = ((52, 120, 246), (46, 184, 92))
"""Participation, accuracy."""
MIN_WIDTH, HEIGHT = 480, 260
"""Readable in a chat on a phone: chats scale an image down to the bubble, rarely up."""
DIGITS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "%": ("101", "001", "010", "100", "101"),
}
"""A 3x5 pixel font for the numbers: group numbers at 3x scale, values and ticks at 2x."""
SCALE = 3
SMALL = 2
MARGIN = 16
SCALE_WIDTH = 4 * 4 * SMALL + 8
"""Left of the axis: room for ``100%`` and a tick."""
VALUE_HEIGHT = 5 * SMALL + 4
"""Above the tallest bar: room for its value."""
MIN_BAR = 3 * 4 * SMALL + 2
"""A bar is at least as wide as the ``100`` written over it."""

Colour = tuple[int, int, int]
Pixels = list[list[Colour]]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def _fill(pixels: Pixels, left: int, top: int, right: int, bottom: int, colour: Colour) -> None:
    for y in range(max(0, top), min(len(pixels), bottom)):
        row = pixels[y]
        for x in range(max(0, left), min(len(row), right)):
            row[x] = colour


def _number(pixels: Pixels, text: str, centre: int, top: int, scale: int = SCALE) -> None:
    """``text`` (digits and ``%``) centred on ``centre``; a glyph is 3 cells and a gap wide."""
    glyph_width = 4 * scale
    left = centre - (len(text) * glyph_width - scale) // 2
    for position, digit in enumerate(text):
        for dy, line in enumerate(DIGITS[digit]):
            for dx, bit in enumerate(line):
                if bit == "1":
                    x = left + position * glyph_width + dx * scale
                    y = top + dy * scale
                    _fill(pixels, x, y, x + scale, y + scale, AXIS)


def bar_chart(groups: list[tuple[float, ...]], height: int = HEIGHT) -> bytes:
    """One numbered group of bars per item (values 0..1), side by side, as PNG bytes."""
    label = 8 * SCALE
    per_group = max((len(g) for g in groups), default=1)
    count = max(1, len(groups))
    left_edge = MARGIN + SCALE_WIDTH
    room = MIN_WIDTH - left_edge - MARGIN
    bar_width = max(MIN_BAR, min(48, room // count // (per_group + 1)))
    slot = per_group * bar_width + bar_width
    width = max(MIN_WIDTH, left_edge + MARGIN + count * slot)
    pixels: Pixels = [[BACKGROUND] * width for _ in range(height)]
    base = height - MARGIN - label
    top = MARGIN + VALUE_HEIGHT
    glyph_height = 5 * SMALL
    for quarter in range(5):
        y = base - round(quarter / 4 * (base - top))
        if quarter:
            _fill(pixels, left_edge, y, width - MARGIN, y + 1, GRID)
        _fill(pixels, left_edge - 4, y, left_edge, y + 1, AXIS)
        text = f"{25 * quarter}%"
        text_width = len(text) * 4 * SMALL - SMALL
        _number(pixels, text, left_edge - 6 - text_width // 2, y - glyph_height // 2, SMALL)
    _fill(pixels, left_edge, base, width - MARGIN, base + 2, AXIS)
    _fill(pixels, left_edge - 1, top, left_edge + 1, base, AXIS)
    first = left_edge + (width - MARGIN - left_edge - count * slot) // 2
    for index, group in enumerate(groups):
        left = first + index * slot + bar_width // 2
        for series, value in enumerate(group):
            value = max(0.0, min(1.0, value))
            bar_top = base - round(value * (base - top))
            x = left + series * bar_width
            _fill(pixels, x, bar_top, x + bar_width - 2, base, COLOURS[series % len(COLOURS)])
            centre = x + (bar_width - 2) // 2
            _number(pixels, str(round(100 * value)), centre, bar_top - glyph_height - 3, SMALL)
        _number(pixels, str(index + 1), left + per_group * bar_width // 2, base + 2 * SCALE)
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
