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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:hunter2@127.0.0.1:99999/in", "http://***@127.0.0.1:99999/in"),
        ("http://user:hunter2@[::1/in", "http://***@[::1/in"),
        ("http://user:hunt@er2@host/in?k=hunter2", "http://***@host/in?k=***"),
    ],
)
def test_a_url_no_parser_accepts_is_masked_too(
    url: str,
    shown: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "branchbot.toml"
    path.write_text(
        f'playground = false\n[[webhook.channels]]\nname = "lab"\n'
        f'secret = "channel-secret-0123456789"\ncallback_url = "{url}"\n'
    )
    assert main(["config", "check", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "hunter2" not in printed and "er2" not in printed, printed
    assert json.loads(printed)["webhook"]["channels"][0]["callback_url"] == shown


@pytest.mark.parametrize(
    ("setting", "where"),
    [
        ('database_url = "postgresql://u:hunter2@[::1/db"', "database_url"),
        ('database_url = ["postgresql://u:hunter2@db/x"]', "database_url"),
        ('[http]\nport = "hunter2"', "http.port"),
        ('[telegram]\ntoken = ["hunter2"]', "telegram.token"),
    ],
)
def test_a_validation_error_does_not_echo_the_value(
    setting: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "branchbot.toml"
    path.write_text(setting + "\n")
    assert main(["config", "check", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err, err
    assert f"  {where}: " in err, err
