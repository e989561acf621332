"""Survey templates: the model every round is built from, and the YAML loader that checks it.

A template is a tree of frozen dataclasses (``Template`` → ``Section`` → ``Question``) whose
every text is bilingual (``Text``). It is read from YAML (``parse_template``, ``load_template``)
and stored as JSON (``Template.to_json`` / ``Template.from_json``): the repository keeps the
validated definition, so a round always answers the questions it was opened with.

Reading is bounded before anything grows (``TemplateLimits``): the file's bytes, the YAML
nesting, aliases and expanded nodes are counted while the node tree is composed, and the
questions, options and text lengths while it is checked, so a file at the limits is about
10 ms of work and a hostile one is one ``file:line`` error. Every problem is listed with
the line of the node it is about (the YAML marks), and a file with any problem gives no
template at all. docs/appraisal.md documents the format and the limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from store.yamlload import BoundedLoader, TooBig

GRADES = ("excellent", "competent", "basically_competent", "not_competent")
"""The four grades of ``grade_members`` (优秀 / 合格 / 基本合格 / 不合格), best first."""

TEXT_LOCALES = ("en", "zh_Hans")
"""Every text of a template is written in both languages: members choose theirs (``/lang``)."""

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
"""A template's or a question's key: it names the template in commands and the question in
stored answers, so it is short, lower case and never translated."""
UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""NUL, other control characters and lone surrogates: no chat shows them and PostgreSQL
refuses NUL, so a file holding one is refused at its line."""
SCALE_POINTS = (5, 10)
"""A scale runs from 1 to 5 or from 1 to 10."""


class Kind(StrEnum):
    SCALE = "scale"
    """A number from 1 to ``scale.high``, with labels for at least both ends."""
    SINGLE = "single"
    """One of ``options``."""
    MULTIPLE = "multiple"
    """From ``min_choices`` to ``max_choices`` of ``options``."""
    TEXT = "text"
    """Free text of ``min_length`` to ``max_length`` characters."""
    GRADE_MEMBERS = "grade_members"
    """A grade (``GRADES``) for every other eligible member of the answerer's branch; at most
    one such question per template. The excellent quota comes from the config."""


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """How much a template file may ask of the machine that reads it (docs/appraisal.md)."""

    file_bytes: int = 64 * 1024
    sections: int = 20
    questions: int = 100
    """In the whole template."""
    options: int = 20
    """Of one ``single`` or ``multiple`` question."""
    text_chars: int = 1000
    """A question's text, in each language."""
    label_chars: int = 200
    """A title, an option or a scale label, in each language."""
    answer_chars: int = 4000
    """The most a ``text`` question's ``max_length`` may allow."""
    yaml_depth: int = 10
    yaml_aliases: int = 50
    yaml_nodes: int = 3_000
    """YAML nodes with every alias expanded."""
    field_chars: int = 64 * 1024
    """Any one YAML scalar (the texts have their own, smaller limits, checked with a line)."""
    errors: int = 100
    """Problems listed before checking stops."""


LIMITS = TemplateLimits()


@dataclass(frozen=True, slots=True)
class Text:
    """A text in both languages of the bot."""

    en: str
    zh_Hans: str

    def get(self, locale: str) -> str:
        """The text in ``locale``; English for any other language."""
        return self.zh_Hans if locale == "zh_Hans" else self.en

    def to_json(self) -> dict[str, str]:
        return {"en": self.en, "zh_Hans": self.zh_Hans}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Text:
        return cls(en=str(data["en"]), zh_Hans=str(data["zh_Hans"]))


@dataclass(frozen=True, slots=True)
class Scale:
    low: int
    high: int
    labels: tuple[tuple[int, Text], ...]
    """``(point, label)`` by point; both ends always have one."""

    def label(self, point: int) -> Text | None:
        return next((text for at, text in self.labels if at == point), None)

    @property
    def points(self) -> range:
        return range(self.low, self.high + 1)


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    kind: Kind
    text: Text
    required: bool = True
    options: tuple[Text, ...] = ()
    """``single`` and ``multiple``: answered by index into this tuple."""
    scale: Scale | None = None
    """``scale`` only."""
    min_choices: int = 0
    max_choices: int = 0
    """``multiple`` only: how many options an answer has, ``1 ≤ min ≤ max ≤ len(options)``."""
    min_length: int = 0
    max_length: int = 0
    """``text`` only: characters of an answer, ``0 ≤ min ≤ max``."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind.value,
            "text": self.text.to_json(),
            "required": self.required,
        }
        if self.options:
            data["options"] = [option.to_json() for option in self.options]
        if self.scale is not None:
            data["scale"] = {
                "low": self.scale.low,
                "high": self.scale.high,
                "labels": [[point, text.to_json()] for point, text in self.scale.labels],
            }
        if self.kind is Kind.MULTIPLE:
            data["min_choices"], data["max_choices"] = self.min_choices, self.max_choices
        if self.kind is Kind.TEXT:
            data["min_length"], data["max_length"] = self.min_length, self.max_length
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Question:
        scale = data.get("scale")
        return cls(
            key=str(data["key"]),
            kind=Kind(data["kind"]),
            text=Text.from_json(data["text"]),
            required=bool(data["required"]),
            options=tuple(Text.from_json(option) for option in data.get("options", ())),
            scale=None
            if scale is None
            else Scale(
                int(scale["low"]),
                int(scale["high"]),
                tuple((int(point), Text.from_json(text)) for point, text in scale["labels"]),
            ),
            min_choices=int(data.get("min_choices", 0)),
            max_choices=int(data.get("max_choices", 0)),
            min_length=int(data.get("min_length", 0)),
            max_length=int(data.get("max_length", 0)),
        )


@dataclass(frozen=True, slots=True)
class Section:
    title: Text
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    version: int
    """0 as read from a file; the repository numbers each import of a key 1, 2, 3, …"""
    title: Text
    sections: tuple[Section, ...]

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every question in the order they are asked."""
        return tuple(question for section in self.sections for question in section.questions)

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    @property
    def grading(self) -> Question | None:
        """The ``grade_members`` question, if the template has one."""
        return next((q for q in self.questions if q.kind is Kind.GRADE_MEMBERS), None)

    def to_json(self) -> dict[str, Any]:
        """The definition as JSON-ready data (what the repository stores)."""
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title.to_json(),
            "sections": [
                {
                    "title": section.title.to_json(),
                    "questions": [question.to_json() for question in section.questions],
                }
                for section in self.sections
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Template:
        """A stored definition (validated when it was imported) back as a template."""
        return cls(
            key=str(data["key"]),
            version=int(data["version"]),
            title=Text.from_json(data["title"]),
            sections=tuple(
                Section(
                    Text.from_json(section["title"]),
                    tuple(Question.from_json(question) for question in section["questions"]),
                )
                for section in data["sections"]
            ),
        )


@dataclass(frozen=True, slots=True)
class TemplateError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What reading a file gave: a template, or the problems that kept it out (never both)."""

    template: Template | None
    errors: tuple[TemplateError, ...] = ()


class _TooMany(Exception):
    """``TemplateLimits.errors`` problems found: checking stops."""


FILE_SEPARATOR = ", "


def _words(words: Iterable[str]) -> str:
    """Keys and kinds listed in a problem: the YAML's own words, so its messages are English
    whatever the reader's language (as the bank parsers' are)."""
    return FILE_SEPARATOR.join(words)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


TEMPLATE_KEYS = {"survey", "title", "sections"}
SECTION_KEYS = {"title", "questions"}
QUESTION_KEYS = {
    Kind.SCALE: {"points", "labels"},
    Kind.SINGLE: {"options"},
    Kind.MULTIPLE: {"options", "min_choices", "max_choices"},
    Kind.TEXT: {"min_length", "max_length"},
    Kind.GRADE_MEMBERS: set[str](),
}
"""The keys each kind takes besides ``key``, ``kind``, ``text`` and ``required``."""
DEFAULT_MAX_LENGTH = 1000


@dataclass
class _Checker:
    """Reads the node tree of one file into a template, noting every problem with its line."""

    file: str
    limits: TemplateLimits
    errors: list[TemplateError] = field(default_factory=list)
    questions: int = 0
    keys: dict[str, int] = field(default_factory=dict)
    """The line of each question key seen so far."""
    grading: int | None = None
    """The line of the ``grade_members`` question, once seen."""

    def problem(self, node: yaml.Node | int, message: str) -> None:
        line = node if isinstance(node, int) else _line(node)
        self.errors.append(TemplateError(self.file, line, message))
        if len(self.errors) >= self.limits.errors:
            raise _TooMany

    def mapping(
        self, node: yaml.Node, what: str, allowed: set[str], required: set[str]
    ) -> dict[str, yaml.Node] | None:
        """A mapping's values by key; unknown, repeated and missing keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what} must be a mapping of keys ({_words(sorted(required))})")
            return None
        values: dict[str, yaml.Node] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.problem(key, f"{what}: a key must be a plain word")
                continue
            if key.value in values:
                self.problem(key, f"{what}: {key.value} appears twice")
                continue
            if key.value not in allowed:
                self.problem(key, f"{what}: unknown key {key.value!r}")
                continue
            values[key.value] = value
        for missing in sorted(required - set(values)):
            self.problem(node, f"{what}: {missing} is missing")
        return values

    def sequence(
        self, node: yaml.Node, what: str, most: int, too_many: str = ""
    ) -> list[yaml.Node]:
        """A list's items; an empty list or one of more than ``most`` is a problem (reported
        at the first item too many, as ``too_many`` when given)."""
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.problem(node, f"{what} must be a list of at least one item")
            return []
        if len(node.value) > most:
            self.problem(node.value[most], too_many or f"{what}: more than {most}")
            return []
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} must be a single value")
            return None
        return str(node.value)

    def key(self, node: yaml.Node, what: str) -> str | None:
        value = self.scalar(node, what)
        if value is not None and not KEY.match(value):
            self.problem(
                node,
                f"{what} {value[:40]!r} may only use a-z, 0-9, '_' and '-' (at most 32, "
                "starting with a letter or digit)",
            )
            return None
        return value

    def number(self, node: yaml.Node, what: str, low: int, high: int) -> int | None:
        value = self.scalar(node, what)
        if value is None:
            return None
        if node.tag != "tag:yaml.org,2002:int" or not value.isdigit() or len(value) > 6:
            self.problem(node, f"{what} must be a whole number from {low} to {high}")
            return None
        if not low <= int(value) <= high:
            self.problem(node, f"{what} must be a whole number from {low} to {high}")
            return None
        return int(value)

    def flag(self, node: yaml.Node, what: str) -> bool | None:
        value = self.scalar(node, what)
        if value is None:
            return None
        if node.tag != "tag:yaml.org,2002:bool":
            self.problem(node, f"{what} must be true or false")
            return None
        return value.lower() in ("true", "yes", "on", "y")

    def text(self, node: yaml.Node, what: str, chars: int) -> Text | None:
        """A bilingual text: a mapping with ``en`` and ``zh_Hans``, neither empty."""
        if isinstance(node, yaml.ScalarNode):
            self.problem(node, f"{what} needs both languages: {{en: …, zh_Hans: …}}")
            return None
        values = self.mapping(node, what, set(TEXT_LOCALES), set(TEXT_LOCALES))
        if values is None:
            return None
        texts: dict[str, str] = {}
        for locale, value_node in values.items():
            value = self.scalar(value_node, f"{what} ({locale})")
            if value is None:
                continue
            value = value.strip()
            if not value:
                self.problem(value_node, f"{what} ({locale}) is empty")
            elif len(value) > chars:
                self.problem(value_node, f"{what} ({locale}) is longer than {chars} characters")
            else:
                texts[locale] = value
        if len(texts) < len(TEXT_LOCALES):
            return None
        return Text(en=texts["en"], zh_Hans=texts["zh_Hans"])

    def template(self, root: yaml.Node) -> Template | None:
        values = self.mapping(root, "the template", TEMPLATE_KEYS, TEMPLATE_KEYS)
        if values is None:
            return None
        key = self.key(values["survey"], "survey") if "survey" in values else None
        title = (
            self.text(values["title"], "title", self.limits.label_chars)
            if "title" in values
            else None
        )
        sections: list[Section | None] = []
        if "sections" in values:
            for node in self.sequence(values["sections"], "sections", self.limits.sections):
                sections.append(self.section(node))
        if key is None or title is None or not sections or None in sections:
            return None
        return Template(key, 0, title, tuple(s for s in sections if s is not None))

    def section(self, node: yaml.Node) -> Section | None:
        values = self.mapping(node, "a section", SECTION_KEYS, SECTION_KEYS)
        if values is None:
            return None
        title = (
            self.text(values["title"], "section title", self.limits.label_chars)
            if "title" in values
            else None
        )
        questions: list[Question | None] = []
        if "questions" in values:
            too_many = f"the template has more than {self.limits.questions} questions"
            items = self.sequence(values["questions"], "questions", self.limits.questions, too_many)
            room = self.limits.questions - self.questions
            self.questions += len(items)
            if len(items) > room:
                self.problem(items[room], too_many)
                return None
            questions = [self.question(item) for item in items]
        if title is None or not questions or None in questions:
            return None
        return Section(title, tuple(q for q in questions if q is not None))

    def question(self, node: yaml.Node) -> Question | None:
        common = {"key", "kind", "text", "required"}
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "a question must be a mapping (key, kind, text, …)")
            return None
        kind_node = next((v for k, v in node.value if k.value == "kind"), None)
        kind: Kind | None = None
        if kind_node is not None:
            value = self.scalar(kind_node, "kind")
            if value is not None and value in {k.value for k in Kind}:
                kind = Kind(value)
            elif value is not None:
                self.problem(kind_node, f"kind must be one of {_words(Kind)}")
        extra = QUESTION_KEYS[kind] if kind else set().union(*QUESTION_KEYS.values())
        values = self.mapping(node, "a question", common | extra, {"key", "kind", "text"})
        if values is None or kind is None:
            return None
        key = self.key(values["key"], "key") if "key" in values else None
        if key is not None and key in self.keys:
            self.problem(values["key"], f"key {key} is used twice (first at line {self.keys[key]})")
            key = None
        elif key is not None:
            self.keys[key] = _line(values["key"])
        if kind is Kind.GRADE_MEMBERS and self.grading is not None:
            message = f"a template has at most one grade_members question (line {self.grading})"
            self.problem(node, message)
            return None
        if kind is Kind.GRADE_MEMBERS:
            self.grading = _line(node)
        text = (
            self.text(values["text"], "text", self.limits.text_chars) if "text" in values else None
        )
        required = self.flag(values["required"], "required") if "required" in values else True
        body = _KIND_READERS[kind](self, node, values)
        if key is None or text is None or required is None or body is None:
            return None
        return Question(key, kind, text, required, **body)

    def options(self, values: dict[str, yaml.Node], node: yaml.Node) -> tuple[Text, ...] | None:
        if "options" not in values:
            self.problem(node, "a question: options is missing")
            return None
        items = self.sequence(values["options"], "options", self.limits.options)
        if len(items) == 1:
            self.problem(items[0], "options: at least two")
            return None
        texts = [self.text(item, "an option", self.limits.label_chars) for item in items]
        if not items or None in texts:
            return None
        return tuple(t for t in texts if t is not None)

    def scale_body(self, node: yaml.Node, values: dict[str, yaml.Node]) -> dict[str, Any] | None:
        high = self._points(values, node)
        if "labels" not in values:
            self.problem(node, "a scale question: labels is missing (at least for both ends)")
            return None
        labels_node = values["labels"]
        if not isinstance(labels_node, yaml.MappingNode) or not labels_node.value:
            self.problem(labels_node, "labels must map points to texts (1: {en: …, zh_Hans: …})")
            return None
        labels: dict[int, Text] = {}
        broken = False
        for point_node, label_node in labels_node.value:
            point = self.number(point_node, "a label's point", 1, high or max(SCALE_POINTS))
            label = self.text(label_node, "a label", self.limits.label_chars)
            if point is not None and point in labels:
                self.problem(point_node, f"labels: point {point} appears twice")
                broken = True
            elif point is None or label is None:
                broken = True
            else:
                labels[point] = label
        if high is None or broken:
            return None
        if 1 not in labels or high not in labels:
            self.problem(labels_node, f"labels: both ends need one (1 and {high})")
            return None
        return {"scale": Scale(1, high, tuple(sorted(labels.items())))}

    def _points(self, values: dict[str, yaml.Node], node: yaml.Node) -> int | None:
        if "points" not in values:
            self.problem(node, "a scale question: points is missing (5 or 10)")
            return None
        points = self.scalar(values["points"], "points")
        if points is None:
            return None
        if points not in {str(p) for p in SCALE_POINTS}:
            self.problem(
                values["points"], "points must be 5 or 10 (a scale from 1 to 5 or 1 to 10)"
            )
            return None
        return int(points)

    def single_body(self, node: yaml.Node, values: dict[str, yaml.Node]) -> dict[str, Any] | None:
        options = self.options(values, node)
        return None if options is None else {"options": options}

    def multiple_body(self, node: yaml.Node, values: dict[str, yaml.Node]) -> dict[str, Any] | None:
        options = self.options(values, node)
        most = len(options) if options else self.limits.options
        low = (
            self.number(values["min_choices"], "min_choices", 1, most)
            if ("min_choices" in values)
            else 1
        )
        high = (
            self.number(values["max_choices"], "max_choices", 1, most)
            if ("max_choices" in values)
            else most
        )
        if options is None or low is None or high is None:
            return None
        if low > high:
            self.problem(values.get("min_choices", node), "min_choices is more than max_choices")
            return None
        return {"options": options, "min_choices": low, "max_choices": high}

    def text_body(self, node: yaml.Node, values: dict[str, yaml.Node]) -> dict[str, Any] | None:
        most = self.limits.answer_chars
        low = (
            self.number(values["min_length"], "min_length", 0, most)
            if ("min_length" in values)
            else 0
        )
        high = (
            self.number(values["max_length"], "max_length", 1, most)
            if ("max_length" in values)
            else DEFAULT_MAX_LENGTH
        )
        if low is None or high is None:
            return None
        if low > high:
            self.problem(values.get("min_length", node), "min_length is more than max_length")
            return None
        return {"min_length": low, "max_length": high}

    def grade_body(self, node: yaml.Node, values: dict[str, yaml.Node]) -> dict[str, Any] | None:
        return {}


_KIND_READERS: dict[
    Kind, Callable[[_Checker, yaml.Node, dict[str, yaml.Node]], dict[str, Any] | None]
] = {
    Kind.SCALE: _Checker.scale_body,
    Kind.SINGLE: _Checker.single_body,
    Kind.MULTIPLE: _Checker.multiple_body,
    Kind.TEXT: _Checker.text_body,
    Kind.GRADE_MEMBERS: _Checker.grade_body,
}


def _decoded(data: bytes, file: str, limits: TemplateLimits) -> str | TemplateError:
    if len(data) > limits.file_bytes:
        return TemplateError(
            file,
            1,
            f"the file is {len(data):,} bytes; a template has at most {limits.file_bytes:,}",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return TemplateError(file, line, "not UTF-8 text")
    bad = UNSAFE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        return TemplateError(file, line, f"a control character ({ord(bad.group()):#04x})")
    return text


def _compose(text: str, file: str, limits: TemplateLimits) -> yaml.Node | TemplateError | None:
    composer = BoundedLoader(text, limits)
    try:
        return composer.get_single_node()
    except TooBig as error:
        return TemplateError(file, error.line, error.message)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or "the file"
        return TemplateError(file, line, f"not valid YAML: {problem}")
    finally:
        composer.dispose()


def parse_template(data: bytes, file: str, limits: TemplateLimits = LIMITS) -> Loaded:
    """A template from a file's bytes, or every problem found (each ``file:line``)."""
    text = _decoded(data, file, limits)
    if isinstance(text, TemplateError):
        return Loaded(None, (text,))
    root = _compose(text, file, limits)
    if isinstance(root, TemplateError):
        return Loaded(None, (root,))
    if root is None:
        return Loaded(None, (TemplateError(file, 1, "the file is empty"),))
    checker = _Checker(file, limits)
    try:
        template = checker.template(root)
    except _TooMany:
        template = None
    if checker.errors or template is None:
        return Loaded(None, tuple(sorted(checker.errors, key=lambda error: error.line)))
    return Loaded(template)


def load_template(path: Path, limits: TemplateLimits = LIMITS) -> Loaded:
    """A template file; its size is checked before it is read."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        message = f"the file is {size:,} bytes; a template has at most {limits.file_bytes:,}"
        return Loaded(None, (TemplateError(path.name, 1, message),))
    return parse_template(path.read_bytes(), path.name, limits)


SURVEY_KEYS = (b"survey:", b'"survey":', b"'survey':", b"\xef\xbb\xbfsurvey:")
"""How a template's top-level ``survey`` key starts its line (a BOM may precede it)."""


def is_template(data: bytes, limits: TemplateLimits = LIMITS) -> bool:
    """Whether a YAML file is meant as a template: a line of its first ``file_bytes`` starts
    with the top-level key ``survey:``. Cheap and bounded, for a file handler that must leave
    question banks (``bank:``, ``questions:``) to the learning feature."""
    head = data[: limits.file_bytes]
    return any(line.startswith(SURVEY_KEYS) for line in head.splitlines())
