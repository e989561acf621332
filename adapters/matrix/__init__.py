"""Matrix through matrix-nio: ``adapter`` (sync loop, sending), ``render`` (event contents),
``parse`` (timeline events in), ``rooms`` (direct-room bookkeeping), ``session`` (login)."""

from adapters.matrix.adapter import MatrixAdapter, Notices
from adapters.matrix.session import KeyValueStore, MatrixSettings

__all__ = ["KeyValueStore", "MatrixAdapter", "MatrixSettings", "Notices"]
