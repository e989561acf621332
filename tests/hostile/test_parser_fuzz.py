"""The Aiken and GIFT parsers on random input: a file is parsed into a bank (with errors) or
refused as a whole (``TooBig``); nothing else may escape, since a traceback in a parser is
"the file could not be read" in a chat and a crash of ``branchbot bank import``."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from store.banks import Bank, Limits
from store.banks.aiken import parse_aiken
from store.banks.gift import parse_gift
from store.banks.limits import TooBig

ROUNDS = 3_000
LIMITS = Limits(field_chars=200)
"""Small, so the random files reach the field limit too."""

AIKEN_LINES = [
    "Which floor?",
    "A. 1",
    "B. 2",
    "C) 3",
    "d. 4",
    "E. 5",
    "F. 6",
    "A. 7",
    "G. 8",
    "ANSWER: A",
    "ANSWER: F",
    "answer: z",
    "ANSWER:",
    "",
    " \t",
    "\u3000",
    "x" * 250,
]
GIFT_LINES = [
    "::Q1:: Which floor? {",
    "Which floor? {=1 ~2 ~3}",
    "{",
    "}",
    "=right#well done",
    "~wrong#no",
    "~%50%half",
    "=%-100%bad",
    "{T}",
    "{FALSE#no}",
    "{#3:1}",
    "{=a -> b =c -> d}",
    "$CATEGORY: $course$/top",
    "// a comment",
    "####general",
    "\\{escaped\\}",
    "\\",
    "::",
    "::x",
    "",
    "x" * 250,
]
PARSERS: list[tuple[str, Callable[[str, str, str, Limits], Bank], list[str]]] = [
    ("random.txt", parse_aiken, AIKEN_LINES),
    ("random.gift", parse_gift, GIFT_LINES),
]


def random_file(rng: random.Random, lines: list[str]) -> str:
    """Lines of the format's own syntax, cut and joined at random (a few random characters
    between them), so the parser meets its grammar broken in every place."""
    out = []
    for _ in range(rng.randint(1, 40)):
        line = rng.choice(lines)
        if line and rng.random() < 0.2:
            cut = rng.randrange(len(line))
            line = line[:cut] if rng.random() < 0.5 else line[cut:]
        if rng.random() < 0.1:
            line += "".join(rng.choice("{}=~#:%\\->.)ABCF \t") for _ in range(rng.randint(1, 5)))
        out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize(("file", "parse", "lines"), PARSERS, ids=[p[0] for p in PARSERS])
def test_random_files_give_a_bank_or_a_refusal(
    file: str, parse: Callable[[str, str, str, Limits], Bank], lines: list[str]
) -> None:
    rng = random.Random(f"{file}-fuzz")
    for _ in range(ROUNDS):
        text = random_file(rng, lines)
        try:
            bank = parse(text, "fuzz", file, LIMITS)
        except TooBig:
            continue
        except Exception as error:  # the test's subject: anything but TooBig is the bug
            pytest.fail(f"{type(error).__name__}: {error} on {text!r}")
        assert all(error.line >= 1 for error in bank.errors), text
