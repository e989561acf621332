"""The one small portable markup every outgoing text is written in.

Templates (our catalog strings, and the text a secretary types for a notice) may use
``**bold**``, ``_italic_`` (or ``__italic__``), `` `code` ``, ``[label](url)``, a leading ``- ``
for list items and ``{name}`` placeholders. Values are put into the parsed tree as literal
text, so nothing a user typed can ever become markup; each renderer escapes for its target
(Telegram and Matrix HTML, CommonMark, plain text) and keeps only links of safe schemes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Code:
    value: str


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Bold:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Italic:
    children: tuple[Node, ...]


Node = Text | Code | Link | Bold | Italic

WEB_SCHEMES = frozenset({"http", "https", "mailto"})
"""The link schemes a renderer keeps unless told otherwise; any other link is shown as text."""
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|__(?P<italic>.+?)__"
    r"|``(?P<ticked>[^\n]+?)``"
    r"|`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|(?<![A-Za-z0-9_/])_(?P<under>[^\s_](?:[^\n_]*[^\s_])?)_(?![A-Za-z0-9_])",
    re.DOTALL,
)
"""``_italic_`` only where an underscore cannot be part of a word or a path (``lesson_a_b``,
``/x/_y_``), and within one line; ``__italic__`` as before. ``` `` a`b `` ``` is code that
holds a backtick (one space inside each end is dropped, as in CommonMark)."""
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")
_BULLET = re.compile(r"^- ", re.MULTILINE)


def _fill(template: str, values: Mapping[str, object]) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return str(values[match.group(1)])

    return _PLACEHOLDER.sub(replace, template)


def _text(template: str, values: Mapping[str, object]) -> list[Node]:
    """Plain template text with its values in; a ``Markup`` value (already safe: a schedule
    shown with a code span in it) keeps its own nodes, every other value is literal text."""
    nodes: list[Node] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        value = values.get(match.group(1) or "")
        if isinstance(value, Markup):
            nodes.append(Text(_fill(template[position : match.start()], values)))
            nodes.extend(value.nodes)
            position = match.end()
    nodes.append(Text(_fill(template[position:], values)))
    return nodes


def _parse(template: str, values: Mapping[str, object]) -> tuple[Node, ...]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(template):
        if match.start() > position:
            nodes.extend(_text(template[position : match.start()], values))
        if match.group("bold") is not None:
            nodes.append(Bold(_parse(match.group("bold"), values)))
        elif match.group("italic") is not None:
            nodes.append(Italic(_parse(match.group("italic"), values)))
        elif match.group("under") is not None:
            nodes.append(Italic(_parse(match.group("under"), values)))
        elif match.group("ticked") is not None:
            ticked = match.group("ticked")
            if len(ticked) > 2 and ticked.startswith(" ") and ticked.endswith(" "):
                ticked = ticked[1:-1]
            nodes.append(Code(_fill(ticked, values)))
        elif match.group("code") is not None:
            nodes.append(Code(_fill(match.group("code"), values)))
        else:
            nodes.append(
                Link(_fill(match.group("label"), values), _fill(match.group("url"), values))
            )
        position = match.end()
    if position < len(template):
        nodes.extend(_text(template[position:], values))
    return tuple(node for node in nodes if not (isinstance(node, Text) and not node.value))


@dataclass(frozen=True, slots=True)
class Markup:
    """A parsed, safe piece of outgoing text."""

    nodes: tuple[Node, ...] = ()

    @classmethod
    def format(cls, template: str, /, **values: object) -> Markup:
        """Parse a (translated) template and put ``values`` in as literal text."""
        return cls(_parse(_BULLET.sub("• ", template), values))

    @classmethod
    def literal(cls, text: str) -> Markup:
        """Text taken exactly as given: no markup is read in it."""
        return cls((Text(text),) if text else ())

    @classmethod
    def join(cls, parts: Iterable[Markup], separator: str = "\n") -> Markup:
        nodes: list[Node] = []
        for index, part in enumerate(parts):
            if index and separator:
                nodes.append(Text(separator))
            nodes.extend(part.nodes)
        return cls(tuple(nodes))

    def __add__(self, other: Markup) -> Markup:
        return Markup(self.nodes + other.nodes)

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def safe(self, schemes: frozenset[str] = WEB_SCHEMES) -> Markup:
        """The same text with every link whose scheme is not in ``schemes`` (``javascript:``,
        ``data:``, a relative or mistyped URL) turned into its plain text, label and URL."""
        return Markup(tuple(_safe(node, schemes) for node in self.nodes))

    def plain(self) -> str:
        return scrub("".join(_plain(node) for node in self.nodes))

    def html(self, newline: str = "\n", schemes: frozenset[str] = WEB_SCHEMES) -> str:
        """HTML as Telegram's parse mode and Matrix's ``formatted_body`` accept it."""
        return "".join(_html(node, newline) for node in self.safe(schemes).nodes)

    def markdown(self, schemes: frozenset[str] = WEB_SCHEMES) -> str:
        """CommonMark in which only our own markup is markup: whatever a text node holds
        parses back to exactly its characters."""
        rendered = "".join(_markdown(node) for node in self.safe(schemes).nodes)
        return _MD_EDGE.sub(_md_spaces, rendered)

    def to_json(self) -> list[Any]:
        return [_dump(node) for node in self.nodes]

    @classmethod
    def from_json(cls, data: list[Any]) -> Markup:
        return cls(tuple(_load(item) for item in data))


def scrub(text: str) -> str:
    """``text`` with lone surrogates replaced: no encoder (UTF-8 JSON, HTML) can carry them."""
    return _SURROGATE.sub("\ufffd", text)


def link_target(url: str, schemes: frozenset[str] = WEB_SCHEMES) -> str | None:
    """The URL as a browser reads an ``href`` (outer spaces and controls stripped, tabs and
    line breaks dropped) if its scheme is one of ``schemes``, else ``None``."""
    cleaned = _URL_DROPPED.sub("", scrub(url).strip(_URL_STRIPPED))
    try:
        scheme = urlsplit(cleaned).scheme.lower()
    except ValueError:
        return None
    return cleaned if scheme in schemes else None


def _safe(node: Node, schemes: frozenset[str]) -> Node:
    if isinstance(node, Link):
        target = link_target(node.url, schemes)
        return Text(_plain(node)) if target is None else Link(node.label, target)
    if isinstance(node, Bold):
        return Bold(tuple(_safe(child, schemes) for child in node.children))
    if isinstance(node, Italic):
        return Italic(tuple(_safe(child, schemes) for child in node.children))
    return node


def _plain(node: Node) -> str:
    if isinstance(node, Text | Code):
        return node.value
    if isinstance(node, Link):
        return node.label if node.label == node.url else f"{node.label} ({node.url})"
    return "".join(_plain(child) for child in node.children)


def html_text(text: str) -> str:
    """``text`` for an HTML text node (``&``, ``<``, ``>`` escaped, lone surrogates gone)."""
    return html.escape(scrub(text), quote=False)


def _html(node: Node, newline: str) -> str:
    if isinstance(node, Text):
        return html_text(node.value).replace("\n", newline)
    if isinstance(node, Code):
        return f"<code>{html_text(node.value)}</code>"
    if isinstance(node, Link):
        return f'<a href="{html.escape(node.url)}">{html_text(node.label)}</a>'
    tag = "b" if isinstance(node, Bold) else "i"
    inner = "".join(_html(child, newline) for child in node.children)
    return f"<{tag}>{inner}</{tag}>"


_MD_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~&=]")
"""ASCII punctuation that can start or end markup in CommonMark or its common extensions
(tables, strikethrough); ``&`` would start an entity, ``=`` a setext heading."""
_MD_SPACE = r"[^\S\n]"
"""Whitespace but line breaks: every Unicode space (U+3000 from a Chinese keyboard, U+00A0
from a web page), tabs and the rest, as CommonMark's flanking rules and markdown-it's
``strip()`` of a paragraph read them, not only ``' '`` and tab."""
_MD_EDGE = re.compile(rf"^{_MD_SPACE}+|{_MD_SPACE}+$", re.MULTILINE)
"""Spaces at a line's ends: indentation makes a code block, two trailing spaces a line
break, and a paragraph drops them. As character references they stay text (only text nodes
can put them there: spans and links end in their own marks)."""
_MD_INNER_EDGE = re.compile(rf"^{_MD_SPACE}+|{_MD_SPACE}+$")
"""The same at the ends of an emphasis: ``** x**`` or ``**<U+3000>x**`` would not open."""
_MD_LINES = re.compile(r"\r\n?|\n")
_MD_PARAGRAPHS = re.compile(r"\n\n+")
_BACKTICKS = re.compile(r"`+")
_URL_STRIPPED = "".join(chr(code) for code in range(0x21))
_URL_DROPPED = re.compile(r"[\t\n\r]")
_URL_ENCODED = re.compile(r"[\x00-\x20\x7f<>()\\`\"]|&(?=#?\w+;)")


def _md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\g<0>", scrub(text)).replace("\r", "&#13;")


def _md_spaces(match: re.Match[str]) -> str:
    return "".join(f"&#{ord(space)};" for space in match.group(0))


def _md_code(value: str) -> str:
    """A code span per line: a span's line breaks would become spaces, and the block structure
    (headings, quotes) is read before spans are, so a line inside a span is not safe."""
    spans = []
    for line in _MD_LINES.split(scrub(value)):
        if not line:
            spans.append("")
            continue
        fence = "`" * (max((len(run) for run in _BACKTICKS.findall(line)), default=0) + 1)
        pad = line[0] == "`" or line[-1] == "`" or (line[0] == line[-1] == " " and line.strip())
        inner = f" {line} " if pad else line
        spans.append(f"{fence}{inner}{fence}")
    return "\n".join(spans)


def _md_url(url: str) -> str:
    return _URL_ENCODED.sub(lambda match: f"%{ord(match.group(0)):02X}", url)


def _markdown(node: Node) -> str:
    if isinstance(node, Text):
        return _md_text(node.value)
    if isinstance(node, Code):
        return _md_code(node.value)
    if isinstance(node, Link):
        label = _md_text(" ".join(_MD_LINES.split(node.label)))
        return f"[{label}]({_md_url(node.url)})"
    mark = "**" if isinstance(node, Bold) else "*"
    inner = "".join(_markdown(child) for child in node.children)
    # Emphasis cannot span paragraphs: each paragraph gets its own marks.
    pieces = _MD_PARAGRAPHS.split(inner)
    gaps = [*_MD_PARAGRAPHS.findall(inner), ""]
    return "".join(
        (f"{mark}{_MD_INNER_EDGE.sub(_md_spaces, piece)}{mark}" if piece else "") + gap
        for piece, gap in zip(pieces, gaps, strict=True)
    )


def _dump(node: Node) -> list[Any]:
    if isinstance(node, Text):
        return ["t", node.value]
    if isinstance(node, Code):
        return ["c", node.value]
    if isinstance(node, Link):
        return ["a", node.label, node.url]
    kind = "b" if isinstance(node, Bold) else "i"
    return [kind, [_dump(child) for child in node.children]]


def _load(item: list[Any]) -> Node:
    kind = item[0]
    if kind == "t":
        return Text(item[1])
    if kind == "c":
        return Code(item[1])
    if kind == "a":
        return Link(item[1], item[2])
    children = tuple(_load(child) for child in item[1])
    return Bold(children) if kind == "b" else Italic(children)
