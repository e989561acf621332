"""Refresh the catalogs: extract messages, merge them into zh_Hans and en, fill en from the source.

Run with ``make i18n``. New zh_Hans messages come out empty (the catalog test then fails until
they are translated); en messages are the source text itself.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bot" / "locales"
TEMPLATE = LOCALES / "branchbot.pot"


def main() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "_n:1,2",
            "--no-default-keywords",
            "--no-location",
            "--sort-output",
            "--project",
            "branchbot",
            "-o",
            str(TEMPLATE),
            ".",
        ],
        check=True,
        cwd=ROOT,
    )
    with TEMPLATE.open("rb") as source:
        template = read_po(source)
    for locale in ("zh_Hans", "en"):
        path = LOCALES / locale / "LC_MESSAGES" / "branchbot.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as source:
                catalog = read_po(source, locale=locale.replace("_Hans", ""))
        else:
            from babel.messages.catalog import Catalog

            catalog = Catalog(locale=locale.replace("_Hans", ""), project="branchbot")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            if locale == "en":
                message.string = message.id
            message.flags.discard("fuzzy")
        with path.open("wb") as target:
            write_po(target, catalog, width=100, omit_header=False, sort_output=True)
    print("catalogs updated; translate the empty zh_Hans messages")


if __name__ == "__main__":
    main()
