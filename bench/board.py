"""Benchmark the supervision board and the monthly report: 500 branches × 20 monthly
indicators × 12 months of reports.

The data is written straight into the tables (SQLAlchemy Core, multi-row inserts) on a schema
made by the real migrations: branches, 20 monthly indicators (some rated by a number against
thresholds), a year of reports with a realistic mix (most on time, some late, some missing,
a few corrected; the numbers spread by each branch's diligence) and a few hundred
rectification tasks, open, done (in time or not), dropped and overdue. Then, with a fixed
"today" in the twelfth month, on each store:

- the board (``board``: the median of ``--repeat`` runs), its image (``chart.board_png``: time
  and bytes) and its text (``views.summary``);
- the monthly report (``monthly.month_report``, with every feature's ``Settings.figures``) of
  the month before (what the watch worker sends in this one) for the whole organisation and
  for one branch, and its chart (``monthly.chart``);
- ``branchbot report export``: the reports the CLI computes (``cli._reports``: the whole
  organisation, then one ``month_report`` per branch) and the workbook built from them
  (``cli.workbook``) and saved.

Each figure is in ms, with the statements it sent to the store.

    .venv/bin/python bench/board.py [--branches 500] [--indicators 20] [--months 12]
                                    [--tasks 300] [--repeat 5] [--only sqlite|postgresql]
                                    [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Table, event, insert, select

from bot.app import configure, settings_of
from bot.context import Settings
from bot.feature import CliServices, migrations
from bot.i18n import _, translator
from dialogs import FEATURES
from dialogs.supervision import cli, monthly, views
from dialogs.supervision.board import board
from dialogs.supervision.chart import board_png
from dialogs.supervision.common import COLOUR
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.indicators import Colour, Indicator
from dialogs.supervision.periods import containing
from dialogs.supervision.repository import searchable
from dialogs.supervision.tables import Report, StoredIndicator, Task
from store.db import Database
from store.models import Branch
from store.repos import Repositories

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
LOCALE = "zh_Hans"
TODAY = date(2026, 12, 15)
"""In the twelfth month: November's items with a grace of 10 days or less are due, December's
are not; the monthly report measured is November's."""
CHUNK = 5000
"""Rows per ``executemany``: SQLAlchemy batches them into multi-row inserts of one compiled
statement (a ``values()`` of thousands of rows is compiled afresh each time, 20 times slower)."""
GRACE = (0, 5, 10, 15)

T = TypeVar("T")


def table(model: type[Any]) -> Table:
    found = model.__table__
    assert isinstance(found, Table)
    return found


def indicator(n: int) -> Indicator:
    """The ``n``-th of the bench's monthly indicators: every third one asks for an
    attendance figure coloured by thresholds; graces, weights and colours vary."""
    numbered = n % 3 == 0
    definition: dict[str, Any] = {
        "key": f"bench-{n:02d}",
        "title": {"en": f"Monthly item {n}", "zh_Hans": f"月度事项{n}"},
        "cadence": "monthly",
        "grace_days": GRACE[n % len(GRACE)],
        "evidence": ["text", "photo"],
        "weight": 1 + n % 3,
        "colour": {"late": "red" if n % 7 == 6 else "yellow", "missing": "red"},
    }
    if numbered:
        definition["numbers"] = [
            {
                "key": "attendance",
                "label": {"en": "Members present (%)", "zh_Hans": "到会率（%）"},
                "min": 0,
                "max": 100,
            }
        ]
        definition["colour"]["thresholds"] = {"number": "attendance", "green": 80, "yellow": 60}
    return Indicator.model_validate(definition)


def months_before(today: date, count: int) -> list[date]:
    """The first days of the ``count`` months up to ``today``'s, oldest first."""
    found = [today.replace(day=1)]
    while len(found) < count:
        found.append((found[-1] - timedelta(days=1)).replace(day=1))
    return found[::-1]


def utc(day: date, zone: ZoneInfo, hour: int) -> datetime:
    return datetime.combine(day, clock_time(hour), zone).astimezone(UTC)


async def insert_all(db: Database, model: type[Any], rows: list[dict[str, Any]]) -> None:
    async with db.engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(table(model)), rows[start : start + CHUNK])


async def seed(
    db: Database, sizes: argparse.Namespace, zone: ZoneInfo, rng: random.Random
) -> dict[str, Any]:
    """Branches, indicators, reports and tasks; the counts of what was written."""
    months = months_before(TODAY, sizes.months)
    created = utc(months[0] - timedelta(days=30), zone, 9)
    await insert_all(
        db,
        Branch,
        [
            {"name": f"第{b:03d}支部", "key": f"第{b:03d}支部", "created_at": created}
            for b in range(sizes.branches)
        ],
    )
    models = [indicator(n) for n in range(sizes.indicators)]
    await insert_all(
        db,
        StoredIndicator,
        [
            {
                "key": model.key,
                "definition": model.model_dump(mode="json"),
                "position": n,
                "active": True,
                "starts_on": months[0],
                "version": 1,
                "imported_at": created,
            }
            for n, model in enumerate(models)
        ],
    )
    async with db.session() as session:
        branches = list(await session.execute(select(Branch.id, Branch.name).order_by(Branch.id)))
        indicator_ids = list(
            await session.scalars(select(StoredIndicator.id).order_by(StoredIndicator.position))
        )

    reports: list[dict[str, Any]] = []
    late = corrected = 0
    for branch_id, name in branches:
        # Most branches do well, a tail does not: what their reports and numbers follow.
        diligence = rng.betavariate(5, 1.5)
        lax = (1 - diligence) ** 2
        for indicator_id, model in zip(indicator_ids, models, strict=True):
            for month in months:
                period = containing(model, month)
                draw = rng.random()
                if draw < 0.004 + 0.15 * lax:
                    continue  # never reported
                is_late = draw < 0.03 + 0.6 * lax
                if is_late:
                    on = period.due + timedelta(days=rng.randint(1, 25))
                else:
                    on = period.last - timedelta(days=rng.randint(0, 10))
                    on = min(period.due, on + timedelta(days=rng.randint(0, model.grace_days)))
                if on > TODAY:
                    continue  # not yet
                numbers: dict[str, int] = {}
                if model.numbers:
                    value = round(rng.gauss(62 + 33 * diligence, 8))
                    numbers["attendance"] = max(0, min(100, value))
                text = f"{month:%Y年%m月}{model.title.zh_Hans}：已按要求完成，记录见附件。"
                row = {
                    "indicator_id": indicator_id,
                    "branch_id": branch_id,
                    "period": period.key,
                    "version": 1,
                    "current": True,
                    "late": is_late,
                    "by_id": None,
                    "at": utc(on, zone, 10),
                    "on": on,
                    "text": text,
                    "numbers": numbers,
                    "search": searchable(
                        model.title.en, model.title.zh_Hans, name, period.key, text
                    ),
                }
                late += is_late
                if rng.random() < 0.03:  # corrected: the first version kept as history
                    corrected += 1
                    reports.append({**row, "current": False})
                    fixed = min(TODAY, on + timedelta(days=rng.randint(0, 5)))
                    row = {**row, "version": 2, "at": utc(fixed, zone, 15), "on": fixed}
                reports.append(row)
    await insert_all(db, Report, reports)

    tasks: list[dict[str, Any]] = []
    statuses: dict[str, int] = {}
    window = (TODAY - months[max(0, len(months) - 4)]).days
    for n in range(sizes.tasks):
        branch_id = branches[rng.randrange(len(branches))][0]
        created_on = TODAY - timedelta(days=rng.randint(0, window))
        due = created_on + timedelta(days=rng.choice((14, 30, 30, 45)))
        draw = rng.random()
        closed_on: date | None = None
        if due < TODAY:
            status = "done" if draw < 0.6 else "dropped" if draw < 0.7 else "open"
        else:
            status = "done" if draw < 0.3 else "open"
        if status == "open" and rng.random() < 0.4:
            status = "in_progress"
        if status == "done":
            closed_on = min(TODAY, due + timedelta(days=rng.randint(-20, 6)))
            closed_on = max(created_on, closed_on)
        elif status == "dropped":
            closed_on = min(TODAY, created_on + timedelta(days=rng.randint(1, 20)))
        shown = "overdue" if status in ("open", "in_progress") and due < TODAY else status
        statuses[shown] = statuses.get(shown, 0) + 1
        tasks.append(
            {
                "branch_id": branch_id,
                "title": f"整改事项{n}：补齐会议记录",
                "owner_id": None,
                "made_by_id": None,
                "made_by": "Bench admin",
                "source": None,
                "created_on": created_on,
                "due": due,
                "status": status,
                "closed_on": closed_on,
                "note": "已整改" if status == "done" else "",
                "reminded": 0,
            }
        )
    await insert_all(db, Task, tasks)
    return {
        "branches": len(branches),
        "indicators": len(indicator_ids),
        "reports": len(reports),
        "reports_late": late,
        "reports_corrected": corrected,
        "report_cells_missing": len(branches) * len(models) * len(months)
        - (len(reports) - corrected),
        "tasks": len(tasks),
        "tasks_by_status": dict(sorted(statuses.items())),
    }


class Statements:
    """Counts the statements an engine sends (what a per-branch query pattern shows)."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._one)

    def _one(self, *_args: Any) -> None:
        self.count += 1


@contextmanager
def profiled(enabled: bool, what: str) -> Iterator[None]:
    """With ``--profile``: cProfile's top frames (cumulative) of the block, to stderr."""
    if not enabled:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
        print(f"--- profile: {what}\n{out.getvalue()}", file=sys.stderr)


async def median_ms(
    repeat: int, statements: Statements, run: Callable[[], Awaitable[T]]
) -> tuple[float, int, T]:
    """The median of ``repeat`` runs in ms, the statements of one run, and its result."""
    times: list[float] = []
    before = statements.count
    result: T | None = None
    for _n in range(repeat):
        began = time.perf_counter()
        result = await run()
        times.append((time.perf_counter() - began) * 1000)
    assert result is not None
    return statistics.median(times), (statements.count - before) // repeat, result


async def loop_stall_ms(run: Callable[[], Awaitable[object]]) -> float:
    """The longest the event loop went unserved while ``run`` ran: what every other event
    waits at worst while a board is computed outside the batch (a 1 ms ticker's largest gap)."""
    done = asyncio.Event()
    worst = 0.0

    async def tick() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst, last = max(worst, now - last), now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        await run()
    finally:
        done.set()
        await ticker
    return round(worst * 1000, 1)


def median_sync_ms(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    times: list[float] = []
    result: T | None = None
    for _n in range(repeat):
        began = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - began) * 1000)
    assert result is not None
    return statistics.median(times), result


async def measure(url: str, sizes: argparse.Namespace) -> dict[str, Any]:
    config = configure(None, database_url=url, default_locale=LOCALE)
    settings: Settings = settings_of(config)
    zone = ZoneInfo(settings.timezone)
    db = Database(url, migrations=migrations(FEATURES))
    statements = Statements(db)
    language = translator(LOCALE, LOCALE)
    repeat = sizes.repeat
    try:
        began = time.perf_counter()
        await db.upgrade()
        migrated = time.perf_counter() - began
        began = time.perf_counter()
        seeded = await seed(db, sizes, zone, random.Random(sizes.seed))
        seed_seconds = time.perf_counter() - began
        figures: dict[str, Any] = {}
        month = monthly.previous_month(TODAY)
        async with db.session() as session:
            repos = Repositories(session)
            config_section = SupervisionConfig()
            ms, queries, shown = await median_ms(
                repeat, statements, lambda: board(repos, config_section, TODAY)
            )
            figures["board_ms"], figures["board_statements"] = ms, queries
            figures["board_rows_by_colour"] = {c.value: shown.count(c) for c in Colour}
            figures["board_loop_stall_ms"] = await loop_stall_ms(
                lambda: board(repos, config_section, TODAY)
            )
            with profiled(sizes.profile, f"board on {db.dialect}"):
                await board(repos, config_section, TODAY)

            legend = {colour: language.text(COLOUR[colour]) for colour in Colour}
            title = language.text(_("Supervision board, {day}")).format(day=language.day(TODAY))
            score = language.text(_("score"))
            ms, png = median_sync_ms(repeat, lambda: board_png(shown, title, legend, LOCALE, score))
            figures["board_png_ms"], figures["board_png_bytes"] = ms, len(png)
            ms, text = median_sync_ms(repeat, lambda: views.summary(language, shown))
            figures["summary_ms"], figures["summary_chars"] = ms, len(text.plain())

            ms, queries, whole = await median_ms(
                repeat,
                statements,
                lambda: monthly.month_report(repos, settings, month, None, LOCALE),
            )
            figures["month_report_organisation_ms"] = ms
            figures["month_report_organisation_statements"] = queries
            figures["month_items"] = len(whole.items)
            figures["month_items_by_colour"] = {c.value: whole.count(c) for c in Colour}
            figures["month_figures"] = len(whole.figures)
            with profiled(sizes.profile, f"month_report (organisation) on {db.dialect}"):
                await monthly.month_report(repos, settings, month, None, LOCALE)
            one = [shown.rows[len(shown.rows) // 2].branch_id]
            ms, queries, _report = await median_ms(
                repeat,
                statements,
                lambda: monthly.month_report(repos, settings, month, one, LOCALE),
            )
            figures["month_report_branch_ms"] = ms
            figures["month_report_branch_statements"] = queries
            ms, chart = median_sync_ms(
                repeat, lambda: monthly.chart(language, whole, "组织月度报告")
            )
            figures["month_chart_ms"], figures["month_chart_bytes"] = ms, len(chart)

        # The export, once, as ``branchbot report export`` runs it: its own store, upgraded,
        # the whole organisation and then one month report per branch in one session.
        opened: list[Statements] = []

        def database() -> Database:
            store = Database(url, migrations=migrations(FEATURES))
            opened.append(Statements(store))
            return store

        services = CliServices(database, settings)
        began = time.perf_counter()
        with profiled(sizes.profile, f"cli._reports on {db.dialect}"):
            whole, per_branch = await cli._reports(services, month, LOCALE)
        figures["export_reports_ms"] = (time.perf_counter() - began) * 1000
        figures["export_reports_statements"] = sum(s.count for s in opened)
        figures["export_branch_reports"] = len(per_branch)
        began = time.perf_counter()
        book = cli.workbook(language, whole, per_branch)
        figures["export_workbook_ms"] = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        out = io.BytesIO()
        book.save(out)
        figures["export_save_ms"] = (time.perf_counter() - began) * 1000
        figures["export_xlsx_bytes"] = len(out.getvalue())
        figures["export_total_ms"] = (
            figures["export_reports_ms"] + figures["export_workbook_ms"] + figures["export_save_ms"]
        )
        return {
            "migrate_seconds": round(migrated, 2),
            "seed_seconds": round(seed_seconds, 2),
            "seeded": seeded,
            **{k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()},
        }
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--indicators", type=int, default=20)
    parser.add_argument("--months", type=int, default=12, help="of reports, up to today's")
    parser.add_argument("--tasks", type=int, default=300, help="rectification tasks")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each figure (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one more board and month report, and the export (stderr)",
    )
    sizes = parser.parse_args()
    if min(sizes.branches, sizes.indicators, sizes.months, sizes.repeat) < 1:
        parser.error("every size is at least 1")
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "branches": sizes.branches,
        "indicators": sizes.indicators,
        "months": sizes.months,
        "tasks": sizes.tasks,
        "repeat": sizes.repeat,
        "today": TODAY.isoformat(),
        "month_reported": monthly.previous_month(TODAY).strftime("%Y-%m"),
    }
    if sizes.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            report["sqlite"] = await measure(f"sqlite:///{folder}/bench.db", sizes)
    if sizes.only in (None, "postgresql"):
        name = f"branchbot_board_bench_{os.getpid()}"
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            report["postgresql"] = await measure(f"{PG_SERVER}/{name}", sizes)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
