"""``branchbot bank import``: validates first, imports nothing on errors unless --skip-bad."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from store.db import Database
from store.models import Question

BANKS = Path(__file__).parent / "banks"


def count(url: str) -> int:
    async def run() -> int:
        db = Database(url)
        try:
            await db.upgrade()
            async with db.session() as session:
                return int(await session.scalar(select(func.count()).select_from(Question)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_bank_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    assert main(["bank", "import", str(BANKS / "broken.gift")]) == 1
    err = capsys.readouterr().err
    assert "broken.gift:3: numeric and matching" in err and "nothing imported" in err
    assert count(url) == 0
    assert main(["bank", "import", str(BANKS / "broken.gift"), "--skip-bad"]) == 0
    assert "1 questions added" in capsys.readouterr().out
    assert main(["bank", "import", str(BANKS / "good.gift"), "--bank", "g"]) == 0
    assert main(["bank", "import", str(BANKS / "good.gift"), "--bank", "g"]) == 0
    assert "0 questions added, 4 updated" in capsys.readouterr().out
    assert count(url) == 5
    assert main(["bank", "import", str(tmp_path / "missing.csv")]) == 2
