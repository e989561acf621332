"""Fixtures the learning tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store.db import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated store of its own (both stores, via ``database_url``)."""
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.dispose()
