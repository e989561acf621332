"""Time as the store keeps it: aware UTC in, aware UTC out (SQLite forgets the zone).

One ``Clock`` is read by the store, the scheduler, delivery and the features, so a test moves
time (``ManualClock.advance``) instead of sleeping or rewriting stored timestamps. The
``Database`` owns it and hands it to every session (``clock_of``), so a repository, which is
built from a session alone, reads the same clock as everything else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring how long something took."""
        ...


class SystemClock:
    """The real time: what the bot runs on."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class ManualClock:
    """A clock that stands still until moved: tests make hours pass in no time. It starts at
    the real time, so what it stamps looks like what the bot writes."""

    current: datetime = field(default_factory=SYSTEM_CLOCK.now)

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()

    def advance(self, delta: timedelta = timedelta(), /, **units: float) -> datetime:
        """Move forward by ``delta`` plus ``units`` (``advance(minutes=11)``); returns the
        new time."""
        self.current += delta + timedelta(**units)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = as_utc(moment)


def clock_of(session: AsyncSession) -> Clock:
    """The clock of the ``Database`` that made ``session``."""
    return cast(Clock, session.info["clock"])
