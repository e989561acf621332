"""Reminders to those who still owe something (an acknowledgement, a form to fill in).

One policy for every feature that reminds: an interval between reminders, a maximum per
person, quiet hours in the organisation's zone, and a budget of reminders per worker tick (a
round over thousands of people is spread over several ticks, and each tick looks at the quiet
hours again, so a long round cannot spill into them). A feature keeps its own state (what was
sent to whom, when) and asks ``due`` which of its rows a tick may remind. The config section
of such a feature takes the same settings from ``ReminderSettings``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self, TypeVar

from pydantic import BaseModel, Field, field_validator

from bot.timetable import QuietHours

Row = TypeVar("Row")


class ReminderSettings(BaseModel):
    """The reminder settings a feature's config section shares (docs/config.md)."""

    reminder_interval_hours: float = Field(24.0, gt=0)
    reminder_max: int = Field(2, ge=0, le=20)
    quiet_hours: str = "22:00-08:00"
    """No reminders in this daily span (organisation time); empty for none."""

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        QuietHours.parse(value)
        return value


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When a worker may remind, and whom (``ReminderSettings`` read for a worker)."""

    reminder_interval: timedelta = timedelta(hours=24)
    reminder_max: int = 2
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    chunk: int = 500
    """Reminders queued per tick at most."""

    @classmethod
    def of(cls, settings: ReminderSettings, chunk: int = 500) -> Self:
        return cls(
            reminder_interval=timedelta(hours=settings.reminder_interval_hours),
            reminder_max=settings.reminder_max,
            quiet_hours=QuietHours.parse(settings.quiet_hours),
            chunk=chunk,
        )

    def quiet(self, moment: datetime, timezone: str) -> bool:
        """Whether ``moment`` falls in the quiet hours: no reminder goes out then."""
        return self.quiet_hours.contains(moment, timezone)

    def cutoff(self, moment: datetime) -> datetime:
        """Whoever was last reminded (or first told) before this is due again."""
        return moment - self.reminder_interval

    def due(
        self,
        rows: Iterable[Row],
        moment: datetime,
        sent: Callable[[Row], int],
        since: Callable[[Row], datetime],
    ) -> list[Row]:
        """The rows a tick at ``moment`` may remind: fewer than ``reminder_max`` reminders
        ``sent``, the last (or the first message) at least an interval before, at most
        ``chunk`` of them."""
        before = self.cutoff(moment)
        picked: list[Row] = []
        for row in rows:
            if len(picked) >= self.chunk:
                break
            if sent(row) < self.reminder_max and since(row) <= before:
                picked.append(row)
        return picked
