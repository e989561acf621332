"""Alembic environment: runs on the connection ``store.db`` hands it (sync, inside run_sync)."""

from alembic import context

import dialogs  # noqa: F401  (the in-tree features: importing them declares their tables)
from store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through `branchbot db upgrade`, which supplies the connection"
    )

context.configure(
    connection=connection,
    # Every table on the shared Base: the core's, the in-tree features', and those of any
    # feature the running process composed (it imported them), so autogenerate sees them all.
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
