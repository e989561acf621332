"""Moodle's GIFT format: multiple choice, true/false and short answer."""

from __future__ import annotations

import re

from store.banks.limits import LIMITS, Limits, TooBig
from store.banks.model import (
    ID_PATTERN,
    LETTERS,
    BadQuestion,
    Bank,
    BankError,
    ParsedQuestion,
    build_question,
)

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


def parse_gift(text: str, name: str, file: str, limits: Limits = LIMITS) -> Bank:
    """Moodle's GIFT: multiple choice, true/false and short answer, with ``#`` feedback,
    ``####`` general feedback (kept as the explanation) and ``$CATEGORY:``."""
    bank = Bank(name)
    category = ""
    block: list[str] = []
    size = 0
    closed = False
    start = 0

    def flush() -> None:
        nonlocal block, size, closed
        if block:
            try:
                bank.questions.append(_gift_question("\n".join(block), start, category))
            except BadQuestion as error:
                bank.errors.append(BankError(file, start, str(error)))
        block, size, closed = [], 0, False

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("//"):
            continue
        if not line:
            if closed:
                flush()
            continue
        if line.startswith("$CATEGORY:") and not block:
            category = line.split(":", 1)[1].strip().split("/")[-1]
            continue
        if not block:
            start = number
        block.append(raw)
        size += len(raw) + 1
        if size > limits.field_chars:
            raise TooBig(start, f"a question is longer than {limits.field_chars:,} characters")
        closed = closed or "}" in raw.replace("\\}", "")
    flush()
    return bank


def _gift_question(source: str, line: int, category: str) -> ParsedQuestion:
    source = source.strip()
    title = ""
    if source.startswith("::"):
        end = source.find("::", 2)
        if end < 0:
            raise BadQuestion("the title is not closed with ::")
        title, source = source[2:end].strip(), source[end + 2 :].strip()
    if source.startswith("[") and "]" in source:
        source = source[source.index("]") + 1 :]
    opening = re.search(r"(?<!\\)\{", source)
    closing = re.search(r"(?<!\\)\}(?=[^}]*$)", source)
    if opening is None or closing is None or closing.start() < opening.start():
        raise BadQuestion("no answer block {…}")
    question = _gift_unescape(source[: opening.start()] + " " + source[closing.end() :])
    body = source[opening.end() : closing.start()]
    explanation = ""
    general = body.find("####")
    if general >= 0:
        body, explanation = body[:general], _gift_unescape(body[general + 4 :])
    stripped = body.strip()
    if stripped.startswith("#") or "->" in body:
        raise BadQuestion("numeric and matching questions are not supported")
    key = title if ID_PATTERN.match(title) else ""
    word, truth_notes = _gift_feedbacks(stripped)
    if word.upper() in ("T", "TRUE", "F", "FALSE") and not re.search(r"(?<!\\)[~=]", stripped):
        truth = word.upper().startswith("T")
        # Moodle's order: ``{T#shown to a wrong answer#shown to a right answer}``.
        wrong, right_note = [*truth_notes, "", ""][:2]
        return build_question(
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
        raise BadQuestion("each answer must start with = or ~")
    options: list[str] = []
    notes: list[str] = []
    right: list[int] = []
    for index, (mark, part) in enumerate(parts):
        weight = re.match(r"^\s*%(-?\d+(?:\.\d+)?)%", part)
        if weight:
            part = part[weight.end() :]
        option, note = _gift_feedback(part)
        if not option:
            raise BadQuestion("an answer is empty")
        options.append(option)
        notes.append(note)
        if mark == "=" or (weight and float(weight.group(1)) > 0):
            right.append(index)
    if all(mark == "=" for mark, _ in parts):
        return build_question(
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
        raise BadQuestion("no right answer (= or a positive %weight%)")
    kind = "multiple" if len(right) > 1 else "single"
    letters = ",".join(LETTERS[i] for i in right if i < len(LETTERS))
    return build_question(
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
