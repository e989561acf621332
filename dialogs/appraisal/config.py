"""The ``[appraisal]`` config section: the k rule, the excellent quota, answer limits, the
reminders to those who have not submitted (docs/appraisal.md, docs/privacy.md)."""

from __future__ import annotations

from pydantic import Field

from bot.reminders import ReminderSettings


class AppraisalConfig(ReminderSettings):
    """``reminder_interval_hours``, ``reminder_max`` and ``quiet_hours`` (``ReminderSettings``)
    govern the reminders to members who have not submitted, as they do a notice's."""

    k: int = Field(5, ge=2, le=1000)
    """The fewest answers any figure is shown for, and the fewest submissions the mixer moves
    into the answer ledger at once: below it nobody could stay anonymous."""
    excellent_quota: float = Field(1 / 3, gt=0, le=1)
    """The share of the members one person grades that may be graded excellent (rounded
    down: with 1/3, one of three to five, two of six to eight)."""
    text_max_length: int = Field(2000, ge=1, le=10000)
    """Characters of a free-text answer at most, where the template sets no lower limit."""
    good_from: float = Field(0.75, ge=0, le=1)
    """The share of the scale (0 at its lowest point, 1 at its highest) from which a report
    colours an item, or a branch overall, good (好, green): 4 of 5 is 0.75."""
    medium_from: float = Field(0.5, ge=0, le=1)
    """The share from which it is medium (中, yellow); below it poor (差, red): 3 of 5 is 0.5."""
