"""A small PNG bar chart written with the standard library (zlib), no plotting dependency.

Bars only, no text: the message that carries the chart names what each bar is, in the
reader's language and script, which a bitmap font could not do for Chinese branch names.
"""

from __future__ import annotations

import struct
import zlib

BACKGROUND = (255, 255, 255)
AXIS = (120, 120, 120)
COLOURS = ((52, 120, 246), (46, 184, 92))
"""Participation, accuracy."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def bar_chart(groups: list[tuple[float, ...]], height: int = 200) -> bytes:
    """One group of bars per item (values 0..1), side by side, as PNG bytes."""
    bar_width, gap, margin = 18, 14, 10
    per_group = max((len(g) for g in groups), default=1)
    width = margin * 2 + max(1, len(groups)) * (per_group * bar_width + gap)
    pixels = [[BACKGROUND] * width for _ in range(height)]
    base = height - margin
    for x in range(margin, width - margin):
        pixels[base][x] = AXIS
    for index, group in enumerate(groups):
        left = margin + gap // 2 + index * (per_group * bar_width + gap)
        for series, value in enumerate(group):
            top = base - round(max(0.0, min(1.0, value)) * (base - margin))
            colour = COLOURS[series % len(COLOURS)]
            for y in range(top, base):
                for x in range(left + series * bar_width, left + (series + 1) * bar_width - 2):
                    pixels[y][x] = colour
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
