"""The ``[supervision]`` config section: where evidence is kept, the warnings, the monthly
report and the web board (docs/supervision.md)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from bot.reminders import ReminderSettings

AT = re.compile(r"^(?:[01]?\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SupervisionConfig(ReminderSettings):
    """``quiet_hours`` (``ReminderSettings``) hold back every warning and reminder; the
    monthly report and the weekly summary wait for them to end too."""

    files_dir: Path | None = None
    """Where evidence files are kept; unset: ``evidence/`` beside the SQLite database (or in
    the working directory with PostgreSQL). A relative path is taken from the working
    directory. Back it up with the database."""
    file_max_bytes: int = Field(20 * 1024 * 1024, ge=10_000, le=20 * 1024 * 1024)
    """One evidence file at most (Telegram lends bots files of 20 MB at most)."""
    files_per_report: int = Field(10, ge=1, le=50)
    text_max_length: int = Field(4000, ge=100, le=20000)
    warn_before_days: int = Field(3, ge=0, le=30)
    """Days before a deadline at which a branch that has not reported is warned (0: only
    when it passes)."""
    late_days: int = Field(30, ge=0, le=366)
    """Days after a deadline in which a report is still accepted (marked late) and a report
    corrected; then the period is closed."""
    task_days: int = Field(30, ge=1, le=366)
    """A rectification task's deadline when its maker gives none."""
    task_remind_days: int = Field(3, ge=0, le=30)
    task_red_days: int = Field(14, ge=1, le=366)
    """An overdue task turns its branch yellow; this many days overdue, red."""
    weekly_summary: str = "mon 09:00"
    """When the admins get the week's red items (a weekday and a time; empty: never)."""
    monthly_report_at: str = "09:00"
    """The monthly report goes out on the first working day of each month at this time."""
    link_minutes: int = Field(10, ge=1, le=60)
    """How long a ``/board web`` link may be opened (once)."""
    session_hours: int = Field(8, ge=1, le=24 * 7)
    """How long the web board stays open in the browser after the link."""

    @field_validator("weekly_summary")
    @classmethod
    def _weekly(cls, value: str) -> str:
        value = " ".join(value.lower().split())
        if value:
            day, _, at = value.partition(" ")
            if day not in WEEKDAYS or not AT.match(at):
                raise ValueError("weekly_summary is a weekday and a time, like 'mon 09:00'")
        return value

    @field_validator("monthly_report_at")
    @classmethod
    def _at(cls, value: str) -> str:
        if not AT.match(value.strip()):
            raise ValueError("monthly_report_at is a time of day, like '09:00'")
        return value.strip()
