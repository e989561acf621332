"""Persistence: SQLAlchemy models, named queries and Alembic migrations. Imports nothing of ours."""
