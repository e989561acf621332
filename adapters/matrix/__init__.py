"""Matrix through matrix-nio: ``adapter`` (lifecycle, sync loop, events in) on ``sending`` on
``invites`` (rooms and their members) on ``base`` (shared state); ``render`` (event contents),
``parse`` (timeline events in), ``rooms`` (direct-room bookkeeping), ``session`` (login)."""

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.base import Notices
from adapters.matrix.session import KeyValueStore, MatrixSettings

__all__ = ["KeyValueStore", "MatrixAdapter", "MatrixSettings", "Notices"]
