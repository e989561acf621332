"""Alembic driven on one connection, a revision at a time."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection

from store.db import alembic_config


def migrate(connection: Connection, revision: str, down: bool = False) -> None:
    """Upgrade (or with ``down``, downgrade) the database on ``connection`` to ``revision``."""
    (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)
