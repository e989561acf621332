"""The ``[broadcast]`` config section: the digest, reminders, quiet hours (docs/broadcasts.md)."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.reminders import ReminderSettings
from bot.timetable import BadSchedule, parse_when


class BroadcastConfig(ReminderSettings):
    """The reminders of notices asking for "received" (``ReminderSettings``), and more."""

    digest: str = "weekly mon 09:00"
    """When the digest goes out: a schedule phrase (see docs/broadcasts.md)."""
    chunk: int = Field(500, ge=1, le=5000)
    """Recipients put into the outbox per transaction."""

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        try:
            parse_when(value, "UTC")
        except BadSchedule as error:
            raise ValueError(f"broadcast.digest: cannot read {value!r}") from error
        return value
