"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL (by URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.clock import SYSTEM_CLOCK, Clock

MIGRATIONS = Path(__file__).parent / "migrations"

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """``sqlite:///x.db`` and ``postgresql://u@h/db`` pick their async driver for you."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed (docs/privacy.md)
    cursor.close()


class Database:
    """One engine and its session factory. ``dialect`` tells repositories which upsert to use;
    ``clock`` is the time every session's repositories read (``store.clock.clock_of``)."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        clock: Clock = SYSTEM_CLOCK,
        migrations: Sequence[Path] = (),
    ) -> None:
        self.url = async_url(url)
        self.clock = clock
        self.migrations = tuple(migrations)
        """The features' own revision directories, each a branch beside the core's."""
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        # No statement's parameters in a log line or an error's text (docs/privacy.md).
        options: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            options.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"clock": clock}
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (``branchbot run`` does this on start)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade, self.migrations)

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(connection: Connection | None = None, migrations: Sequence[Path] = ()) -> Config:
    """The core's revisions, and ``migrations``: directories of a feature's own revisions, on
    a branch of their own (``branch_labels``), so a feature adds tables without a core file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = [MIGRATIONS / "versions", *migrations]
    config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, migrations: Sequence[Path]) -> None:
    command.upgrade(alembic_config(connection, migrations), "heads")
