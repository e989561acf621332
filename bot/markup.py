"""The one small portable markup every outgoing text is written in.

Templates (our catalog strings) may use ``**bold**``, ``__italic__``, `` `code` ``,
``[label](url)``, a leading ``- `` for list items and ``{name}`` placeholders. Values are put
into the parsed tree as literal text, so nothing a user typed can ever become markup; each
renderer escapes for its target (Telegram and Matrix HTML, markdown, plain text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


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

_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|__(?P<italic>.+?)__"
    r"|`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>[^)\s]+)\)",
    re.DOTALL,
)
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


def _parse(template: str, values: Mapping[str, object]) -> tuple[Node, ...]:
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(template):
        if match.start() > position:
            nodes.append(Text(_fill(template[position : match.start()], values)))
        if match.group("bold") is not None:
            nodes.append(Bold(_parse(match.group("bold"), values)))
        elif match.group("italic") is not None:
            nodes.append(Italic(_parse(match.group("italic"), values)))
        elif match.group("code") is not None:
            nodes.append(Code(_fill(match.group("code"), values)))
        else:
            nodes.append(
                Link(_fill(match.group("label"), values), _fill(match.group("url"), values))
            )
        position = match.end()
    if position < len(template):
        nodes.append(Text(_fill(template[position:], values)))
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

    def plain(self) -> str:
        return "".join(_plain(node) for node in self.nodes)

    def html(self, newline: str = "\n") -> str:
        """HTML as Telegram's parse mode and Matrix's ``formatted_body`` accept it."""
        return "".join(_html(node, newline) for node in self.nodes)

    def markdown(self) -> str:
        return "".join(_markdown(node) for node in self.nodes)

    def to_json(self) -> list[Any]:
        return [_dump(node) for node in self.nodes]

    @classmethod
    def from_json(cls, data: list[Any]) -> Markup:
        return cls(tuple(_load(item) for item in data))


def _plain(node: Node) -> str:
    if isinstance(node, Text | Code):
        return node.value
    if isinstance(node, Link):
        return node.label if node.label == node.url else f"{node.label} ({node.url})"
    return "".join(_plain(child) for child in node.children)


def _html(node: Node, newline: str) -> str:
    if isinstance(node, Text):
        return html.escape(node.value, quote=False).replace("\n", newline)
    if isinstance(node, Code):
        return f"<code>{html.escape(node.value, quote=False)}</code>"
    if isinstance(node, Link):
        return f'<a href="{html.escape(node.url)}">{html.escape(node.label, quote=False)}</a>'
    tag = "b" if isinstance(node, Bold) else "i"
    inner = "".join(_html(child, newline) for child in node.children)
    return f"<{tag}>{inner}</{tag}>"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


def _md_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown(node: Node) -> str:
    if isinstance(node, Text):
        return _md_escape(node.value)
    if isinstance(node, Code):
        fence = "``" if "`" in node.value else "`"
        pad = " " if node.value.startswith("`") or node.value.endswith("`") else ""
        return f"{fence}{pad}{node.value}{pad}{fence}"
    if isinstance(node, Link):
        url = node.url.replace("(", "%28").replace(")", "%29")
        return f"[{_md_escape(node.label)}]({url})"
    mark = "**" if isinstance(node, Bold) else "_"
    return mark + "".join(_markdown(child) for child in node.children) + mark


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
