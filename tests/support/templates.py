"""Migrated databases made once per test worker and copied for each test.

Running every Alembic revision takes about 0.3 s on SQLite and 1 s on PostgreSQL, and most
tests start their bot on a new database. ``migrated`` runs the revisions once per worker into a
template (a file for SQLite, a database for PostgreSQL) and copies it into the test's empty
database: the same schema and ``alembic_version`` the upgrade writes, so the bot's own upgrade
at start finds nothing to do. Tests of the migrations themselves keep the empty database.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.feature import migrations as feature_migrations
from dialogs import FEATURES
from store.db import Database
from tests.support.postgres import PG_SERVER, admin

DEFAULT = tuple(feature_migrations(FEATURES))
"""The revision directories a ``BranchBot`` with the in-tree features upgrades with."""

_templates: dict[tuple[str, tuple[Path, ...]], str] = {}
"""(dialect, revision directories) -> the template's SQLite path or PostgreSQL name."""
_directory: Path | None = None


def _sqlite_directory() -> Path:
    global _directory
    if _directory is None:
        _directory = Path(tempfile.mkdtemp(prefix="branchbot-templates-"))
        atexit.register(shutil.rmtree, _directory, True)
    return _directory


def _exists(path: Path) -> bool:
    return path.exists()


async def _upgrade(url: str, migrations: tuple[Path, ...]) -> None:
    db = Database(url, migrations=migrations)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


async def migrated(url: str, migrations: Sequence[Path] = DEFAULT) -> None:
    """Fill the database at ``url``, if it is new (no SQLite file, no PostgreSQL table), with
    the schema ``migrations`` upgrade it to; a database in use is left as it is (a restart's
    second bot upgrades it itself)."""
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    key = (dialect, tuple(migrations))
    if dialect == "sqlite":
        target = Path(str(parsed.database))
        if _exists(target):
            return
        template = _templates.get(key)
        if template is None:
            template = str(_sqlite_directory() / f"template-{len(_templates)}.db")
            await _upgrade(f"sqlite:///{template}", key[1])
            if _exists(Path(f"{template}-wal")):
                raise RuntimeError("the template's WAL was not checkpointed into its file")
            _templates[key] = template
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)  # disposed: the WAL is checkpointed into the file
        return
    name = str(parsed.database)
    template = _templates.get(key)
    if template is None:
        template = f"{name}_t{len(_templates)}"
        await admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        await admin(f'CREATE DATABASE "{template}"')
        await _upgrade(f"{PG_SERVER}/{template}", key[1])
        _templates[key] = template
    connection = await asyncpg.connect(url)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    if tables:
        return
    await admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')


async def drop_templates() -> None:
    """Drop this worker's PostgreSQL templates (the SQLite ones go with the process)."""
    for (dialect, _), template in list(_templates.items()):
        if dialect != "sqlite":
            await admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            del _templates[(dialect, _)]
