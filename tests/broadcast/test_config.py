"""The ``[broadcast]`` config section: defaults, environment, refusals with a reason."""

from __future__ import annotations

import pytest

from bot.app import configure
from bot.config import ConfigError


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = configure(None)
    assert config.timezone == "Asia/Shanghai"
    assert config.broadcast.digest == "weekly mon 09:00"
    assert (config.broadcast.reminder_interval_hours, config.broadcast.reminder_max) == (24, 2)
    assert config.broadcast.quiet_hours == "22:00-08:00"
    monkeypatch.setenv("BRANCHBOT_BROADCAST__QUIET_HOURS", "")
    monkeypatch.setenv("BRANCHBOT_BROADCAST__DIGEST", "daily 18:00")
    config = configure(None)
    assert config.broadcast.quiet_hours == "" and config.broadcast.digest == "daily 18:00"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"digest": "sometimes"}, "broadcast.digest"),
        ({"quiet_hours": "late"}, "quiet hours"),
        ({"reminder_max": -1}, "reminder_max"),
        ({"reminder_interval_hours": 0}, "reminder_interval_hours"),
    ],
)
def test_bad_values_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        configure(None, broadcast=section)
