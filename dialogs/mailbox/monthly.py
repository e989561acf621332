"""The mailbox's lines in the monthly branch report (``bot/figures.py``): the letters written
in the month, the share answered by their first-answer deadline, the mean rating. The same
figures as ``/mail stats`` (``views.figures``), over one month's letters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from bot.figures import Figure, Span, Unit
from bot.i18n import _
from bot.workdays import WorkCalendar
from dialogs.mailbox.repository import Mailbox
from dialogs.mailbox.views import figures
from store.repos import Repositories

LETTERS = _("Letters to the secretary mailbox")
IN_TIME = _("Letters answered in time")
RATING = _("Mean rating of the letters")


def today(repos: Repositories, span: Span) -> date:
    """The organisation's day now, from the span: its first day began at ``span.start``."""
    return span.first_day + timedelta(days=(repos.clock.now() - span.start).days)


async def monthly(repos: Repositories, span: Span) -> Sequence[Figure]:
    """A letter counts for the month it was written in (its writer's branch then; the whole
    organisation also counts the letters to the admins). "In time" is of the letters due by
    now: answered, or past their deadline unanswered (one written late in the month and not
    yet due is left out until it is). Anonymous letters count once released, as everywhere."""
    letters = await repos.get(Mailbox).letters(
        span.branch_ids, since=span.first_day, until=span.last_day
    )
    # No working day is counted here (the median is not a line of the report), so the
    # calendar without the organisation's own days off does.
    found = figures(letters, today(repos, span), WorkCalendar())
    return (
        Figure(LETTERS, float(found.letters), Unit.COUNT),
        Figure(IN_TIME, found.in_time, Unit.SHARE, of=found.due),
        Figure(RATING, found.rating, Unit.STARS, of=found.rated),
    )
