"""The relay: the one place that knows who wrote an anonymous letter.

The writer's member id is sealed with AES-GCM under a key kept outside the database (the
config's ``relay_key`` or the file ``relay_key_file``), bound to the letter's id, so a copy of
the database alone cannot tell who wrote what, and a sealed id moved to another letter does
not open. No command shows what the relay opens: it is read to deliver a message to the
writer, to tell whether the one acting on a letter wrote it ("my letters", a follow-up), and
to check a block. Blocks are sealed the same way (under a fresh nonce each, so two blocks of one
member look unrelated); the daily cap counts under a keyed hash (HMAC-SHA256) of member and day.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dialogs.mailbox.config import MailboxConfig

NONCE = 12
_keys: dict[tuple[str, str], Relay] = {}
"""One relay per key source and process: the key file is read once."""


@dataclass(frozen=True, slots=True)
class Relay:
    key: bytes

    def seal(self, letter_id: int, member_id: int) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, str(member_id).encode(), _aad(letter_id))

    def open(self, letter_id: int, sealed: bytes) -> int | None:
        """The writer of ``letter_id``; ``None`` when it was sealed under another key (or for
        another letter)."""
        try:
            plain = AESGCM(self.key).decrypt(sealed[:NONCE], sealed[NONCE:], _aad(letter_id))
        except (InvalidTag, ValueError):
            return None
        return int(plain)

    def seal_bytes(self, purpose: str, data: bytes) -> bytes:
        """A draft's text or image, bound to its draft token (``purpose``)."""
        nonce = secrets.token_bytes(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, data, purpose.encode())

    def open_bytes(self, purpose: str, sealed: bytes) -> bytes | None:
        try:
            return AESGCM(self.key).decrypt(sealed[:NONCE], sealed[NONCE:], purpose.encode())
        except (InvalidTag, ValueError):
            return None

    def token(self, *parts: object) -> str:
        """A keyed hash that names a member (with a day, for the cap) without showing them."""
        text = "\x1f".join(str(part) for part in parts)
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def quota_token(self, member_id: int, day: date) -> str:
        return self.token("quota", member_id, day.isoformat())


def _aad(letter_id: int) -> bytes:
    return f"mail-letter:{letter_id}".encode()


def relay_of(config: MailboxConfig) -> Relay:
    """The relay for ``config``: its ``relay_key``, or the key file, made on first use."""
    if config.relay_key is not None:
        secret = config.relay_key.get_secret_value()
        source = ("key", hashlib.sha256(secret.encode()).hexdigest())
        if source not in _keys:
            _keys[source] = Relay(bytes.fromhex(secret))
        return _keys[source]
    path = config.relay_key_file.expanduser().resolve()
    source = ("file", str(path))
    if source not in _keys:
        _keys[source] = Relay(_read_or_create(path))
    return _keys[source]


def _read_or_create(path: Path) -> bytes:
    """The key in ``path`` (64 hex digits); a new random one put there (0600) when the file
    does not exist yet. Written to a temporary file first and linked into place, which fails
    when the file exists: two processes starting together read the same complete key."""
    if not path.exists():
        key = secrets.token_bytes(32)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(key.hex() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError(f"{path}: the mailbox relay key must be 64 hex digits")
    return key
