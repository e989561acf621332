"""Config from TOML and BRANCHBOT_* variables, and the CLI around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import configure
from bot.cli import main
from bot.config import ConfigError

EXAMPLE = """
database_url = "sqlite:///var/branchbot.db"
default_locale = "en"
timezone = "Asia/Shanghai"
admins = ["webhook:lab:boss"]
playground = false
[http]
host = "127.0.0.1"
port = 8080
[[webhook.channels]]
name = "lab"
secret_env = "LAB_SECRET"
callback_url = "http://127.0.0.1:9000/inbox"
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAB_SECRET", "s3cret-s3cret-s3cret")
    path = tmp_path / "branchbot.toml"
    path.write_text(EXAMPLE)
    return path


def test_file_and_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANCHBOT_HTTP__PORT", "9100")
    monkeypatch.setenv("BRANCHBOT_ADMINS", '["telegram:1"]')
    config = configure(config_file)
    assert config.database_url == f"sqlite:///{config_file.parent}/var/branchbot.db"
    assert config.default_locale == "en" and config.http.port == 9100
    assert config.admins == ["telegram:1"]
    assert config.webhook.channels[0].resolved_secret() == "s3cret-s3cret-s3cret"
    assert not config.playground_enabled and config.all_admins == ["telegram:1"]


def test_defaults() -> None:
    config = configure(None)
    assert config.default_locale == "zh_Hans" and config.timezone == "Asia/Shanghai"
    assert config.playground_enabled and "webhook:playground:ada" in config.all_admins


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"default_locale": "fr"}, "default_locale"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"admins": ["boss"]}, "platform-qualified"),
        ({"database_url": "mysql://x/y"}, "database_url"),
        ({"playground": True, "http": {"host": "0.0.0.0"}}, "playground"),
        ({"webhook": {"channels": [{"name": "x", "callback_url": "http://a"}]}}, "secret"),
        (
            {
                "webhook": {
                    "channels": [{"name": "x", "secret": "short", "callback_url": "http://a"}]
                }
            },
            "at least 16 bytes",
        ),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_bad_config_is_refused_with_a_reason(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        configure(None, **overrides)


def test_playground_is_off_by_default_on_a_public_address() -> None:
    assert not configure(None, http={"host": "0.0.0.0"}).playground_enabled


def test_cli(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", "--config", str(config_file)]) == 0
    assert "s3cret-s3cret-s3cret" not in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(config_file)]) == 0
    assert main(["admin", "add", "matrix:@boss:example.org", "--config", str(config_file)]) == 0
    assert "now an admin" in capsys.readouterr().out
    assert main(["admin", "add", "matrix:@boss:example.org", "--config", str(config_file)]) == 0
    assert "already an admin" in capsys.readouterr().out
    assert main(["admin", "add", "boss", "--config", str(config_file)]) == 2
    assert main(["config", "check", "--config", str(config_file.parent / "nope.toml")]) == 2


def test_credentials_never_reach_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from bot.cli import _logging

    _logging("INFO", "text")
    token = "123456:AAH" + "x" * 32
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/getMe", token)
    logging.getLogger("nio").warning("GET /sync?access_token=syt_secret_value&since=s1")
    logging.getLogger("httpx").info("INFO is not shown for httpx at all")
    logging.getLogger("bot").error("callback failed: InvalidURL('http://u:hunter2@[::1/in')")
    err = capsys.readouterr().err
    assert token not in err and "syt_secret_value" not in err and "hunter2" not in err
    assert "InvalidURL('http://<secret>@[::1/in')" in err
    assert "/bot<secret>/getMe" in err and "access_token=<secret>&since" in err
    assert "INFO is not shown" not in err
    logging.basicConfig(force=True)
