"""Question bank files: Aiken, GIFT, CSV, XLSX and branchbot's YAML, parsed into dataclasses.

Parsing is pure: a file becomes a ``Bank`` (questions, levels, lessons) plus a list of errors,
each with the file and line it came from. Nothing here touches the database;
``store.learning.Learning.import_bank`` upserts a parsed bank. docs/learning.md documents the
formats.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = ("single", "multiple", "truefalse", "fill")
LETTERS = string.ascii_uppercase[:6]
TRUE_WORDS = {"true", "t", "yes", "y", "对", "正确", "是"}
FALSE_WORDS = {"false", "f", "no", "n", "错", "错误", "否"}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
LESSON_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
"""What fits a deep link's payload (Telegram allows letters, digits, ``_`` and ``-``)."""


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


DEFAULT_BANK = "default"
"""The bank of a file that names none (YAML's ``bank:``, ``--bank``). Never the file's name:
``bank (1).xlsx`` sent again must update the same questions, not add copies."""


def question_key(bank: str, text: str) -> str:
    """A key that survives re-imports of a question without an explicit id: its normalised
    text within its bank."""
    return hashlib.sha1(f"{bank}\n{normalize(text)}".encode()).hexdigest()[:24]


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


# -- building and checking one question -----------------------------------------------------


class _Bad(ValueError):
    pass


def _build(
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
    """Check one question from any tabular source and return it, or raise ``_Bad``."""
    text = text.strip()
    if not text:
        raise _Bad("the question text is empty")
    if key and not ID_PATTERN.match(key):
        raise _Bad(f"id {key!r} may only use letters, digits, '_', '-' and '.' (at most 32)")
    options = [o.strip() for o in options]
    while options and not options[-1]:
        options.pop()
    if any(not o for o in options):
        raise _Bad("an option in the middle is empty")
    if len(options) > len(LETTERS):
        raise _Bad("at most 6 options")
    if isinstance(answer, bool):
        answer = "true" if answer else "false"
    raw = str(answer if answer is not None else "").strip()
    if not raw:
        raise _Bad("the answer is missing")
    kind = kind.strip().lower() or _guess(options, raw)
    if kind not in KINDS:
        raise _Bad(f"unknown type {kind!r}; use {', '.join(KINDS)}")
    answers: list[Any]
    if kind in ("single", "multiple"):
        if len(options) < 2:
            raise _Bad("a choice question needs at least 2 options")
        letters = [p for p in re.split(r"[\s,;/]+", raw.upper()) if p]
        if len(letters) == 1 and len(letters[0]) > 1 and letters[0].isalpha():
            letters = list(letters[0])
        if not letters or any(len(p) != 1 or p not in LETTERS[: len(options)] for p in letters):
            raise _Bad(f"answer {raw!r} must be option letters among A–{LETTERS[len(options) - 1]}")
        answers = sorted({LETTERS.index(p) for p in letters})
        if kind == "single" and len(answers) != 1:
            raise _Bad("a single choice question has exactly one right answer")
    elif kind == "truefalse":
        word = raw.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise _Bad(f"answer {raw!r} must be true or false")
        options = ["True", "False"]
        answers = [0 if word in TRUE_WORDS else 1]
    else:
        answers = [a.strip() for a in raw.split("|") if a.strip()]
        if not all(normalize(a) for a in answers):
            raise _Bad("a fill-in answer must have letters or digits")
        options = []
    try:
        level = int(str(difficulty).strip() or 1)
    except ValueError:
        raise _Bad(f"difficulty {difficulty!r} must be a number from 1 to 5") from None
    if not 1 <= level <= 5:
        raise _Bad(f"difficulty {level} must be from 1 to 5")
    if len(category) > 64:
        raise _Bad("the category is longer than 64 characters")
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


# -- Aiken ----------------------------------------------------------------------------------

_AIKEN_OPTION = re.compile(r"^([A-Fa-f])\s*[.)]\s*(.+)$")
_AIKEN_ANSWER = re.compile(r"^ANSWER\s*:\s*(\S.*)$", re.IGNORECASE)


def parse_aiken(text: str, name: str, file: str) -> Bank:
    """Moodle's Aiken format: a question line, options ``A.``/``A)``, then ``ANSWER: B``."""
    bank = Bank(name)
    question: list[str] = []
    options: list[str] = []
    start = 0

    def fail(line: int, message: str) -> None:
        bank.errors.append(BankError(file, line, message))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        answer = _AIKEN_ANSWER.match(line)
        option = _AIKEN_OPTION.match(line)
        if answer:
            if not question:
                fail(number, "ANSWER without a question")
            else:
                letter = answer.group(1).strip()
                try:
                    bank.questions.append(_build(" ".join(question), options, letter, start))
                except _Bad as error:
                    fail(start, str(error))
            question, options = [], []
        elif option and question:
            if option.group(1).upper() != LETTERS[len(options)]:
                fail(number, f"expected option {LETTERS[len(options)]}")
            options.append(option.group(2))
        elif options:
            fail(start, "question has no ANSWER line")
            question, options, start = [line], [], number
        else:
            if not question:
                start = number
            question.append(line)
    if question:
        fail(start, "question has no ANSWER line")
    return bank


# -- GIFT -----------------------------------------------------------------------------------

_GIFT_SPECIAL = "~=#{}:"


def _gift_unescape(text: str) -> str:
    for char in _GIFT_SPECIAL:
        text = text.replace("\\" + char, char)
    return text.replace("\\n", "\n").strip()


def _gift_split(body: str, marks: str) -> list[tuple[str, str]]:
    """Split an answer block at unescaped marks (``=``/``~``), keeping each mark."""
    parts: list[tuple[str, str]] = []
    current, mark, escaped = "", "", False
    for char in body:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in marks:
            if mark or current.strip():
                parts.append((mark, current))
            mark, current = char, ""
        else:
            current += char
    if mark or current.strip():
        parts.append((mark, current))
    return parts


def _gift_feedbacks(text: str) -> tuple[str, list[str]]:
    """``answer#feedback#feedback`` → (answer, feedbacks), honouring ``\\#``."""
    pieces = _gift_split(text, "#")
    head = pieces[0][1] if pieces and not pieces[0][0] else ""
    return _gift_unescape(head), [_gift_unescape(p) for m, p in pieces if m == "#"]


def _gift_feedback(text: str) -> tuple[str, str]:
    """``answer#feedback`` → (answer, feedback)."""
    head, notes = _gift_feedbacks(text)
    return head, notes[0] if notes else ""


def parse_gift(text: str, name: str, file: str) -> Bank:
    """Moodle's GIFT: multiple choice, true/false and short answer, with ``#`` feedback,
    ``####`` general feedback (kept as the explanation) and ``$CATEGORY:``."""
    bank = Bank(name)
    category = ""
    block: list[str] = []
    start = 0

    def flush() -> None:
        nonlocal block
        if block:
            try:
                bank.questions.append(_gift_question("\n".join(block), start, category))
            except _Bad as error:
                bank.errors.append(BankError(file, start, str(error)))
        block = []

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("//"):
            continue
        if not line:
            if block and "}" in "\n".join(block).replace("\\}", ""):
                flush()
            continue
        if line.startswith("$CATEGORY:") and not block:
            category = line.split(":", 1)[1].strip().split("/")[-1]
            continue
        if not block:
            start = number
        block.append(raw)
    flush()
    return bank


def _gift_question(source: str, line: int, category: str) -> ParsedQuestion:
    source = source.strip()
    title = ""
    if source.startswith("::"):
        end = source.find("::", 2)
        if end < 0:
            raise _Bad("the title is not closed with ::")
        title, source = source[2:end].strip(), source[end + 2 :].strip()
    if source.startswith("[") and "]" in source:
        source = source[source.index("]") + 1 :]
    opening = re.search(r"(?<!\\)\{", source)
    closing = re.search(r"(?<!\\)\}(?=[^}]*$)", source)
    if opening is None or closing is None or closing.start() < opening.start():
        raise _Bad("no answer block {…}")
    question = _gift_unescape(source[: opening.start()] + " " + source[closing.end() :])
    body = source[opening.end() : closing.start()]
    explanation = ""
    general = body.find("####")
    if general >= 0:
        body, explanation = body[:general], _gift_unescape(body[general + 4 :])
    stripped = body.strip()
    if stripped.startswith("#") or "->" in body:
        raise _Bad("numeric and matching questions are not supported")
    key = title if ID_PATTERN.match(title) else ""
    word, truth_notes = _gift_feedbacks(stripped)
    if word.upper() in ("T", "TRUE", "F", "FALSE") and not re.search(r"(?<!\\)[~=]", stripped):
        truth = word.upper().startswith("T")
        # Moodle's order: ``{T#shown to a wrong answer#shown to a right answer}``.
        wrong, right_note = [*truth_notes, "", ""][:2]
        return _build(
            question,
            [],
            "true" if truth else "false",
            line,
            kind="truefalse",
            key=key,
            explanation=explanation,
            category=category,
            feedback=[right_note, wrong] if truth else [wrong, right_note],
        )
    parts = _gift_split(stripped, "=~")
    if not parts or any(not mark for mark, _ in parts):
        raise _Bad("each answer must start with = or ~")
    options: list[str] = []
    notes: list[str] = []
    right: list[int] = []
    for index, (mark, part) in enumerate(parts):
        weight = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%", part)
        if weight:
            part = part[weight.end() :]
        option, note = _gift_feedback(part)
        if not option:
            raise _Bad("an answer is empty")
        options.append(option)
        notes.append(note)
        if mark == "=" or (weight and float(weight.group(1)) > 0):
            right.append(index)
    if all(mark == "=" for mark, _ in parts):
        return _build(
            question,
            [],
            "|".join(options),
            line,
            kind="fill",
            key=key,
            explanation=explanation,
            category=category,
            feedback=[next((n for n in notes if n), "")],
        )
    if not right:
        raise _Bad("no right answer (= or a positive %weight%)")
    kind = "multiple" if len(right) > 1 else "single"
    letters = ",".join(LETTERS[i] for i in right if i < len(LETTERS))
    return _build(
        question,
        options,
        letters,
        line,
        kind=kind,
        key=key,
        explanation=explanation,
        category=category,
        feedback=notes,
    )


# -- CSV and XLSX ---------------------------------------------------------------------------

COLUMNS = ("id", "type", "question", *LETTERS, "answer", "explanation", "category", "difficulty")


def _rows(rows: list[tuple[int, dict[str, str]]], name: str, file: str) -> Bank:
    bank = Bank(name)
    for line, row in rows:
        if not any(v.strip() for v in row.values()):
            continue
        try:
            bank.questions.append(
                _build(
                    row.get("question", ""),
                    [row.get(letter, "") for letter in LETTERS],
                    row.get("answer", ""),
                    line,
                    kind=row.get("type", ""),
                    key=row.get("id", "").strip(),
                    explanation=row.get("explanation", ""),
                    category=row.get("category", ""),
                    difficulty=row.get("difficulty", "") or 1,
                )
            )
        except _Bad as error:
            bank.errors.append(BankError(file, line, str(error)))
    return bank


def _header(cells: list[str], file: str) -> tuple[list[str], BankError | None]:
    names = [c.strip().lower() for c in cells]
    names = [n.upper() if n.upper() in LETTERS and len(n) == 1 else n for n in names]
    unknown = [n for n in names if n and n not in COLUMNS]
    if "question" not in names or "answer" not in names:
        return names, BankError(file, 1, "the first row must name the columns question and answer")
    if unknown:
        return names, BankError(file, 1, f"unknown columns: {', '.join(unknown)}")
    return names, None


def parse_csv(text: str, name: str, file: str) -> Bank:
    """A header row (``question, A…F, answer, explanation, category, difficulty``; ``id`` and
    ``type`` optional), one question per row."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return Bank(name, errors=[BankError(file, 1, "the file is empty")])
    names, error = _header(header, file)
    if error:
        return Bank(name, errors=[error])
    rows = [
        (reader.line_num, {n: v for n, v in zip(names, cells, strict=False) if n})
        for cells in reader
    ]
    return _rows(rows, name, file)


def parse_xlsx(data: bytes, name: str, file: str) -> Bank:
    """The first sheet of a workbook, laid out like the CSV format."""
    from openpyxl import load_workbook  # imported here: only bank imports need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as damaged:  # openpyxl raises many kinds for a damaged file
        return Bank(name, errors=[BankError(file, 1, f"not a readable .xlsx file ({damaged})")])
    sheet = book.worksheets[0]
    lines = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    book.close()
    if not lines:
        return Bank(name, errors=[BankError(file, 1, "the sheet is empty")])
    names, error = _header(lines[0], file)
    if error:
        return Bank(name, errors=[error])
    rows = [
        (index, {n: v for n, v in zip(names, cells, strict=False) if n})
        for index, cells in enumerate(lines[1:], start=2)
    ]
    return _rows(rows, name, file)


# -- YAML -----------------------------------------------------------------------------------


def _lines_of(text: str, section: str) -> list[int]:
    """The line of each item of a top-level list, from the YAML node tree."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == section and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_yaml(text: str, name: str, file: str) -> Bank:
    """branchbot's own format: ``bank``, ``questions``, ``levels`` and ``lessons``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return Bank(name, errors=[BankError(file, line, f"not valid YAML: {error}")])
    if not isinstance(data, dict):
        return Bank(name, errors=[BankError(file, 1, "expected keys bank, questions, …")])
    bank = Bank(str(data.get("bank") or name))
    unknown = set(data) - {"bank", "questions", "levels", "lessons"}
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
        lines = _lines_of(text, section)
        for index, item in enumerate(sections[section]):
            line = lines[index] if index < len(lines) else 1
            if not isinstance(item, dict):
                bank.errors.append(BankError(file, line, f"each of {section} must be a mapping"))
                continue
            try:
                handler(bank, item, line)
            except _Bad as error:
                bank.errors.append(BankError(file, line, str(error)))
    numbers = sorted(level.number for level in bank.levels)
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        bank.errors.append(BankError(file, 1, "levels must be numbered 1, 2, 3, … without gaps"))
    return bank


def _text(item: dict[str, Any], key: str, required: bool = True) -> str:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        if required:
            raise _Bad(f"{key} is missing")
        return ""
    return str(value).strip()


def _count(item: dict[str, Any], key: str, low: int, high: int, default: int) -> int:
    value = item.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _Bad(f"{key} must be a whole number from {low} to {high}")
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
        raise _Bad(f"unknown keys: {', '.join(sorted(unknown))}")
    options = item.get("options") or []
    feedback = item.get("feedback") or []
    if not isinstance(options, list) or not isinstance(feedback, list):
        raise _Bad("options and feedback must be lists")
    answer = item.get("answer")
    if isinstance(answer, list):
        answer = ("," if options else "|").join(str(a) for a in answer)
    bank.questions.append(
        _build(
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
        raise _Bad(f"lesson id {key!r} may only use letters, digits, '_' and '-' (at most 32)")
    link = _text(item, "link", required=False)
    if link and not link.startswith(("https://", "http://")):
        raise _Bad("link must start with https:// or http://")
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
