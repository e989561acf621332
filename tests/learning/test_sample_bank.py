"""The sample bank shipped with the playground, and the copy of it docs/learning.md quotes,
take the answers their own explanations teach."""

from __future__ import annotations

import re
from pathlib import Path

from store.banks import load, parse_file
from store.banks.model import Bank, normalize

ROOT = Path(__file__).resolve().parents[2]


def taught_but_refused(bank: Bank) -> list[str]:
    """Fill-in questions whose explanation spells an answer out that they do not accept."""
    assert not bank.errors, bank.errors
    return [
        question.key
        for question in bank.questions
        if question.kind == "fill"
        and normalize(question.explanation) not in {normalize(a) for a in question.answers}
    ]


def test_the_sample_bank_accepts_the_full_form_it_teaches() -> None:
    bank = load(ROOT / "adapters/playground/sample-bank.yaml")
    assert any(q.kind == "fill" for q in bank.questions)
    assert taught_but_refused(bank) == []


def test_the_bank_in_the_learning_docs_does_too() -> None:
    text = (ROOT / "docs/learning.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    banks = [parse_file("docs.yaml", block.encode()) for block in blocks if "questions:" in block]
    assert banks
    for bank in banks:
        assert taught_but_refused(bank) == []
