"""A store with branches and members for the appraisal repository and mixer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.feature import migrations
from dialogs import FEATURES
from dialogs.appraisal.repository import Appraisal, RoundRow
from store.clock import ManualClock
from store.db import Database
from store.models import Branch, Member
from store.repos import Repositories
from tests.support.templates import migrated


@dataclass(frozen=True)
class Definition:
    """A template as the repository sees one (``key`` and ``to_json``)."""

    key: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, **self.body}


@asynccontextmanager
async def appraisal_db(url: str) -> AsyncIterator[tuple[Database, ManualClock]]:
    clock = ManualClock()
    await migrated(url, migrations(FEATURES))
    db = Database(url, clock=clock, migrations=migrations(FEATURES))
    await db.upgrade()
    try:
        yield db, clock
    finally:
        await db.dispose()


async def branch_with_members(db: Database, name: str, people: list[str]) -> tuple[int, list[int]]:
    """A branch and its members, in the order given (their ids ascend in that order)."""
    async with db.session() as session:
        now = db.clock.now()
        branch = Branch(name=name, key=name.casefold(), created_at=now)
        session.add(branch)
        await session.flush()
        members = [Member(display_name=p, branch_id=branch.id, created_at=now) for p in people]
        session.add_all(members)
        await session.flush()
        return branch.id, [m.id for m in members]


async def open_round(db: Database, branch_ids: list[int], k: int = 5, days: int = 7) -> RoundRow:
    async with db.session() as session:
        appraisal = Repositories(session).get(Appraisal)
        template_id = await appraisal.add_template(Definition("pulse", {"title": "Pulse"}))
        return await appraisal.open_round(
            template_id, branch_ids, db.clock.now() + timedelta(days=days), None, k
        )
