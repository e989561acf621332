"""A stored schedule in the reader's words: ``2026年12月3日 09:00``, ``每周一 09:00``.

The stored spec (``at 2026-12-03 09:00``, ``weekly mon 09:00``) is the command syntax people
type in English; shown raw it would put English into a Chinese reply, so every place a schedule
is shown writes it through here.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Translator, _
from bot.markup import Markup
from bot.timetable import phrase

WEEKDAYS = {
    "mon": _("Monday"),
    "tue": _("Tuesday"),
    "wed": _("Wednesday"),
    "thu": _("Thursday"),
    "fri": _("Friday"),
    "sat": _("Saturday"),
    "sun": _("Sunday"),
}
RULES = {
    "daily": _("daily at {time}"),
    "weekdays": _("working days at {time}"),
    "weekly": _("every {day} at {time}"),
    "monthly": _("monthly on day {date} at {time}"),
    "cron": _("`cron {rule}`"),
}


def schedule_words(t: Translator, spec: str, zone: str, *, named: bool = True) -> Markup:
    """``spec`` as the reader says it; ``named`` adds the time zone (not under a heading that
    names it already). A spec this version never writes is shown as it is stored."""
    parsed = phrase(spec)
    if parsed is None:
        return Markup.format("`{spec}`", spec=spec)
    if parsed.moment is not None:
        moment = parsed.moment.replace(tzinfo=ZoneInfo(zone))
        return Markup.literal(t.moment(moment, zone, named=named))
    rule = t(
        RULES[parsed.kind],
        time=f"{parsed.hour:02d}:{parsed.minute:02d}",
        day=t.text(WEEKDAYS[parsed.day]) if parsed.day else "",
        date=parsed.date,
        rule=parsed.rule,
    )
    if not named:
        return rule
    return t(_("{rule} ({zone})"), rule=rule, zone=t.zone(zone))
