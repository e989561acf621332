"""More branches than a statement can bind values (PostgreSQL's driver 32,767; SQLite's limit
depends on its build, 32,766 by default): the branches' languages and a survey round over all
of them still work (bench/scale.py found both refused by the driver, so a broadcast to every
room retried for ever)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.tables import Eligible
from store.clock import SYSTEM_CLOCK
from store.models import Branch
from store.repos import Repositories
from tests.support.appraisal import import_template
from tests.support.chat import BotFactory

BRANCHES = 33_000


async def test_an_organisation_past_the_drivers_bound_values(make_bot: BotFactory) -> None:
    bot, _adapter = await make_bot()
    template = await import_template(bot)
    now = SYSTEM_CLOCK.now()
    async with bot.db.session() as session:
        await session.execute(
            insert(Branch),
            [{"name": f"B{n}", "key": f"b{n}", "created_at": now} for n in range(BRANCHES)],
        )
        store = Repositories(session)
        ids = list(await session.scalars(select(Branch.id).order_by(Branch.id)))
        for number, branch_id in enumerate((ids[0], ids[-1])):
            member = await store.people.ensure("memory", f"m{number}", f"M{number}")
            await store.people.set_branch(member, branch_id)
        await store.branches.set_locale(ids[-1], "en")
    async with bot.db.session() as session:
        store = Repositories(session)
        languages = await store.branches.locales(ids)
        assert len(languages) == BRANCHES and languages[ids[-1]] == "en"
        row = await store.get(Appraisal).open_round(template, ids, now + timedelta(days=7), None, 1)
        eligible = await session.scalar(
            select(func.count()).select_from(Eligible).where(Eligible.round_id == row.number)
        )
    assert eligible == 2 and len(row.branch_ids) == BRANCHES
