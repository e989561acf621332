"""Evidence files on disk, under their SHA-256: what a platform only lends (a Telegram file
id, a Matrix mxc URL) the adapter downloaded; here it is kept, so the evidence outlives the
chat. A file is written to a temporary name, flushed to disk and renamed into place, so a
crash leaves either the whole file or none; the same bytes sent twice are kept once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.context import Settings
from dialogs.supervision.config import SupervisionConfig

DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class FileStore:
    root: Path

    @classmethod
    def of(cls, settings: Settings) -> FileStore:
        """The configured ``files_dir``, else ``evidence/`` beside the database."""
        configured = settings.section(SupervisionConfig).files_dir
        return cls(configured if configured is not None else settings.data_dir / "evidence")

    def path(self, digest: str) -> Path:
        if not DIGEST.match(digest):
            raise ValueError("not a SHA-256 digest")
        return self.root / digest[:2] / digest

    def _put(self, data: bytes, digest: str) -> None:
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{digest}.{secrets.token_hex(4)}")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)

    async def put(self, data: bytes) -> str:
        """Keep ``data``; its digest names it. Written in a thread: the event loop goes on."""
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._put, data, digest)
        return digest

    async def read(self, digest: str) -> bytes | None:
        """The file's bytes, or ``None`` when it is gone (restored without its files)."""
        try:
            return await asyncio.to_thread(self.path(digest).read_bytes)
        except FileNotFoundError:
            return None
