"""Every renderer, fed the same hostile corpus: what a person typed stays literal text.

Each corpus item goes in as a placeholder value (in plain text, bold, italic, code, a link
label and a link target) and as the text of a broadcast, whose own markup a secretary may use.
For each resulting tree, every renderer's output is parsed back (HTML with ``html.parser``,
markdown with markdown-it's CommonMark plus tables and strikethrough) and must hold exactly
the elements of the tree, links only to safe schemes, and exactly the tree's characters.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from adapters.matrix import render as matrix_render
from adapters.playground import PlaygroundChannel
from adapters.telegram import render as telegram_render
from adapters.webhook import render as webhook_render
from bot.markup import Bold, Code, Italic, Link, Markup, Node, Text
from bot.messages import Address, Outgoing
from dialogs.broadcast.fanout import notice, user_text
from tests.support.hostile_corpus import HOSTILE

CONTEXTS = {
    "text": "Hello {v} there.",
    "bold": "Hello **{v}** there.",
    "italic": "Hello _{v}_ there.",
    "code": "Hello `{v}` there.",
    "label": "Open [{v}](https://example.org/x) now.",
    "target": "Open [the page]({v}) now.",
}
TELEGRAM = telegram_render.SAFE_SCHEMES
MATRIX = matrix_render.SAFE_SCHEMES
WEB_SCHEMES = frozenset({"http", "https", "mailto"})
"""Where no platform says more: the webhook markdown and the playground."""
SURROGATE = re.compile(r"[\ud800-\udfff]")
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def trees() -> list[tuple[str, Markup]]:
    cases = []
    for name, value in HOSTILE.items():
        for context, template in CONTEXTS.items():
            cases.append((f"{name} as {context}", Markup.format(template, v=value)))
        cases.append((f"{name} as a broadcast", broadcast(value)))
    return cases


def broadcast(typed: str) -> Markup:
    """The notice a secretary's typed text becomes, as members receive it."""
    return notice(user_text(typed), "notice", 7, False, "en", "en").text


# -- what the tree says the output must hold ----------------------------------------------


def scrub(text: str) -> str:
    return SURROGATE.sub("\ufffd", text)


def target(url: str, schemes: frozenset[str]) -> str | None:
    """The href a link may have: its scheme as a browser reads it must be allowed."""
    cleaned = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21))))
    try:
        return cleaned if urlsplit(cleaned).scheme.lower() in schemes else None
    except ValueError:
        return None


def plain_of(node: Node) -> str:
    if isinstance(node, Text | Code):
        return node.value
    if isinstance(node, Link):
        return node.label if node.label == node.url else f"{node.label} ({node.url})"
    return "".join(plain_of(child) for child in node.children)


def shown(nodes: tuple[Node, ...], schemes: frozenset[str]) -> str:
    """The characters a reader sees: a safe link shows its label, any other its plain text."""
    out = []
    for node in nodes:
        if isinstance(node, Link):
            out.append(node.label if target(node.url, schemes) else plain_of(node))
        elif isinstance(node, Bold | Italic):
            out.append(shown(node.children, schemes))
        else:
            out.append(plain_of(node))
    return scrub("".join(out))


def elements(nodes: tuple[Node, ...], schemes: frozenset[str]) -> Counter[str]:
    """How many of each element the tree holds (``a`` only for links that may be links)."""
    found: Counter[str] = Counter()
    for node in nodes:
        if isinstance(node, Bold | Italic):
            found["bold" if isinstance(node, Bold) else "italic"] += 1
            found += elements(node.children, schemes)
        elif isinstance(node, Code):
            found["code"] += 1
        elif isinstance(node, Link) and target(node.url, schemes):
            found["link"] += 1
    return found


def links(nodes: tuple[Node, ...], schemes: frozenset[str]) -> list[str]:
    found = []
    for node in nodes:
        if isinstance(node, Bold | Italic):
            found += links(node.children, schemes)
        elif isinstance(node, Link) and (url := target(node.url, schemes)):
            found.append(scrub(url))
    return found


# -- HTML ---------------------------------------------------------------------------------


@dataclass
class Parsed(HTMLParser):
    tags: dict[str, str] = field(default_factory=dict)
    found: Counter[str] = field(default_factory=Counter)
    hrefs: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.tags, f"<{tag}> came from user text"
        if tag == "br":
            assert not attrs
            self.text.append("\n")
            return
        if tag == "a":
            assert len(attrs) == 1 and attrs[0][0] == "href", attrs
            self.hrefs.append(str(attrs[0][1]))
        else:
            assert not attrs, (tag, attrs)
        self.found[self.tags[tag]] += 1
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> out of place"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"<{tag}/> came from user text")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment came from user text: {data!r}")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError(f"a declaration came from user text: {decl!r}")

    def handle_pi(self, data: str) -> None:
        raise AssertionError(f"a processing instruction came from user text: {data!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"a declaration came from user text: {data!r}")


def parse_html(html: str, tags: dict[str, str]) -> Parsed:
    parsed = Parsed(tags)
    parsed.feed(html)
    parsed.close()
    assert not parsed.open, f"unclosed {parsed.open}"
    return parsed


def check_html(markup: Markup, html: str, tags: dict[str, str], schemes: frozenset[str]) -> None:
    parsed = parse_html(html, tags)
    assert parsed.found == elements(markup.nodes, schemes)
    assert parsed.hrefs == links(markup.nodes, schemes)
    assert all(urlsplit(href).scheme.lower() in schemes for href in parsed.hrefs)
    assert "".join(parsed.text) == shown(markup.nodes, schemes)


TELEGRAM_TAGS = {"b": "bold", "i": "italic", "code": "code", "a": "link"}
MATRIX_TAGS = {"strong": "bold", "em": "italic", "code": "code", "a": "link", "br": "br"}
PLAYGROUND_TAGS = {"b": "bold", "i": "italic", "code": "code", "a": "link", "br": "br"}


# -- markdown -----------------------------------------------------------------------------

INLINE = {"text", "softbreak", "code_inline"}
PAIRS = {"strong_open": "bold", "em_open": "italic", "link_open": "link"}
CLOSERS = {"strong_close", "em_close", "link_close"}


def md_elements(nodes: tuple[Node, ...], schemes: frozenset[str]) -> Counter[str]:
    """``elements`` as markdown must hold them: emphasis and code spans cannot span a
    paragraph (code spans not even a line), so each paragraph (line) has its own."""
    found: Counter[str] = Counter()
    for node in nodes:
        if isinstance(node, Bold | Italic):
            pieces = [p for p in re.split(r"\n\n+", shown(node.children, schemes)) if p]
            found["bold" if isinstance(node, Bold) else "italic"] += len(pieces)
            found += md_elements(node.children, schemes)
        elif isinstance(node, Code):
            found["code"] += len([line for line in re.split(r"\r\n?|\n", node.value) if line])
        elif isinstance(node, Link) and target(node.url, schemes):
            found["link"] += 1
    return found


def md_shown(nodes: tuple[Node, ...], schemes: frozenset[str]) -> str:
    """``shown`` as markdown can show it: blank lines are paragraph breaks, a link's label is
    one line, and a code span's line ends are line ends."""
    return re.sub(r"\n\n+", "\n\n", scrub(_md_chars(nodes, schemes))).strip("\n")


def _md_chars(nodes: tuple[Node, ...], schemes: frozenset[str]) -> str:
    out = []
    for node in nodes:
        if isinstance(node, Link) and target(node.url, schemes):
            out.append(re.sub(r"\r\n?|\n", " ", node.label))
        elif isinstance(node, Code):
            out.append(re.sub(r"\r\n?", "\n", node.value))
        elif isinstance(node, Bold | Italic):
            out.append(_md_chars(node.children, schemes))
        else:
            out.append(plain_of(node))
    return "".join(out)


def check_markdown(markup: Markup, markdown: str, schemes: frozenset[str]) -> None:
    paragraphs: list[str] = []
    found: Counter[str] = Counter()
    hrefs: list[str] = []
    for block in MARKDOWN.parse(markdown):
        assert block.type in ("paragraph_open", "paragraph_close", "inline"), (
            f"{block.type} came from user text: {markdown!r}"
        )
        if block.type != "inline":
            continue
        text = []
        for token in block.children or []:
            text.append(_inline(token, found, hrefs, markdown))
        paragraphs.append("".join(text))
    assert found == md_elements(markup.nodes, schemes), markdown
    assert [unquote(h) for h in hrefs] == [unquote(h) for h in links(markup.nodes, schemes)]
    assert all(urlsplit(href).scheme.lower() in schemes for href in hrefs)
    assert "\n\n".join(paragraphs) == md_shown(markup.nodes, schemes), markdown


def _inline(token: Token, found: Counter[str], hrefs: list[str], markdown: str) -> str:
    if token.type in PAIRS:
        found[PAIRS[token.type]] += 1
        if token.type == "link_open":
            hrefs.append(str(token.attrs["href"]))
        return ""
    if token.type in CLOSERS:
        return ""
    assert token.type in INLINE, f"{token.type} came from user text: {markdown!r}"
    if token.type == "code_inline":
        found["code"] += 1
    return "\n" if token.type == "softbreak" else token.content


def telegram_shown(markup: Markup) -> str:
    """``shown`` for a message cut into parts: an element too long for one part goes as its
    plain text."""
    out = []
    for node in markup.safe(TELEGRAM).nodes:
        rendered = Markup((node,)).html(schemes=TELEGRAM)
        too_long = telegram_render.size(rendered) > telegram_render.MAX_TEXT
        out.append(plain_of(node) if too_long else shown((node,), TELEGRAM))
    return scrub("".join(out))


# -- the test -----------------------------------------------------------------------------

CASES = trees()


@pytest.mark.parametrize("markup", [case for _, case in CASES], ids=[i for i, _ in CASES])
def test_user_text_stays_literal_in_every_renderer(markup: Markup) -> None:
    assert markup.plain() == scrub("".join(plain_of(node) for node in markup.nodes))

    parts = telegram_render.split_html(markup)
    for part in parts:
        parse_html(part, TELEGRAM_TAGS)
    if len(parts) == 1:
        check_html(markup, parts[0], TELEGRAM_TAGS, TELEGRAM)
    else:  # cut at gaps, whose spaces are dropped; a piece too long alone goes as text
        text = "".join("".join(parse_html(part, TELEGRAM_TAGS).text) for part in parts)
        assert re.sub(r"\s", "", text) == re.sub(r"\s", "", telegram_shown(markup))

    [content] = matrix_render.contents(Outgoing(markup), matrix_render.MAX_BYTES)
    assert content["body"] == markup.plain()
    check_html(markup, content["formatted_body"], MATRIX_TAGS, MATRIX)

    address = Address("webhook", "room")
    payload = webhook_render(address, Outgoing(markup), "1")
    json.dumps(payload, ensure_ascii=False).encode()  # nothing an encoder cannot carry
    assert payload["text"] == markup.plain()
    check_markdown(markup, payload["markdown"], WEB_SCHEMES)

    playground = PlaygroundChannel()
    asyncio.run(playground.send(address, Outgoing(markup), "1"))
    [shown_there] = playground._history
    check_html(markup, shown_there["html"], PLAYGROUND_TAGS, WEB_SCHEMES)
    check_markdown(markup, shown_there["markdown"], WEB_SCHEMES)


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("context", list(CONTEXTS))
def test_a_value_is_one_literal_node(context: str, value: str) -> None:
    """Markup is read in the template only: the value lands in one node, as typed."""
    markup = Markup.format(CONTEXTS[context], v=value)
    benign = Markup.format(CONTEXTS[context], v="VALUE")
    assert [type(node) for node in markup.nodes] == [type(node) for node in benign.nodes]
    assert json.dumps(markup.to_json()) == json.dumps(benign.to_json()).replace(
        "VALUE", json.dumps(value)[1:-1]
    )
