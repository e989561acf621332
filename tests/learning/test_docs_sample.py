"""The sample bank in docs/learning.md: it parses, it is the bank the tests use, and its fill-in
question accepts the answer its explanation teaches."""

from __future__ import annotations

import re
from pathlib import Path

from store.banks import Bank, load, normalize, parse_file

ROOT = Path(__file__).parents[2]


def docs_sample() -> Bank:
    text = (ROOT / "docs" / "learning.md").read_text(encoding="utf-8")
    match = re.search(r"A complete example.*?```yaml\n(.*?)```", text, re.S)
    assert match, "docs/learning.md has no complete YAML example"
    return parse_file("sample.yaml", match[1].encode())


def test_the_docs_sample_is_the_bank_the_tests_use() -> None:
    sample, used = docs_sample(), load(ROOT / "tests" / "learning" / "banks" / "library.yaml")
    assert sample.errors == []
    shape = [(q.key, q.kind, q.text, q.answers) for q in sample.questions]
    assert shape == [(q.key, q.kind, q.text, q.answers) for q in used.questions]


def test_the_sample_fill_in_question_accepts_what_it_teaches() -> None:
    (question,) = [q for q in docs_sample().questions if q.kind == "fill"]
    right = {normalize(str(answer)) for answer in question.answers}
    for typed in ("online public access catalogue", "Online-Public-Access Catalog.", "catalogue"):
        assert normalize(typed) in right, typed
