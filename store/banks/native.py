"""branchbot's own YAML: ``bank``, ``questions``, ``levels`` and ``lessons``."""

from __future__ import annotations

from typing import Any

import yaml

from store.banks.limits import LIMITS, Limits
from store.banks.model import (
    LESSON_ID,
    BadQuestion,
    Bank,
    BankError,
    ParsedLesson,
    ParsedLevel,
    build_question,
)
from store.yamlload import BoundedLoader


def _load(text: str, limits: Limits) -> tuple[Any, yaml.Node | None]:
    loader = BoundedLoader(text, limits)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        return loader.construct_document(root), root
    finally:
        loader.dispose()


def _lines_of(root: yaml.Node | None, section: str) -> list[int]:
    """The line of each item of a top-level list, from the YAML node tree."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == section and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_yaml(text: str, name: str, file: str, limits: Limits = LIMITS) -> Bank:
    """branchbot's own format: ``bank``, ``questions``, ``levels`` and ``lessons``."""
    try:
        data, root = _load(text, limits)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return Bank(name, errors=[BankError(file, line, f"not valid YAML: {error}")])
    except (ValueError, TypeError, OverflowError) as error:
        # The safe constructor's own checks (a date like 2026-13-45) raise these.
        return Bank(name, errors=[BankError(file, 1, f"not valid YAML: {error}")])
    if not isinstance(data, dict):
        return Bank(name, errors=[BankError(file, 1, "expected keys bank, questions, …")])
    bank = Bank(str(data.get("bank") or name))
    unknown = set(map(str, data)) - {"bank", "questions", "levels", "lessons"}
    if unknown:
        bank.errors.append(BankError(file, 1, f"unknown keys: {', '.join(sorted(unknown))}"))
    sections: dict[str, list[Any]] = {}
    for section in ("questions", "levels", "lessons"):
        items = data.get(section) or []
        if not isinstance(items, list):
            bank.errors.append(BankError(file, 1, f"{section} must be a list"))
            items = []
        sections[section] = items
    for section, handler in (
        ("questions", _yaml_question),
        ("levels", _yaml_level),
        ("lessons", _yaml_lesson),
    ):
        lines = _lines_of(root, section)
        for index, item in enumerate(sections[section]):
            line = lines[index] if index < len(lines) else 1
            if not isinstance(item, dict):
                bank.errors.append(BankError(file, line, f"each of {section} must be a mapping"))
                continue
            try:
                handler(bank, item, line)
            except BadQuestion as error:
                bank.errors.append(BankError(file, line, str(error)))
    numbers = sorted(level.number for level in bank.levels)
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        bank.errors.append(BankError(file, 1, "levels must be numbered 1, 2, 3, … without gaps"))
    return bank


def _text(item: dict[str, Any], key: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        if required:
            raise BadQuestion(f"{key} is missing")
        return ""
    return str(value).strip()


def _count(item: dict[str, Any], key: str, low: int, high: int, default: int) -> int:
    value = item.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadQuestion(f"{key} must be a whole number from {low} to {high}")
    return value


def _yaml_question(bank: Bank, item: dict[str, Any], line: int) -> None:
    unknown = set(item) - {
        "id",
        "type",
        "text",
        "options",
        "answer",
        "explanation",
        "category",
        "difficulty",
        "feedback",
    }
    if unknown:
        raise BadQuestion(f"unknown keys: {', '.join(sorted(unknown))}")
    options = item.get("options") or []
    feedback = item.get("feedback") or []
    if not isinstance(options, list) or not isinstance(feedback, list):
        raise BadQuestion("options and feedback must be lists")
    answer = item.get("answer")
    if isinstance(answer, list):
        answer = ("," if options else "|").join(str(a) for a in answer)
    bank.questions.append(
        build_question(
            _text(item, "text"),
            [str(o) for o in options],
            answer,
            line,
            kind=str(item.get("type") or ""),
            key=str(item.get("id") or ""),
            explanation=str(item.get("explanation") or ""),
            category=str(item.get("category") or ""),
            difficulty=item.get("difficulty", 1),
            feedback=[str(f or "") for f in feedback],
        )
    )


def _yaml_level(bank: Bank, item: dict[str, Any], line: int) -> None:
    bank.levels.append(
        ParsedLevel(
            _count(item, "number", 1, 999, 0),
            _text(item, "title")[:128],
            _text(item, "category")[:64],
            _count(item, "questions", 1, 50, 5),
            _count(item, "pass", 1, 100, 60),
            line,
        )
    )


def _yaml_lesson(bank: Bank, item: dict[str, Any], line: int) -> None:
    key = _text(item, "id")
    if not LESSON_ID.match(key):
        raise BadQuestion(
            f"lesson id {key!r} may only use letters, digits, '_' and '-' (at most 32)"
        )
    link = _text(item, "link", required=False)
    if link and not link.startswith(("https://", "http://")):
        raise BadQuestion("link must start with https:// or http://")
    bank.lessons.append(
        ParsedLesson(
            key,
            _text(item, "title")[:128],
            _text(item, "text"),
            link[:512],
            _text(item, "category")[:64],
            _count(item, "questions", 1, 20, 3),
            line,
        )
    )
