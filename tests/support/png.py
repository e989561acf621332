"""Reading back the PNG charts the bot draws."""

from __future__ import annotations

import struct
import zlib

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
    """The x of every column with a pixel of ``colour`` in one of ``rows``."""
    return [x for x in range(len(pixels[0])) if any(pixels[y][x] == colour for y in rows)]
