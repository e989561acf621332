"""Moodle's Aiken format: a question, options ``A.`` or ``A)``, then ``ANSWER:``."""

from __future__ import annotations

import re

from store.banks.limits import LIMITS, Limits, TooBig
from store.banks.model import LETTERS, BadQuestion, Bank, BankError, build_question

_AIKEN_OPTION = re.compile(r"^([A-Fa-f])\s*[.)]\s*(.+)$")
_AIKEN_ANSWER = re.compile(r"^ANSWER\s*:\s*(\S.*)$", re.IGNORECASE)


def parse_aiken(text: str, name: str, file: str, limits: Limits = LIMITS) -> Bank:
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
        if len(line) > limits.field_chars:
            raise TooBig(number, f"a line is longer than {limits.field_chars:,} characters")
        answer = _AIKEN_ANSWER.match(line)
        option = _AIKEN_OPTION.match(line)
        if answer:
            if not question:
                fail(number, "ANSWER without a question")
            elif not options:
                # In Aiken every question has options; without them this is no Aiken question.
                fail(start, "an Aiken question needs options A., B., … before its ANSWER line")
            else:
                letter = answer.group(1).strip()
                try:
                    bank.questions.append(
                        build_question(" ".join(question), options, letter, start)
                    )
                except BadQuestion as error:
                    fail(start, str(error))
            question, options = [], []
        elif option and question:
            # Past the last letter there is no letter to expect: build_question refuses the
            # question for its number of options, once, at its first line.
            if len(options) < len(LETTERS) and option.group(1).upper() != LETTERS[len(options)]:
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
