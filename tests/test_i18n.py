"""Every user-facing message is in both catalogs, translated, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR, translator

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{\w+\}")


def source_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for folder in ("bot", "dialogs"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            keywords={"_": None, "_n": (1, 2)},
            method_map=[("**.py", "python")],
        ):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "branchbot.po").open("rb") as source:
        catalog = read_po(source)
    for message in source_messages():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        assert entry is not None, f"{locale}: missing {key!r} (run make i18n)"
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"{locale}: untranslated {key!r}"
        wanted = set(PLACEHOLDER.findall(message[-1] if isinstance(message, tuple) else message))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) <= wanted, f"{locale}: {key!r} → {string!r}"
            if not isinstance(message, tuple):
                assert set(PLACEHOLDER.findall(string)) == wanted, f"{locale}: {key!r}"
            assert string.count("`") == key.count("`"), f"{locale}: code spans in {key!r}"
        assert "fuzzy" not in entry.flags, f"{locale}: fuzzy {key!r}"


def test_translation_is_used() -> None:
    assert (
        translator("zh", "en")("There is nothing to stop.").plain() != "There is nothing to stop."
    )
    assert (
        translator(None, "en")("There is nothing to stop.").plain() == "There is nothing to stop."
    )
    assert translator("klingon", "zh").locale == "zh_Hans"
