"""The relay's key and seals: the key file is made once (mode 0600) and read back the same by
every process, a damaged one is refused, and a seal opens only with its key and for its letter
(two seals of one member look unrelated)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.relay import Relay, relay_of


def test_the_key_file_is_made_once_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "relay.key"
    first = relay_of(MailboxConfig(relay_key_file=path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["relay.key"], "no temporary file left"
    again = relay_of(MailboxConfig(relay_key_file=tmp_path / "." / "relay.key"))
    assert again.key == first.key


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.key"
    path.write_text("not hex\n")
    with pytest.raises(ValueError, match="64 hex digits"):
        relay_of(MailboxConfig(relay_key_file=path))


def test_a_seal_opens_only_with_its_key_and_for_its_letter() -> None:
    relay = Relay(bytes(range(32)))
    sealed = relay.seal(7, 42)
    assert relay.open(7, sealed) == 42
    assert relay.open(8, sealed) is None
    assert Relay(bytes(32)).open(7, sealed) is None
    assert relay.seal(7, 42) != sealed, "a fresh nonce each time"
    assert relay.open(7, sealed[:-1] + bytes([sealed[-1] ^ 1])) is None
