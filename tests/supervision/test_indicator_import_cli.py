"""``branchbot indicators import``: the whole file is checked first, nothing is imported on
any error, each is printed as ``file:line``; a second import updates what changed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from dialogs.supervision.indicators import SHIPPED
from dialogs.supervision.repository import Supervision
from store.db import Database
from store.repos import Repositories


async def stored(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.session() as session:
            found = await Repositories(session).get(Supervision).indicators(everyone=True)
            return {active.key: active.indicator.weight for active in found}
    finally:
        await db.dispose()


def test_indicators_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "indicators:\n  - key: fine\n    title: {en: A, zh_Hans: 甲}\n    cadence: monthly\n"
        "  - key: broken\n    title: {en: B, zh_Hans: 乙}\n    cadence: fortnightly\n"
    )
    assert main(["indicators", "import", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml:7: indicators[1].cadence" in err and "nothing imported" in err
    assert main(["indicators", "import", str(SHIPPED), "--check"]) == 0
    assert "7 indicators are valid; nothing imported" in capsys.readouterr().out
    assert not (tmp_path / "cli.db").exists() or not asyncio.run(stored(url))
    assert main(["indicators", "import", str(SHIPPED)]) == 0
    assert "7 indicators added, 0 changed, 0 unchanged" in capsys.readouterr().out
    changed = tmp_path / "indicators.yaml"
    changed.write_text(SHIPPED.read_text(encoding="utf-8").replace("weight: 3", "weight: 5", 1))
    assert main(["indicators", "import", str(changed)]) == 0
    assert "0 indicators added, 1 changed, 6 unchanged" in capsys.readouterr().out
    assert asyncio.run(stored(url))["members-meeting"] == 5
    assert main(["indicators", "import", str(tmp_path / "missing.yaml")]) == 2
