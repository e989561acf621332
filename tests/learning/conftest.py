"""Fixtures the learning tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store.db import Database
from tests.support.templates import migrated


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated store of its own (both stores, via ``database_url``)."""
    await migrated(database_url, ())  # a copy of the core's revisions, run once per worker
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()
