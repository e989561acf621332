"""The portable markup: values never become markup, and every renderer escapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from adapters.matrix.render import formatted
from adapters.telegram.render import split_html
from bot.events import parse_command
from bot.markup import Bold, Code, Italic, Markup, Node, Text

NASTY = [
    "<b>bold</b> & <script>alert(1)</script>",
    "**not bold** __not italic__ `not code` [not](a link)",
    "\u202eevil RTL\u202c and \u200f marks",
    "emoji 👩‍👩‍👧‍👦🇨🇳 and 汉字",
    "back\\slash *star* _under_ #hash [x](y)",
    "x" * 4000,
]


@pytest.mark.parametrize("value", NASTY)
def test_values_stay_literal_in_every_rendering(value: str) -> None:
    markup = Markup.format("Hello **{name}** in `{name}`", name=value)
    assert markup.plain() == f"Hello {value} in {value}"
    html = markup.html()
    assert "<script>" not in html and html.count("<b>") == 1 and html.count("<code>") == 1
    assert html.count("</b>") == 1
    markdown = markup.markdown()
    assert markdown.split(" in `")[0].count("**") == 2  # code spans are literal anyway
    assert Markup.from_json(markup.to_json()) == markup


def test_template_markup() -> None:
    markup = Markup.format("**{a}** __b__ `c` [docs](https://example.org/?q=1&r=2)\n- item", a="A")
    assert markup.plain() == "A b c docs (https://example.org/?q=1&r=2)\n• item"
    assert markup.html() == (
        "<b>A</b> <i>b</i> <code>c</code> "
        '<a href="https://example.org/?q=1&amp;r=2">docs</a>\n• item'
    )
    assert markup.markdown() == "**A** *b* `c` [docs](https://example.org/?q=1&r=2)\n• item"
    assert Markup.format("{{literal}} {x}", x=1).plain() == "{literal} 1"


def test_markdown_escapes_user_text() -> None:
    assert Markup.literal("*x* [a](b)").markdown() == r"\*x\* \[a\]\(b\)"
    assert Markup.format("`{c}`", c="a`b").markdown() == "``a`b``"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/help", ("help", ())),
        ("/Invite Main  Library secretary", ("invite", ("Main", "Library", "secretary"))),
        ("/help@BranchBot", ("help", ())),
        ("/help@other_bot", None),
        ("help", None),
        ("/ help", None),
        ("/123", None),
    ],
)
def test_parse_command(text: str, expected: object) -> None:
    assert parse_command(text, "branchbot") == expected


def test_italic_with_single_underscores_renders_everywhere() -> None:
    markup = Markup.format("Come _on time_, 请_准时_参加 __too__")
    assert markup.plain() == "Come on time, 请准时参加 too"
    assert markup.html() == "Come <i>on time</i>, 请<i>准时</i>参加 <i>too</i>"
    assert markup.markdown() == "Come *on time*, 请*准时*参加 *too*"
    assert split_html(markup) == [markup.html()]
    assert formatted(markup) == "Come <em>on time</em>, 请<em>准时</em>参加 <em>too</em>"


@pytest.mark.parametrize(
    "text", ["lesson_a_b", "/start lesson_ab_", "path/_x_", "snake_case_name", "_ spaced _", "a_b"]
)
def test_underscores_inside_words_and_paths_are_not_italic(text: str) -> None:
    assert Markup.format(text).nodes == (Text(text),)


def test_double_backticks_hold_a_backtick() -> None:
    markup = Markup.format("Type `` `code` `` or ``a`b``")
    assert markup.nodes == (Text("Type "), Code("`code`"), Text(" or "), Code("a`b"))
    assert markup.markdown() == "Type `` `code` `` or ``a`b``"


def test_links_of_other_schemes_are_text_in_every_renderer() -> None:
    markup = Markup.format("[a](JavaScript:x) [b](data:text/html,x) [c](https://ok.example)")
    shown = "a (JavaScript:x) b (data:text/html,x) "
    assert markup.html() == shown + '<a href="https://ok.example">c</a>'
    assert markup.markdown() == r"a \(JavaScript:x\) b \(data:text/html,x\) [c](https://ok.example)"


def _elements(nodes: tuple[Node, ...]) -> list[str]:
    found = []
    for node in nodes:
        if not isinstance(node, Text):
            found.append(type(node).__name__)
        if isinstance(node, Bold | Italic):
            found += _elements(node.children)
    return sorted(found)


def _catalog_pairs() -> list[tuple[str, str]]:
    path = Path(__file__).parents[1] / "bot/locales/zh_Hans/LC_MESSAGES/branchbot.po"
    with path.open("rb") as file:
        catalog = read_po(file)
    pairs = []
    for message in catalog:
        if message.id:
            source = message.id if isinstance(message.id, str) else message.id[0]
            strings = [message.string] if isinstance(message.string, str) else message.string
            pairs += [(source, string) for string in strings if string]
    return pairs


CATALOG_PAIRS = _catalog_pairs()


@pytest.mark.parametrize(
    ("source", "translation"), CATALOG_PAIRS, ids=[source[:50] for source, _ in CATALOG_PAIRS]
)
def test_a_translation_has_the_markup_of_its_source(source: str, translation: str) -> None:
    """An underscore or backtick that turns into markup in one language only is a typo."""

    def parsed(template: str) -> list[str]:
        return _elements(Markup.format(template.replace("{", "{{").replace("}", "}}")).nodes)

    assert parsed(translation) == parsed(source)


def test_a_markup_value_keeps_its_own_markup_and_a_text_value_stays_literal() -> None:
    """A translated piece (a schedule shown as `cron 0 9 * * 1`) put into another message keeps
    its code span; text a person typed stays literal, backticks and all."""
    rule = Markup.format("`cron {rule}`", rule="0 9 * * 1")
    shown = Markup.format("When: {when}. Sure, {name}?", when=rule, name="`Sam`")
    assert shown.nodes == (Text("When: "), Code("cron 0 9 * * 1"), Text(". Sure, `Sam`?"))
    assert Markup.format("{{x}} {when}", when=rule).plain() == "{x} cron 0 9 * * 1"
