"""The ``[broadcast]`` config section: the digest, reminders, quiet hours (docs/broadcasts.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from bot.timetable import BadSchedule, QuietHours, parse_when


class BroadcastConfig(BaseModel):
    digest: str = "weekly mon 09:00"
    """When the digest goes out: a schedule phrase (see docs/broadcasts.md)."""
    reminder_interval_hours: float = Field(24.0, gt=0)
    reminder_max: int = Field(2, ge=0, le=20)
    quiet_hours: str = "22:00-08:00"
    """No reminders in this daily span (organisation time); empty for none."""
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

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        QuietHours.parse(value)
        return value
