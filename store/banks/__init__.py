"""Question bank files: Aiken, GIFT, CSV, XLSX and branchbot's YAML, parsed into dataclasses.

Parsing is pure: a file becomes a ``Bank`` (questions, levels, lessons) plus a list of errors,
each with the file and line it came from. Nothing here touches the database;
``store.learning.Learning.import_bank`` upserts a parsed bank. docs/learning.md documents the
formats.
"""

from __future__ import annotations

from pathlib import Path

from store.banks.aiken import parse_aiken
from store.banks.gift import parse_gift
from store.banks.model import (
    DEFAULT_BANK,
    Bank,
    BankError,
    ParsedLesson,
    ParsedLevel,
    ParsedQuestion,
    normalize,
    question_key,
)
from store.banks.native import parse_yaml
from store.banks.table import parse_csv, parse_xlsx

__all__ = [
    "DEFAULT_BANK",
    "FORMATS",
    "Bank",
    "BankError",
    "ParsedLesson",
    "ParsedLevel",
    "ParsedQuestion",
    "load",
    "normalize",
    "parse_file",
    "question_key",
]

FORMATS = (".txt", ".aiken", ".gift", ".csv", ".xlsx", ".yaml", ".yml")


def load(path: Path, bank: str | None = None) -> Bank:
    """Parse a bank file by its extension; unknown extensions are one error."""
    return parse_file(path.name, path.read_bytes(), bank)


def parse_file(file: str, data: bytes, bank: str | None = None) -> Bank:
    """Parse a bank from its bytes, by the extension of ``file`` (a file sent in a chat)."""
    path = Path(file)
    name = bank or DEFAULT_BANK
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        return Bank(name, errors=[BankError(file, 1, f"unknown format; use {', '.join(FORMATS)}")])
    if suffix == ".xlsx":
        return _finish(parse_xlsx(data, name, file), file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves CSV as GBK; GB18030 reads GBK and GB2312 too.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            return Bank(name, errors=[BankError(file, 1, "the file is not UTF-8 or GB18030 text")])
    parser = {
        ".txt": parse_aiken,
        ".aiken": parse_aiken,
        ".gift": parse_gift,
        ".csv": parse_csv,
        ".yaml": parse_yaml,
        ".yml": parse_yaml,
    }[suffix]
    return _finish(parser(text, name, file), file)


def _finish(bank: Bank, file: str) -> Bank:
    """Give keyless questions their hash key; a second question with the same key is an error
    (and is left out, so ``--skip-bad`` still imports each key once)."""
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
    return bank
