"""When things happen: the schedule phrases people type, cron rules, quiet hours.

Pure functions on top of APScheduler's triggers, shared by the scheduler (which registers jobs
from stored rules) and the dialogs (which check what a person typed before storing it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)"
_PHRASES = {
    "daily": (re.compile(rf"^daily {_TIME}$"), "{minute} {hour} * * *"),
    "weekdays": (re.compile(rf"^weekdays {_TIME}$"), "{minute} {hour} * * mon-fri"),
    "weekly": (
        re.compile(rf"^weekly (?P<day>{'|'.join(DAYS)}) {_TIME}$"),
        "{minute} {hour} * * {day}",
    ),
    "monthly": (
        re.compile(rf"^monthly (?P<date>[1-9]|[12]\d|3[01]) {_TIME}$"),
        "{minute} {hour} {date} * *",
    ),
}
_AT = re.compile(r"^(?:at )?(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class When:
    """A parsed schedule: one moment (aware UTC) or a cron rule in the organisation's zone."""

    spec: str
    run_at: datetime | None = None
    cron: str | None = None


class BadSchedule(ValueError):
    pass


class NeverFires(BadSchedule):
    """A well-formed rule with no slot within ``HORIZON`` (``cron 0 0 31 4,6,9,11 *``)."""


HORIZON = timedelta(days=5 * 366)
"""How far ahead a next slot is searched. APScheduler alone searches up to the year 9999, which
takes almost half a second for a rule that never fires; nothing we schedule is that far off."""


@dataclass(frozen=True, slots=True)
class Timetable:
    """A stored schedule as the scheduler sees it (times aware UTC)."""

    id: int
    cron: str | None
    run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime


def parse_when(text: str, timezone: str) -> When:
    """``2026-12-01 09:00`` (``at`` optional), ``daily 08:30``, ``weekdays 08:30``,
    ``weekly mon 09:00``, ``monthly 1 09:00`` or ``cron <minute hour day month weekday>``."""
    spec = " ".join(text.lower().split())
    moment = _AT.match(spec)
    if moment:
        try:
            local = datetime.strptime(f"{moment[1]} {moment[2]}", "%Y-%m-%d %H:%M")
        except ValueError as error:
            raise BadSchedule(spec) from error
        run_at = local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
        return When(f"at {local:%Y-%m-%d %H:%M}", run_at=run_at)
    for pattern, template in _PHRASES.values():
        match = pattern.match(spec)
        if match:
            values = {k: str(int(v)) if v.isdecimal() else v for k, v in match.groupdict().items()}
            return When(spec, cron=template.format(**values))
    if spec.startswith("cron "):
        rule = spec[5:]
        if next_run(rule, timezone, datetime.now(UTC)) is None:
            raise NeverFires(rule)
        return When(spec, cron=rule)
    raise BadSchedule(spec)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A stored spec taken apart, so that it can be shown in the reader's words: ``kind`` is
    ``at`` (``moment`` is the local time), a phrase's name, or ``cron`` (``rule``)."""

    kind: str
    moment: datetime | None = None
    day: str = ""
    date: int = 0
    hour: int = 0
    minute: int = 0
    rule: str = ""


def phrase(spec: str) -> Phrase | None:
    """The spec as ``parse_when`` stored it, taken apart; ``None`` for one it never writes."""
    moment = _AT.match(spec)
    if moment:
        try:
            local = datetime.strptime(f"{moment[1]} {moment[2]}", "%Y-%m-%d %H:%M")
        except ValueError:
            return None
        return Phrase("at", moment=local)
    for kind, (pattern, _template) in _PHRASES.items():
        match = pattern.match(spec)
        if match:
            values = match.groupdict()
            return Phrase(
                kind,
                day=values.get("day") or "",
                date=int(values.get("date") or 0),
                hour=int(values["hour"]),
                minute=int(values["minute"]),
            )
    if spec.startswith("cron "):
        return Phrase("cron", rule=spec[5:])
    return None


def trigger(cron: str, timezone: str, end: datetime | None = None) -> CronTrigger:
    """The rule as APScheduler's trigger; ``end`` bounds its search for a next slot."""
    fields = _named_weekdays(cron).split()
    if len(fields) != 5:
        raise BadSchedule(cron)
    minute, hour, day, month, day_of_week = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=ZoneInfo(timezone),
            end_date=end,
        )
    except ValueError as error:
        raise BadSchedule(cron) from error


# Crontab numbers weekdays 0/7 = Sunday, 1 = Monday … 6 = Saturday.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC_DAYS = re.compile(r"^(?:\*|(?P<first>\d+)(?:-(?P<last>\d+))?)(?:/(?P<step>\d+))?$")


def _named_weekdays(cron: str) -> str:
    """The rule with numeric weekdays written as names.

    APScheduler's ``from_crontab`` numbers weekdays Monday = 0, so ``0 9 * * 1`` would fire on
    Tuesdays; people (and every crontab manual) mean Monday. Names mean the same to both.
    """
    fields = cron.split()
    if len(fields) != 5:
        return cron
    parts = []
    for part in fields[4].split(","):
        match = _NUMERIC_DAYS.match(part)
        if match is None or part == "*":
            parts.append(part)  # names, or "*": APScheduler reads them as crontab does
            continue
        first = int(match["first"]) if match["first"] is not None else 0
        last = int(match["last"]) if match["last"] is not None else first
        if match["first"] is None or (match["step"] is not None and match["last"] is None):
            last = 6 if match["first"] is None else 7
        step = int(match["step"]) if match["step"] is not None else 1
        if not 0 <= first <= last <= 7 or step < 1:
            raise BadSchedule(cron)
        parts.extend(_CRON_DAYS[day] for day in range(first, last + 1, step))
    days = list(dict.fromkeys(parts))
    return " ".join([*fields[:4], ",".join(days)])


def next_run(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first slot of ``cron`` strictly after ``after`` (aware UTC out); ``None`` when there
    is none within ``HORIZON`` of it."""
    fire = trigger(cron, timezone, after + HORIZON).get_next_fire_time(
        None, after + timedelta(microseconds=1)
    )
    return fire.astimezone(UTC) if fire is not None else None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span (it may cross midnight) in the organisation's zone with no reminders."""

    start: time | None = None
    end: time | None = None

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``22:00-08:00``; an empty text means no quiet hours."""
        if not text.strip():
            return cls()
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not match:
            raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, moment: datetime, timezone: str) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        local = moment.astimezone(ZoneInfo(timezone)).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end
