"""Survey templates: the shipped ones load, every problem is reported at its line, nothing is
built from a file with a problem, and a hostile file is one bounded error."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from dialogs.appraisal.templates import (
    GRADES,
    LIMITS,
    Kind,
    Template,
    is_template,
    load_template,
    parse_template,
)

SHIPPED = Path(__file__).parents[2] / "dialogs" / "appraisal" / "shipped"

HEAD = """\
survey: check
title: {en: Check, zh_Hans: 检查}
sections:
  - title: {en: One, zh_Hans: 一}
    questions:
"""
"""A template up to its first question list (lines 1–5): tests append questions from line 6."""


def errors_of(text: str) -> list[str]:
    loaded = parse_template(text.encode(), "t.yaml")
    assert loaded.template is None
    return [str(error) for error in loaded.errors]


def test_the_shipped_templates_load() -> None:
    found = {path.name: load_template(path) for path in sorted(SHIPPED.glob("*.yaml"))}
    assert set(found) == {"annual-appraisal.yaml", "committee-rating.yaml", "pulse.yaml"}
    for name, loaded in found.items():
        assert loaded.errors == (), name
    annual = found["annual-appraisal.yaml"].template
    assert annual is not None and annual.key == "annual-appraisal"
    kinds = {question.kind for question in annual.questions}
    assert kinds == set(Kind)
    assert annual.grading is not None and annual.grading.key == "member_grades"
    assert annual.title.get("zh_Hans") == "年度成员民主评议"
    assert annual.title.get("en") == "Annual democratic appraisal of members"
    rating = annual.question("committee_overall")
    assert rating is not None and rating.scale is not None
    assert [rating.scale.label(p).get("zh_Hans") for p in rating.scale.points] == [  # type: ignore[union-attr]
        "很差",
        "较差",
        "一般",
        "较好",
        "很好",
    ]
    committee = found["committee-rating.yaml"].template
    assert committee is not None and committee.grading is None
    overall = committee.question("overall")
    assert overall is not None and overall.scale is not None and overall.scale.high == 10
    assert overall.scale.label(5) is None
    pulse = found["pulse.yaml"].template
    assert pulse is not None and len(pulse.questions) == 5
    wanted = pulse.question("wanted")
    assert wanted is not None and (wanted.min_choices, wanted.max_choices) == (1, 2)
    comment = pulse.question("comment")
    assert comment is not None and not comment.required and comment.max_length == 500


def test_every_template_text_has_both_languages_and_chinese_punctuation() -> None:
    for path in SHIPPED.glob("*.yaml"):
        template = load_template(path).template
        assert template is not None
        texts = [template.title] + [s.title for s in template.sections]
        for question in template.questions:
            texts += [question.text, *question.options]
            if question.scale is not None:
                texts += [label for _, label in question.scale.labels]
        for text in texts:
            assert text.en and text.zh_Hans
            for ascii_mark, full in ((",", "，"), ("?", "？"), (":", "："), ("(", "（")):
                assert ascii_mark not in text.zh_Hans, (path.name, text.zh_Hans, full)


def test_a_template_round_trips_through_json() -> None:
    for path in SHIPPED.glob("*.yaml"):
        template = load_template(path).template
        assert template is not None
        stored = json.loads(json.dumps(template.to_json(), ensure_ascii=False))
        assert Template.from_json(stored) == template


def test_grades_are_the_four_of_the_glossary() -> None:
    assert GRADES == ("excellent", "competent", "basically_competent", "not_competent")


@pytest.mark.parametrize(
    ("questions", "expected"),
    [
        (
            "      - {key: a, kind: scale, points: 7, text: {en: A, zh_Hans: 甲},"
            " labels: {1: {en: x, zh_Hans: 一}, 7: {en: y, zh_Hans: 七}}}\n",
            ["t.yaml:6: points must be 5 or 10 (a scale from 1 to 5 or 1 to 10)"],
        ),
        (
            "      - key: a\n        kind: scale\n        points: 5\n"
            "        text: {en: A, zh_Hans: 甲}\n        labels:\n"
            "          1: {en: x, zh_Hans: 一}\n          3: {en: y, zh_Hans: 三}\n",
            ["t.yaml:11: labels: both ends need one (1 and 5)"],
        ),
        (
            "      - key: a\n        kind: scale\n        points: 5\n"
            "        text: {en: A, zh_Hans: 甲}\n        labels:\n"
            "          1: {en: x, zh_Hans: 一}\n          6: {en: y, zh_Hans: 六}\n",
            ["t.yaml:12: a label's point must be a whole number from 1 to 5"],
        ),
        (
            "      - {key: a, kind: scale, points: 5, text: {en: A, zh_Hans: 甲}}\n",
            ["t.yaml:6: a scale question: labels is missing (at least for both ends)"],
        ),
        (
            "      - key: a\n        kind: multiple\n        text: {en: A, zh_Hans: 甲}\n"
            "        options:\n          - {en: x, zh_Hans: 一}\n          - {en: y, zh_Hans: 二}\n"
            "        min_choices: 2\n        max_choices: 3\n",
            ["t.yaml:13: max_choices must be a whole number from 1 to 2"],
        ),
        (
            "      - key: a\n        kind: multiple\n        text: {en: A, zh_Hans: 甲}\n"
            "        options:\n          - {en: x, zh_Hans: 一}\n          - {en: y, zh_Hans: 二}\n"
            "          - {en: z, zh_Hans: 三}\n        min_choices: 3\n        max_choices: 2\n",
            ["t.yaml:13: min_choices is more than max_choices"],
        ),
        (
            "      - key: a\n        kind: single\n        text: {en: A, zh_Hans: 甲}\n"
            "        options:\n          - {en: x, zh_Hans: 一}\n",
            ["t.yaml:10: options: at least two"],
        ),
        (
            "      - {key: a, kind: single, text: {en: A, zh_Hans: 甲}}\n",
            ["t.yaml:6: a question: options is missing"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, min_length: 10,"
            " max_length: 5}\n",
            ["t.yaml:6: min_length is more than max_length"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, max_length: 99999}\n",
            ["t.yaml:6: max_length must be a whole number from 1 to 4000"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, max_length: many}\n",
            ["t.yaml:6: max_length must be a whole number from 1 to 4000"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, required: maybe}\n",
            ["t.yaml:6: required must be true or false"],
        ),
        (
            "      - {key: a, kind: text, text: Just English}\n",
            ["t.yaml:6: text needs both languages: {en: …, zh_Hans: …}"],
        ),
        (
            "      - key: a\n        kind: text\n        text:\n          en: A\n",
            ["t.yaml:9: text: zh_Hans is missing"],
        ),
        (
            "      - key: a\n        kind: text\n        text:\n          en: A\n"
            "          zh_Hans: ''\n",
            ["t.yaml:10: text (zh_Hans) is empty"],
        ),
        (
            "      - key: a\n        kind: text\n        text:\n          en: A\n"
            "          fr: B\n          zh_Hans: 甲\n",
            ["t.yaml:10: text: unknown key 'fr'"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}}\n"
            "      - {key: a, kind: text, text: {en: B, zh_Hans: 乙}}\n",
            ["t.yaml:7: key a is used twice (first at line 6)"],
        ),
        (
            "      - {key: Bad Key, kind: text, text: {en: A, zh_Hans: 甲}}\n",
            [
                "t.yaml:6: key 'Bad Key' may only use a-z, 0-9, '_' and '-' (at most 32, "
                "starting with a letter or digit)"
            ],
        ),
        (
            "      - {key: a, kind: essay, text: {en: A, zh_Hans: 甲}}\n",
            ["t.yaml:6: kind must be one of scale, single, multiple, text, grade_members"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, options: []}\n",
            ["t.yaml:6: a question: unknown key 'options'"],
        ),
        (
            "      - {key: a, kind: text, text: {en: A, zh_Hans: 甲}, key: b}\n",
            ["t.yaml:6: a question: key appears twice"],
        ),
        (
            "      - {key: a, kind: grade_members, text: {en: A, zh_Hans: 甲}}\n"
            "      - {key: b, kind: grade_members, text: {en: B, zh_Hans: 乙}}\n",
            ["t.yaml:7: a template has at most one grade_members question (line 6)"],
        ),
        (
            "      - {kind: text}\n",
            ["t.yaml:6: a question: key is missing", "t.yaml:6: a question: text is missing"],
        ),
        ("      - just words\n", ["t.yaml:6: a question must be a mapping (key, kind, text, …)"]),
        ("      []\n", ["t.yaml:6: questions must be a list of at least one item"]),
    ],
)
def test_each_problem_is_reported_at_its_line(questions: str, expected: list[str]) -> None:
    assert errors_of(HEAD + questions) == expected


def test_every_problem_of_a_file_is_listed_in_line_order() -> None:
    text = (
        "survey: Not Ok\n"
        "title: {en: T}\n"
        "sections:\n"
        "  - title: {en: One, zh_Hans: 一}\n"
        "    questions:\n"
        "      - {key: a, kind: scale, points: 3, text: {en: A, zh_Hans: 甲},"
        " labels: {1: {en: x, zh_Hans: 一}}}\n"
        "      - {key: b, kind: text, text: {en: B, zh_Hans: 乙}, min_length: -1}\n"
        "  - questions: []\n"
        "extra: 1\n"
    )
    assert errors_of(text) == [
        "t.yaml:1: survey 'Not Ok' may only use a-z, 0-9, '_' and '-' (at most 32, starting "
        "with a letter or digit)",
        "t.yaml:2: title: zh_Hans is missing",
        "t.yaml:6: points must be 5 or 10 (a scale from 1 to 5 or 1 to 10)",
        "t.yaml:7: min_length must be a whole number from 0 to 4000",
        "t.yaml:8: a section: title is missing",
        "t.yaml:8: questions must be a list of at least one item",
        "t.yaml:9: the template: unknown key 'extra'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "t.yaml:1: the file is empty"),
        (
            "- a\n- b\n",
            "t.yaml:1: the template must be a mapping of keys (sections, survey, title)",
        ),
        ("survey: x\ntitle: [unclosed\n", "t.yaml:3: not valid YAML: "),
        ("survey: x\n  bad: indent\n", "t.yaml:2: not valid YAML: "),
    ],
)
def test_files_that_are_not_a_template(text: str, expected: str) -> None:
    (error,) = errors_of(text)
    assert error.startswith(expected), error


def test_limits_on_questions_options_and_texts() -> None:
    many = "".join(
        f"      - {{key: q{i}, kind: text, text: {{en: Q, zh_Hans: 问}}}}\n"
        for i in range(LIMITS.questions + 1)
    )
    assert errors_of(HEAD + many) == [
        f"t.yaml:{6 + LIMITS.questions}: the template has more than 100 questions"
    ]
    options = "".join("{en: o, zh_Hans: 选}, " for _ in range(LIMITS.options + 1))
    single = (
        f"      - {{key: a, kind: single, text: {{en: A, zh_Hans: 甲}}, options: [{options}]}}\n"
    )
    assert errors_of(HEAD + single) == ["t.yaml:6: options: more than 20"]
    long = "x" * (LIMITS.text_chars + 1)
    assert errors_of(
        HEAD + f"      - {{key: a, kind: text, text: {{en: {long}, zh_Hans: 甲}}}}\n"
    ) == ["t.yaml:6: text (en) is longer than 1000 characters"]
    title = "题" * (LIMITS.label_chars + 1)
    assert errors_of(
        HEAD.replace("zh_Hans: 检查", f"zh_Hans: {title}")
        + single.replace(options, "{en: a, zh_Hans: 一}, {en: b, zh_Hans: 二}")
    ) == ["t.yaml:2: title (zh_Hans) is longer than 200 characters"]


def test_the_error_list_is_bounded() -> None:
    bad = "".join(
        f"      - {{key: q{i}, kind: essay, text: {{en: Q, zh_Hans: 问}}}}\n" for i in range(100)
    )
    assert len(errors_of(HEAD + bad)) == LIMITS.errors


HOSTILE = {
    "billion laughs": (
        "survey: x\n"
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "t.yaml:5: the file expands to more than 3,000 values",
    ),
    "many aliases": (
        "survey: x\na: &a x\nb: [" + ", ".join(["*a"] * 60) + "]\n",
        "t.yaml:3: more than 50 aliases (*name)",
    ),
    "recursive alias": (
        "survey: &s [*s]\n",
        "t.yaml:1: an alias refers to the node that contains it",
    ),
    "deep nesting": (
        "survey: " + "[" * 50 + "]" * 50 + "\n",
        "t.yaml:1: nested deeper than 10 levels",
    ),
    "deep block nesting": (
        "survey:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 30)),
        "t.yaml:10: nested deeper than 10 levels",
    ),
    "very deep nesting": ("survey: " + "[" * 30_000 + "\n", "t.yaml:1: "),
    "wide flat list": (
        "survey: x\nsections: [" + "a, " * 20_000 + "a]\n",
        "t.yaml:2: the file expands to more than 3,000 values",
    ),
    "NUL": (
        "survey: x\ntitle: {en: a\x00b, zh_Hans: 甲}\n",
        "t.yaml:2: a control character (0x00)",
    ),
    "escape": ("survey: x\n\n\x1b[31m: red\n", "t.yaml:3: a control character (0x1b)"),
    "python tag": ("survey: !!python/object/apply:os.system [echo hi]\n", "t.yaml:1: "),
    "wrong types": (
        "survey: [1, 2]\ntitle: 5\nsections: {a: b}\n",
        "t.yaml:1: survey must be a single value",
    ),
    "merge key": (
        "survey: x\ntitle: {<<: {en: a}, zh_Hans: b}\nsections: []\n",
        "t.yaml:2: title: unknown key '<<'",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_one_error_quickly(name: str) -> None:
    text, expected = HOSTILE[name]
    start = time.thread_time()  # CPU time: the other workers' load does not count
    loaded = parse_template(text.encode(), "t.yaml")
    assert time.thread_time() - start < 0.5
    assert loaded.template is None
    assert str(loaded.errors[0]).startswith(expected), loaded.errors


def test_bytes_that_are_not_text_or_too_many() -> None:
    assert [str(e) for e in parse_template(b"survey: x\n\xff\xfe\n", "t.yaml").errors] == [
        "t.yaml:2: not UTF-8 text"
    ]
    huge = b"survey: x\n" + b"# padding\n" * (LIMITS.file_bytes // 10)
    assert [str(e) for e in parse_template(huge, "t.yaml").errors] == [
        f"t.yaml:1: the file is {len(huge):,} bytes; a template has at most 65,536"
    ]


def test_a_file_at_the_limits_is_read_in_milliseconds() -> None:
    """The worst files the limits let through: the file handler reads them in the event's
    batch, so they must stay cheap (docs/appraisal.md gives the figures)."""
    flat = ("survey: x\nsections: [" + "a," * (LIMITS.file_bytes // 2 - 20) + "a]\n").encode()
    lines = b"survey: x\nsections:\n" + b"- a\n" * (LIMITS.file_bytes // 4 - 10)
    for data in (flat[: LIMITS.file_bytes], lines):
        best = min(_timed(data) for _ in range(5))
        assert best < 0.1, best


def _timed(data: bytes) -> float:
    start = time.thread_time()
    parse_template(data, "t.yaml")
    return time.thread_time() - start


def test_a_template_is_told_from_a_bank_by_its_first_key() -> None:
    for path in SHIPPED.glob("*.yaml"):
        assert is_template(path.read_bytes())
    bank = Path(__file__).parents[1] / "learning" / "banks" / "library.yaml"
    assert not is_template(bank.read_bytes())
    assert is_template(b"\xef\xbb\xbfsurvey: x\n") and is_template(b"# a note\nsurvey: x\n")
    assert not is_template(b"questions:\n  - survey: x\n")
    assert not is_template(b"bank: x\nquestions: []\n")


def test_the_example_in_the_docs_is_a_valid_template() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "appraisal.md").read_text(encoding="utf-8")
    example = doc.split("### The format", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = parse_template(example.encode(), "appraisal.md")
    assert loaded.errors == ()
    assert loaded.template is not None
    assert [q.kind for q in loaded.template.questions] == [Kind.SCALE, Kind.MULTIPLE, Kind.TEXT]
