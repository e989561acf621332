"""Reading back the PNG charts the bot draws (matplotlib's RGBA PNG, read with Pillow)."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

Pixel = tuple[int, int, int]


def decode(png: bytes) -> list[list[Pixel]]:
    """The PNG's pixels, rows of RGB; a malformed PNG raises."""
    with Image.open(BytesIO(png)) as image:
        assert image.format == "PNG"
        rgb = image.convert("RGB")
    width, height = rgb.size
    data = rgb.tobytes()
    return [
        [(data[i], data[i + 1], data[i + 2]) for i in range(3 * width * y, 3 * width * (y + 1), 3)]
        for y in range(height)
    ]


def runs(values: list[int]) -> list[range]:
    """Consecutive values as ranges: the separate marks along one direction."""
    found: list[range] = []
    for value in values:
        if found and found[-1].stop == value:
            found[-1] = range(found[-1].start, value + 1)
        else:
            found.append(range(value, value + 1))
    return found


def bars(pixels: list[list[Pixel]], colour: Pixel) -> list[range]:
    """The rows of each horizontal bar of ``colour``, top to bottom: every bar starts at the
    scale's zero, the leftmost column in that colour (the legend's swatch is right of it)."""
    zero = min(x for row in pixels for x, pixel in enumerate(row) if pixel == colour)
    return runs([y for y, row in enumerate(pixels) if row[zero] == colour])


def length(pixels: list[list[Pixel]], colour: Pixel, bar: range) -> int:
    """How many pixels long a horizontal bar is, along the middle row of it."""
    return sum(1 for pixel in pixels[(bar.start + bar.stop) // 2] if pixel == colour)
