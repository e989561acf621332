"""What every bank format parses into, and the checks every question passes."""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from dataclasses import dataclass, field
from typing import Any

KINDS = ("single", "multiple", "truefalse", "fill")
LETTERS = string.ascii_uppercase[:6]
TRUE_WORDS = {"true", "t", "yes", "y", "对", "正确", "是"}
FALSE_WORDS = {"false", "f", "no", "n", "错", "错误", "否"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
LESSON_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""What fits a deep link's payload (Telegram allows letters, digits, ``_`` and ``-``)."""
UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""NUL, other control characters and lone surrogates: PostgreSQL refuses NUL in text, SQLite
stores it, and no chat platform can show any of them, so they are errors in every format."""
BANK_NAME_CHARS = 64


def normalize(text: str) -> str:
    """Compare fill-in answers kindly: NFKC folds full-width forms, then case, spaces and
    punctuation are dropped (``Ｄｅｗｅｙ-Decimal!`` equals ``dewey decimal``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if not unicodedata.category(c).startswith(("P", "Z", "S")))


@dataclass(slots=True)
class ParsedQuestion:
    text: str
    kind: str
    options: list[str]
    answers: list[Any]
    """Indexes of right options; for fill-in, the accepted answers."""
    line: int
    key: str = ""
    explanation: str = ""
    category: str = ""
    difficulty: int = 1
    feedback: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ParsedLevel:
    number: int
    title: str
    category: str
    questions: int
    pass_mark: int
    line: int


@dataclass(slots=True)
class ParsedLesson:
    key: str
    title: str
    text: str
    link: str
    category: str
    questions: int
    line: int


@dataclass(frozen=True, slots=True)
class BankError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(slots=True)
class Bank:
    name: str
    questions: list[ParsedQuestion] = field(default_factory=list)
    levels: list[ParsedLevel] = field(default_factory=list)
    lessons: list[ParsedLesson] = field(default_factory=list)
    errors: list[BankError] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """Whether anything at all could be read (a broken file or a PDF: nothing)."""
        return bool(self.questions or self.levels or self.lessons)


DEFAULT_BANK = "default"
"""The bank of a file that names none (YAML's ``bank:``, ``--bank``). Never the file's name:
``bank (1).xlsx`` sent again must update the same questions, not add copies."""


def text_problem(value: str, limit: int) -> str | None:
    """Why ``value`` cannot be stored as bank text, or None."""
    if len(value) > limit:
        return f"a value is longer than {limit:,} characters"
    bad = UNSAFE.search(value)
    if bad:
        return f"the text contains the control character U+{ord(bad.group()):04X}"
    return None


def shown(text: str, limit: int = 300) -> str:
    """A message as a terminal or a chat can show it: bounded, no control characters (a
    parser's message may quote what the file said)."""
    text = UNSAFE.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bank_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a bank, or None."""
    if not name.strip():
        return "the bank name is empty"
    if len(name) > BANK_NAME_CHARS:
        return f"the bank name is longer than {BANK_NAME_CHARS} characters"
    return text_problem(name, BANK_NAME_CHARS)


def question_key(bank: str, text: str) -> str:
    """A key that survives re-imports of a question without an explicit id: its normalised
    text within its bank."""
    return hashlib.sha1(f"{bank}\n{normalize(text)}".encode()).hexdigest()[:24]


class BadQuestion(ValueError):
    pass


def build_question(
    text: str,
    options: list[str],
    answer: Any,
    line: int,
    *,
    kind: str = "",
    key: str = "",
    explanation: str = "",
    category: str = "",
    difficulty: Any = 1,
    feedback: list[str] | None = None,
) -> ParsedQuestion:
    """Check one question from any tabular source and return it, or raise ``BadQuestion``."""
    text = text.strip()
    if not text:
        raise BadQuestion("the question text is empty")
    if key and not ID_PATTERN.match(key):
        raise BadQuestion(f"id {key!r} may only use letters, digits, '_', '-' and '.' (at most 32)")
    options = [o.strip() for o in options]
    while options and not options[-1]:
        options.pop()
    if any(not o for o in options):
        raise BadQuestion("an option in the middle is empty")
    if len(options) > len(LETTERS):
        raise BadQuestion("at most 6 options")
    if isinstance(answer, bool):
        answer = "true" if answer else "false"
    raw = str(answer if answer is not None else "").strip()
    if not raw:
        raise BadQuestion("the answer is missing")
    kind = kind.strip().lower() or _guess(options, raw)
    if kind not in KINDS:
        raise BadQuestion(f"unknown type {kind!r}; use {', '.join(KINDS)}")
    answers: list[Any]
    if kind in ("single", "multiple"):
        if len(options) < 2:
            raise BadQuestion("a choice question needs at least 2 options")
        letters = [p for p in re.split(r"[\s,;/]+", raw.upper()) if p]
        if len(letters) == 1 and len(letters[0]) > 1 and letters[0].isalpha():
            letters = list(letters[0])
        if not letters or any(len(p) != 1 or p not in LETTERS[: len(options)] for p in letters):
            raise BadQuestion(
                f"answer {raw!r} must be option letters among A–{LETTERS[len(options) - 1]}"
            )
        answers = sorted({LETTERS.index(p) for p in letters})
        if kind == "single" and len(answers) != 1:
            raise BadQuestion("a single choice question has exactly one right answer")
    elif kind == "truefalse":
        word = raw.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise BadQuestion(f"answer {raw!r} must be true or false")
        options = ["True", "False"]
        answers = [0 if word in TRUE_WORDS else 1]
    else:
        answers = [a.strip() for a in raw.split("|") if a.strip()]
        if not all(normalize(a) for a in answers):
            raise BadQuestion("a fill-in answer must have letters or digits")
        options = []
    shown = str(difficulty).strip()
    if len(shown) > 3:
        # A 5,000-digit number would take int() past Python's digit limit (and into the
        # message): too long is simply not 1 to 5.
        raise BadQuestion(f"difficulty {shown[:20]}… must be a number from 1 to 5")
    try:
        level = int(shown or 1)
    except ValueError:
        raise BadQuestion(f"difficulty {shown!r} must be a number from 1 to 5") from None
    if not 1 <= level <= 5:
        raise BadQuestion(f"difficulty {level} must be from 1 to 5")
    if len(category) > 64:
        raise BadQuestion("the category is longer than 64 characters")
    return ParsedQuestion(
        text,
        kind,
        options,
        answers,
        line,
        key=key,
        explanation=explanation.strip(),
        category=category.strip(),
        difficulty=level,
        feedback=list(feedback or []),
    )


def _guess(options: list[str], answer: str) -> str:
    if not options:
        return "truefalse" if answer.lower() in TRUE_WORDS | FALSE_WORDS else "fill"
    letters = [p for p in re.split(r"[\s,;/]+", answer) if p]
    return "multiple" if len(letters) > 1 else "single"
