"""Telegram HTML for our markup, cut into messages that fit Telegram's 4,096 characters.

Telegram counts the text after parsing the HTML, in UTF-16 code units. We measure the HTML
itself, which is never shorter, so a part we send can never be refused as too long. Cuts fall
between paragraphs where possible, then between lines, then between words, and never inside a
tag or an entity: a bold or linked piece is kept whole unless it alone is too long, in which
case it is sent as plain text.

Only links whose scheme Telegram opens safely (``http``, ``https``, ``tg``, ``mailto``) become
``<a href>``; any other (``javascript:``, ``file:``, a typo) is shown as text, label and URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.markup import Markup, Node, Text, html_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
SAFE_SCHEMES = frozenset({"http", "https", "tg", "mailto"})

PARAGRAPH, LINE, WORD, ANYWHERE = 3, 2, 1, 0
_GAP = re.compile(r"(\n\s*\n|\n| )")


def size(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class _Unit:
    html: str
    cut_after: int
    """How good a place the end of this unit is for a cut (PARAGRAPH best)."""


def _text_units(value: str, limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    parts = _GAP.split(value)
    for index in range(0, len(parts), 2):
        word = parts[index]
        gap = parts[index + 1] if index + 1 < len(parts) else ""
        level = ANYWHERE
        if gap:
            level = PARAGRAPH if gap.count("\n") > 1 else LINE if "\n" in gap else WORD
        escaped = html_text(word)
        while size(escaped) > limit:
            cut = len(word)
            while size(html_text(word[:cut])) > limit:
                cut = max(1, cut * 2 // 3)
            units.append(_Unit(html_text(word[:cut]), ANYWHERE))
            word = word[cut:]
            escaped = html_text(word)
        units.append(_Unit(escaped + html_text(gap), level))
    return units


def _units(nodes: tuple[Node, ...], limit: int) -> list[_Unit]:
    units: list[_Unit] = []
    for node in nodes:
        if isinstance(node, Text):
            units.extend(_text_units(node.value, limit))
            continue
        rendered = Markup((node,)).html(schemes=SAFE_SCHEMES)
        if size(rendered) <= limit:
            units.append(_Unit(rendered, ANYWHERE))
        else:
            units.extend(_text_units(Markup((node,)).plain(), limit))
    return units


def split_html(text: Markup, limit: int = MAX_TEXT) -> list[str]:
    """The message as one or more HTML parts, each at most ``limit`` long and none empty."""
    parts: list[str] = []
    current: list[_Unit] = []
    length = 0
    for unit in _units(text.safe(SAFE_SCHEMES).nodes, limit):
        current.append(unit)
        length += size(unit.html)
        while length > limit:
            best = max(range(len(current) - 1), key=lambda i: (current[i].cut_after, i))
            head, current = current[: best + 1], current[best + 1 :]
            parts.append("".join(u.html for u in head))
            length = sum(size(u.html) for u in current)
    parts.append("".join(u.html for u in current))
    # Only the gaps cut at (spaces, line breaks) are trimmed: a person's own U+3000 or U+00A0
    # at the end of the message is text, as in every other renderer.
    return [part.strip(" \n") for part in parts if part.strip()]
