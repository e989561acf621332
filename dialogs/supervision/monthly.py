"""The monthly branch report: for one branch (its secretaries') or the whole organisation
(the admins'), the month's indicators, its rectification, and the figures other features
give (``Settings.figures``: learning participation, the broadcast acknowledgement rate, the
appraisal and mailbox figures, where those features are composed), with one chart.

The watch worker sends it on the first working day of the next month; ``branchbot report
export`` writes the same figures as a workbook (``export``). A month's indicators are the
periods whose deadline fell in it (November's report rates October's monthly items, due in
November): a period is rated once its deadline has passed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.charts import BarChart, Series, png
from bot.context import Settings
from bot.figures import Figure, Span, Unit
from bot.i18n import Translator, _
from bot.markup import Markup
from dialogs.supervision.board import colour_of
from dialogs.supervision.common import DOT
from dialogs.supervision.indicators import Colour
from dialogs.supervision.periods import due_in
from dialogs.supervision.repository import Supervision, TaskCounts
from store.models import Branch
from store.repos import Repositories

GREEN_BAR, OTHER_BAR = (46, 158, 79), (70, 110, 180)
MISSING_LISTED = 15


@dataclass(frozen=True, slots=True)
class Item:
    branch_id: int
    indicator: str
    """Its title in the report's language."""
    period: str
    colour: Colour
    reported_on: date | None
    late: bool


@dataclass(frozen=True, slots=True)
class MonthReport:
    month: date
    """Its first day."""
    branch_ids: frozenset[int] | None
    names: dict[int, str]
    items: tuple[Item, ...]
    tasks: TaskCounts
    figures: tuple[Figure, ...] = field(default=())

    def count(self, colour: Colour) -> int:
        return sum(1 for item in self.items if item.colour == colour)

    @property
    def green_share(self) -> float | None:
        return self.count(Colour.GREEN) / len(self.items) if self.items else None


def month_bounds(month: date, zone: str) -> tuple[date, date, datetime, datetime]:
    """The month's first and last days, and its bounds in UTC."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(following, time(), tz).astimezone(UTC)
    return first, following - timedelta(days=1), start, end


async def month_report(
    repos: Repositories,
    settings: Settings,
    month: date,
    branch_ids: Collection[int] | None,
    locale: str,
) -> MonthReport:
    """The figures of ``month`` for ``branch_ids`` (``None``: the whole organisation)."""
    first, last, start, end = month_bounds(month, settings.timezone)
    supervision = repos.get(Supervision)
    query = select(Branch.id, Branch.name).order_by(Branch.name)
    if branch_ids is not None:
        query = query.where(Branch.id.in_(list(branch_ids)))
    names = {branch_id: name for branch_id, name in await repos.session.execute(query)}
    actives = await supervision.indicators()
    periods = {a.id: due_in(a.indicator, first, last, a.starts_on) for a in actives}
    keys = {p.key for found in periods.values() for p in found}
    reports = await supervision.current(branch_ids, keys)
    after = last + timedelta(days=1)
    items = []
    for branch_id in names:
        for active in actives:
            for period in periods[active.id]:
                report = reports.get((active.id, branch_id, period.key))
                items.append(
                    Item(
                        branch_id,
                        active.indicator.title.get(locale),
                        period.label(locale),
                        colour_of(active.indicator, period, report, after),
                        report.on if report else None,
                        bool(report and report.late),
                    )
                )
    counts = await supervision.task_counts(branch_ids, first, last, after)
    tasks = TaskCounts(
        sum(c.due for c in counts.values()),
        sum(c.done_in_time for c in counts.values()),
        sum(c.overdue for c in counts.values()),
        max((c.most_overdue_days for c in counts.values()), default=0),
    )
    span = Span(frozenset(branch_ids) if branch_ids is not None else None, first, last, start, end)
    figures: list[Figure] = []
    for source in settings.figures:
        figures += await source(repos, span)
    return MonthReport(first, span.branch_ids, names, tuple(items), tasks, tuple(figures))


def shown(figure: Figure) -> str:
    if figure.value is None:
        return "–"
    if figure.unit is Unit.SHARE:
        text = f"{round(100 * figure.value)}%"
        return f"{text} ({figure.of})" if figure.of is not None else text
    if figure.unit is Unit.STARS:
        return f"{figure.value:.1f}/5"
    return f"{round(figure.value):,}"


def text(language: Translator, report: MonthReport, title: str) -> Markup:
    """The report as a chat message."""
    green, yellow, red = (report.count(c) for c in (Colour.GREEN, Colour.YELLOW, Colour.RED))
    share = report.green_share
    lines = [
        language(_("**{title}**, {month}"), title=title, month=month_label(language, report.month)),
        language(
            _(
                "Indicators due this month: {total}; 🟢 {green} · 🟡 {yellow} · 🔴 {red} "
                "(green {share})."
            ),
            total=len(report.items),
            green=green,
            yellow=yellow,
            red=red,
            share="–" if share is None else f"{round(100 * share)}%",
        ),
    ]
    missing = [item for item in report.items if item.colour == Colour.RED]
    several = report.branch_ids is None or len(report.names) > 1
    for item in missing[:MISSING_LISTED]:
        where = f"{report.names.get(item.branch_id, '')}: " if several else ""
        lines.append(Markup.literal(f"{DOT[Colour.RED]} {where}{item.indicator} ({item.period})"))
    if len(missing) > MISSING_LISTED:
        lines.append(language(_("… and {count} more."), count=len(missing) - MISSING_LISTED))
    rate = report.tasks.rate
    lines.append(
        language(
            _(
                "Rectification: {done} of {due} tasks due this month closed in time ({rate}); "
                "{overdue} overdue."
            ),
            done=report.tasks.done_in_time,
            due=report.tasks.due,
            rate="–" if rate is None else f"{round(100 * rate)}%",
            overdue=report.tasks.overdue,
        )
    )
    for figure in report.figures:
        lines.append(
            language(_("{label}: {value}"), label=language.text(figure.label), value=shown(figure))
        )
    return Markup.join(lines)


def month_label(language: Translator, month: date) -> str:
    if language.locale == "zh_Hans":
        return f"{month.year}年{month.month}月"
    return month.strftime("%B %Y")


def chart(language: Translator, report: MonthReport, title: str) -> bytes:
    """One chart: the shares of the month (indicators on time, tasks closed in time, and the
    other features' shares)."""
    bars: list[tuple[str, float]] = []
    if report.green_share is not None:
        bars.append((language.text(_("Indicators green")), report.green_share))
    if report.tasks.rate is not None:
        bars.append((language.text(_("Tasks closed in time")), report.tasks.rate))
    bars += [
        (language.text(f.label), f.value)
        for f in report.figures
        if f.unit is Unit.SHARE and f.value is not None
    ]
    if not bars:
        bars.append((language.text(_("Indicators green")), 0.0))
    return png(
        BarChart(
            title,
            [label for label, _value in bars],
            [Series(month_label(language, report.month), [v for _label, v in bars], GREEN_BAR)],
        )
    )


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(textual: str) -> date | None:
    """``2026-11`` → its first day."""
    try:
        year, month = (int(part) for part in textual.strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


def figure_labels(reports: Sequence[MonthReport]) -> list[str]:
    """Every figure label the reports hold, in their first order."""
    seen: dict[str, None] = {}
    for report in reports:
        for figure in report.figures:
            seen.setdefault(figure.label, None)
    return list(seen)
