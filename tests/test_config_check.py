"""``branchbot config check`` prints the configuration without any credential in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

CONFIG = """
database_url = "postgresql://bot:db-pass-1@db.example.org:5433/branchbot"
playground = false
[telegram]
token = "123:tg-token-1"
mode = "webhook"
webhook_url = "https://hook:hook-pass-1@bot.example.org/telegram?secret=tg-query-1"
[[webhook.channels]]
name = "lab"
secret = "channel-secret-0123456789"
callback_url = "https://bridge:cb-pass-1@bridge.example.org:8443/in?x=1&access_token=cb-query-1"
[[webhook.channels]]
name = "ipv6"
secret_env = "IPV6_SECRET"
callback_url = "http://token-only-1@[::1]:9000/hook"
"""
SECRETS = [
    "db-pass-1",
    "tg-token-1",
    "hook-pass-1",
    "tg-query-1",
    "channel-secret",
    "cb-pass-1",
    "cb-query-1",
    "token-only-1",
    "bridge:",
    "hook:",
]


def test_config_check_masks_every_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IPV6_SECRET", "ipv6-secret-0123456789")
    path = tmp_path / "branchbot.toml"
    path.write_text(CONFIG)
    assert main(["config", "check", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    assert not [secret for secret in SECRETS if secret in printed], printed
    shown = json.loads(printed)
    channels = shown["webhook"]["channels"]
    assert shown["database_url"] == "postgresql://***@db.example.org:5433/branchbot"
    assert channels[0]["callback_url"] == (
        "https://***@bridge.example.org:8443/in?x=***&access_token=***"
    )
    assert channels[1]["callback_url"] == "http://***@[::1]:9000/hook"
    assert channels[1]["secret_env"] == "IPV6_SECRET"
    assert shown["telegram"]["webhook_url"] == "https://***@bot.example.org/telegram?secret=***"
    assert shown["telegram"]["api_url"] == "https://api.telegram.org"
