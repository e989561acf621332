"""Alembic driven on one connection, a revision at a time."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection

from bot.feature import migrations
from dialogs import FEATURES
from store.db import alembic_config


def migrate(connection: Connection, revision: str, down: bool = False) -> None:
    """Upgrade (or with ``down``, downgrade) the database on ``connection`` to ``revision``;
    the features' own branches are known too (a bot that ran wrote their revisions)."""
    config = alembic_config(connection, migrations(FEATURES))
    (command.downgrade if down else command.upgrade)(config, revision)
