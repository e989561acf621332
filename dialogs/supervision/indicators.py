"""Indicators (考核指标): the routine work every branch owes, as measurable items with a
cadence, a deadline, what counts as done and the rule for its colour.

They are written in YAML (docs/supervision.md, ``shipped/indicators.yaml``) and checked here:
the file is read with the bounded loader (``store.yamlload``) into plain values, validated by
the pydantic models below, and every problem is reported at the line of the value it is about.
A file with any problem gives no indicators at all. The repository keeps each indicator's
validated definition as JSON (``Indicator.model_dump``), so a board always rates what was
imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from store.yamlload import BoundedLoader, TooBig

KEY = r"^[a-z0-9][a-z0-9_-]{0,47}$"
UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Control characters and lone surrogates: no chat shows them and PostgreSQL refuses NUL."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How much an indicators file may ask of the machine that reads it."""

    file_bytes: int = 256 * 1024
    indicators: int = 200
    yaml_depth: int = 8
    yaml_aliases: int = 50
    yaml_nodes: int = 20_000
    field_chars: int = 2000
    errors: int = 100


LIMITS = Limits()


class Cadence(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    ONCE = "once"
    """Once, by ``due`` (a date)."""


class Colour(StrEnum):
    """A cell of the board, worst last (``RANK``)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    PENDING = "pending"
    """Not reported yet, and its deadline has not passed: no colour yet."""


RANK = {Colour.PENDING: 0, Colour.GREEN: 1, Colour.YELLOW: 2, Colour.RED: 3}


def worst(colours: list[Colour]) -> Colour:
    return max(colours, key=RANK.__getitem__, default=Colour.PENDING)


class Evidence(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    FILE = "file"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in both languages of the bot."""

    en: Annotated[str, Field(min_length=1, max_length=200)]
    zh_Hans: Annotated[str, Field(min_length=1, max_length=200)]

    def get(self, locale: str) -> str:
        return self.zh_Hans if locale == "zh_Hans" else self.en


class NumberSpec(_Strict):
    """A number the report asks for (attendance, say), in a range."""

    key: Annotated[str, Field(pattern=KEY)]
    label: Text
    min: int = 0
    max: int = Field(100_000, le=10_000_000)

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class Thresholds(_Strict):
    """The colour by a number: at least ``green`` is green, at least ``yellow`` yellow, else red."""

    number: Annotated[str, Field(pattern=KEY)]
    green: int
    yellow: int

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.yellow > self.green:
            raise ValueError("yellow is greater than green")
        return self


class Rule(_Strict):
    """How a report colours its cell: on time green, late ``late``; not reported by the
    deadline ``missing``; with ``thresholds``, the number decides, late at best ``late``."""

    late: Literal["green", "yellow", "red"] = "yellow"
    missing: Literal["yellow", "red"] = "red"
    thresholds: Thresholds | None = None


class Indicator(_Strict):
    key: Annotated[str, Field(pattern=KEY)]
    title: Text
    description: Text | None = None
    cadence: Cadence
    due: date | None = None
    """``once`` only: the day it is due."""
    grace_days: int = Field(0, ge=0, le=90)
    """Days after a period's last day until its deadline (a monthly item reported by the
    10th of the next month: 10)."""
    evidence: Annotated[list[Evidence], Field(min_length=1, max_length=3)] = [Evidence.TEXT]
    """What counts as done: at least one item of one of these kinds."""
    numbers: Annotated[list[NumberSpec], Field(max_length=5)] = []
    weight: int = Field(1, ge=1, le=100)
    colour: Rule = Rule()
    active: bool = True
    """``false`` retires an imported indicator: it leaves the board, its history stays."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.cadence == Cadence.ONCE) != (self.due is not None):
            raise ValueError("due (a date) is given exactly when cadence is once")
        if len(set(self.evidence)) != len(self.evidence):
            raise ValueError("evidence lists a kind twice")
        keys = [number.key for number in self.numbers]
        if len(set(keys)) != len(keys):
            raise ValueError("two numbers have the same key")
        rule = self.colour.thresholds
        if rule is not None and rule.number not in keys:
            raise ValueError(f"colour.thresholds.number {rule.number!r} is not one of numbers")
        return self


class IndicatorFile(_Strict):
    indicators: Annotated[list[Indicator], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys = [indicator.key for indicator in self.indicators]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"keys used twice: {', '.join(twice)}")
        return self


@dataclass(frozen=True, slots=True)
class FileError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Loaded:
    """What reading a file gave: indicators, or the problems that kept them out (never both)."""

    indicators: tuple[Indicator, ...]
    errors: tuple[FileError, ...] = ()


def _lines(
    node: yaml.Node, path: tuple[int | str, ...], into: dict[tuple[int | str, ...], int]
) -> None:
    """The line of every value in the node tree, by its path (mapping keys, sequence indexes)."""
    into[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                into[(*path, key.value)] = value.start_mark.line + 1
                _lines(value, (*path, key.value), into)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), into)


def _line(lines: dict[tuple[int | str, ...], int], location: tuple[int | str, ...]) -> int:
    """The line of the longest prefix of a pydantic error's location that the file has (a
    missing key is reported at its mapping)."""
    for end in range(len(location), -1, -1):
        found = lines.get(tuple(location[:end]))
        if found is not None:
            return found
    return 1


def _where(location: tuple[int | str, ...]) -> str:
    """``indicators[2].colour.thresholds`` from pydantic's location, without its union tags."""
    words = ""
    for part in location:
        if isinstance(part, int):
            words += f"[{part}]"
        elif part not in ("function-after",) and not part.startswith("function-"):
            words += f".{part}" if words else part
    return words


def parse(data: bytes, file: str, limits: Limits = LIMITS) -> Loaded:
    """Indicators from a file's bytes, or every problem found (each ``file:line``)."""
    if len(data) > limits.file_bytes:
        message = (
            f"the file is {len(data):,} bytes; an indicators file has at most {limits.file_bytes:,}"
        )
        return Loaded((), (FileError(file, 1, message),))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return Loaded(
            (), (FileError(file, data.count(b"\n", 0, error.start) + 1, "not UTF-8 text"),)
        )
    bad = UNSAFE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        return Loaded(
            (), (FileError(file, line, f"a control character ({ord(bad.group()):#04x})"),)
        )
    loader = BoundedLoader(text, limits)
    try:
        root = loader.get_single_node()
        value: Any = loader.construct_document(root) if root is not None else None
    except TooBig as error:
        return Loaded((), (FileError(file, error.line, error.message),))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or "the file"
        return Loaded((), (FileError(file, line, f"not valid YAML: {problem}"),))
    finally:
        loader.dispose()
    if root is None:
        return Loaded((), (FileError(file, 1, "the file is empty"),))
    lines: dict[tuple[int | str, ...], int] = {}
    _lines(root, (), lines)
    if isinstance(value, dict) and isinstance(value.get("indicators"), list):
        count = len(value["indicators"])
        if count > limits.indicators:
            message = f"{count} indicators; a file holds at most {limits.indicators}"
            return Loaded((), (FileError(file, lines.get(("indicators",), 1), message),))
    try:
        parsed = IndicatorFile.model_validate(value)
    except ValidationError as error:
        problems = [
            FileError(
                file,
                _line(lines, tuple(problem["loc"])),
                f"{_where(tuple(problem['loc'])) or 'the file'}: {problem['msg']}",
            )
            for problem in error.errors(include_url=False)[: limits.errors]
        ]
        return Loaded((), tuple(sorted(problems, key=lambda p: p.line)))
    return Loaded(tuple(parsed.indicators))


def load(path: Path, limits: Limits = LIMITS) -> Loaded:
    """An indicators file; its size is checked before it is read."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        message = (
            f"the file is {size:,} bytes; an indicators file has at most {limits.file_bytes:,}"
        )
        return Loaded((), (FileError(path.name, 1, message),))
    return parse(path.read_bytes(), path.name, limits)


SHIPPED = Path(__file__).parent / "shipped" / "indicators.yaml"
"""The usual cadence of 三会一课 and organisational life, documented, in both languages."""
