"""Question bank files: Aiken, GIFT, CSV, XLSX and branchbot's YAML, parsed into dataclasses.

Parsing is pure: a file becomes a ``Bank`` (questions, levels, lessons) plus a list of errors,
each with the file and line it came from. Every format is read within one ``Limits`` record
(``limits``), checked while reading, so a hostile file is one ``file:line`` error rather than a
traceback or a frozen process; ``sandbox`` runs the same parse in a child process with CPU,
memory and wall-clock limits. Nothing here touches the database;
``store.learning.Learning.import_bank`` upserts a parsed bank. docs/learning.md documents the
formats and the limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from store.banks.aiken import parse_aiken
from store.banks.gift import parse_gift
from store.banks.limits import LIMITS, Limits, TooBig
from store.banks.model import (
    DEFAULT_BANK,
    Bank,
    BankError,
    ParsedLesson,
    ParsedLevel,
    ParsedQuestion,
    bank_name_problem,
    normalize,
    question_key,
    shown,
    text_problem,
)
from store.banks.native import parse_yaml
from store.banks.table import parse_csv, parse_xlsx

__all__ = [
    "DEFAULT_BANK",
    "FORMATS",
    "LIMITS",
    "Bank",
    "BankError",
    "Limits",
    "ParsedLesson",
    "ParsedLevel",
    "ParsedQuestion",
    "bank_name_problem",
    "load",
    "normalize",
    "parse_file",
    "question_key",
    "shown",
]

FORMATS = (".txt", ".aiken", ".gift", ".csv", ".xlsx", ".yaml", ".yml")
_TEXT_PARSERS = {
    ".txt": parse_aiken,
    ".aiken": parse_aiken,
    ".gift": parse_gift,
    ".csv": parse_csv,
    ".yaml": parse_yaml,
    ".yml": parse_yaml,
}


def load(path: Path, bank: str | None = None, limits: Limits = LIMITS) -> Bank:
    """Parse a bank file by its extension; unknown extensions are one error. The size is
    checked before the file is read."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        return Bank(bank or DEFAULT_BANK, errors=[_too_big(path.name, size, limits)])
    return parse_file(path.name, path.read_bytes(), bank, limits)


def _too_big(file: str, size: int, limits: Limits) -> BankError:
    return BankError(file, 1, f"the file is {size:,} bytes; at most {limits.file_bytes:,}")


def parse_file(file: str, data: bytes, bank: str | None = None, limits: Limits = LIMITS) -> Bank:
    """Parse a bank from its bytes, by the extension of ``file`` (a file sent in a chat).
    A file past a limit is refused as a whole: one error and nothing to import."""
    name = bank or DEFAULT_BANK
    if len(data) > limits.file_bytes:
        return Bank(name, errors=[_too_big(file, len(data), limits)])
    try:
        parsed = _parse(file, data, name, limits)
    except TooBig as refused:
        return Bank(name, errors=[BankError(file, refused.line, refused.message)])
    return _finish(parsed, file, limits)


def _parse(file: str, data: bytes, name: str, limits: Limits) -> Bank:
    suffix = Path(file).suffix.lower()
    if suffix not in FORMATS:
        return Bank(name, errors=[BankError(file, 1, f"unknown format; use {', '.join(FORMATS)}")])
    if suffix == ".xlsx":
        return parse_xlsx(data, name, file, limits)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves CSV as GBK; GB18030 reads GBK and GB2312 too.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            return Bank(name, errors=[BankError(file, 1, "the file is not UTF-8 or GB18030 text")])
    return _TEXT_PARSERS[suffix](text, name, file, limits)


def _texts(item: ParsedQuestion | ParsedLevel | ParsedLesson) -> list[str]:
    if isinstance(item, ParsedQuestion):
        return [
            item.key,
            item.text,
            item.explanation,
            item.category,
            *item.options,
            *item.feedback,
            *(a for a in item.answers if isinstance(a, str)),
        ]
    if isinstance(item, ParsedLevel):
        return [item.title, item.category]
    return [item.key, item.title, item.text, item.link, item.category]


def _clean(items: list[Any], file: str, bank: Bank, limits: Limits) -> list[Any]:
    """Leave out (with an error at its line) whatever holds text no store or chat can take."""
    kept = []
    for item in items:
        problem = next(
            (p for p in (text_problem(t, limits.field_chars) for t in _texts(item)) if p), None
        )
        if problem:
            bank.errors.append(BankError(file, item.line, problem))
        else:
            kept.append(item)
    return kept


def _finish(bank: Bank, file: str, limits: Limits) -> Bank:
    """Check what every format shares: the bank name, the text of every item, the number of
    questions and of errors. Give keyless questions their hash key; a second question with the
    same key is an error (and is left out, so ``--skip-bad`` still imports each key once)."""
    problem = bank_name_problem(bank.name)
    if problem:
        return Bank(DEFAULT_BANK, errors=[BankError(file, 1, problem)])
    if len(bank.questions) > limits.questions:
        line = bank.questions[limits.questions].line
        message = f"more than {limits.questions:,} questions; split the file"
        return Bank(bank.name, errors=[BankError(file, line, message)])
    bank.questions = _clean(bank.questions, file, bank, limits)
    bank.levels = _clean(bank.levels, file, bank, limits)
    bank.lessons = _clean(bank.lessons, file, bank, limits)
    seen: dict[str, int] = {}
    kept: list[ParsedQuestion] = []
    for question in bank.questions:
        question.key = question.key or question_key(bank.name, question.text)
        if question.key in seen:
            message = f"same question (or id) as line {seen[question.key]}"
            bank.errors.append(BankError(file, question.line, message))
            continue
        seen[question.key] = question.line
        kept.append(question)
    bank.questions = kept
    if len(bank.errors) > limits.errors:
        rest = len(bank.errors) - limits.errors
        bank.errors = bank.errors[: limits.errors]
        bank.errors.append(BankError(file, bank.errors[-1].line, f"… and {rest:,} more problems"))
    return bank
