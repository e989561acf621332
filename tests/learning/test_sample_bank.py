"""The sample bank shipped with the playground takes the answers its explanations teach (the
bank docs/learning.md quotes is held to the same in test_docs_sample.py)."""

from __future__ import annotations

from pathlib import Path

from store.banks import load
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
