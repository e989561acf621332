"""The board: every branch × every active indicator, each cell the period in view
(``periods.in_view``: the next deadline once reported, else the last one that passed).

A cell is green when the report came on time (or its number reached ``green``), yellow when
it came late (or its number only reached ``yellow``), red when none came by the deadline (or
the number fell short), and pending while the deadline is still ahead. A branch is as bad as
its worst cell, and worse for its overdue rectification tasks: yellow for any, red when one is
``task_red_days`` overdue. Its score is the weighted share of its rated cells, green counting
one and yellow a half.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.indicators import RANK, Colour, Indicator, worst
from dialogs.supervision.periods import Period, in_view
from dialogs.supervision.repository import Active, Filed, Supervision, TaskCounts
from dialogs.supervision.tables import Report
from store.models import Branch
from store.repos import Repositories

VALUE = {Colour.GREEN: 1.0, Colour.YELLOW: 0.5, Colour.RED: 0.0}


def colour_of(
    indicator: Indicator, period: Period, report: Filed | Report | None, today: date
) -> Colour:
    """The colour of one cell (the rule in the module's docstring)."""
    rule = indicator.colour
    if report is None:
        return Colour(rule.missing) if today > period.due else Colour.PENDING
    colour = Colour.GREEN
    thresholds = rule.thresholds
    if thresholds is not None:
        value = report.numbers.get(thresholds.number)
        if not isinstance(value, int) or value < thresholds.yellow:
            colour = Colour.RED
        elif value < thresholds.green:
            colour = Colour.YELLOW
    if report.late:
        colour = worst([colour, Colour(rule.late)])
    return colour


@dataclass(frozen=True, slots=True)
class Cell:
    indicator: Active
    period: Period
    colour: Colour
    report: Filed | None


@dataclass(frozen=True, slots=True)
class Row:
    branch_id: int
    name: str
    cells: tuple[Cell, ...]
    tasks: TaskCounts
    colour: Colour
    score: float | None
    """The weighted share of its rated cells; ``None`` while nothing is due yet."""

    def count(self, colour: Colour) -> int:
        return sum(1 for cell in self.cells if cell.colour == colour)


@dataclass(frozen=True, slots=True)
class Board:
    day: date
    indicators: tuple[Active, ...]
    rows: tuple[Row, ...]
    """Worst first: red, then yellow, then by score and name."""

    def count(self, colour: Colour) -> int:
        return sum(1 for row in self.rows if row.colour == colour)


def _branch_colour(cells: list[Cell], tasks: TaskCounts, config: SupervisionConfig) -> Colour:
    colours = [cell.colour for cell in cells]
    if tasks.overdue:
        red = tasks.most_overdue_days >= config.task_red_days
        colours.append(Colour.RED if red else Colour.YELLOW)
    return worst(colours)


def _score(cells: list[Cell]) -> float | None:
    rated = [cell for cell in cells if cell.colour in VALUE]
    weight = sum(cell.indicator.indicator.weight for cell in rated)
    if not weight:
        return None
    total = sum(cell.indicator.indicator.weight * VALUE[cell.colour] for cell in rated)
    return total / weight


def _order(row: Row) -> tuple[int, float, str]:
    return (-RANK[row.colour], row.score if row.score is not None else 2.0, row.name.lower())


def _shown(
    indicator_id: int,
    branch_id: int,
    upcoming: Period | None,
    passed: Period | None,
    reports: dict[tuple[int, int, str], Filed],
) -> tuple[Period, Filed | None] | None:
    if upcoming is not None:
        report = reports.get((indicator_id, branch_id, upcoming.key))
        if report is not None or passed is None:
            return upcoming, report
    if passed is not None:
        return passed, reports.get((indicator_id, branch_id, passed.key))
    return None


async def board(
    repos: Repositories,
    config: SupervisionConfig,
    today: date,
    branch_ids: Collection[int] | None = None,
) -> Board:
    """The board of ``branch_ids`` (``None``: every branch) on ``today``: three queries."""
    supervision = repos.get(Supervision)
    indicators = await supervision.indicators()
    query = select(Branch.id, Branch.name).order_by(Branch.name)
    if branch_ids is not None:
        query = query.where(Branch.id.in_(list(branch_ids)))
    branches = list(await repos.session.execute(query))
    views = {a.id: in_view(a.indicator, today, a.starts_on) for a in indicators}
    indicators = [a for a in indicators if views[a.id] != (None, None)]
    keys = {p.key for pair in views.values() for p in pair if p is not None}
    reports = await supervision.current(branch_ids, keys)
    tasks = await supervision.task_counts(branch_ids, date.min, today, today)
    rows = []
    for branch_id, name in branches:
        cells = []
        for active in indicators:
            upcoming, passed = views[active.id]
            shown = _shown(active.id, branch_id, upcoming, passed, reports)
            assert shown is not None  # each has a period in view
            period, report = shown
            colour = colour_of(active.indicator, period, report, today)
            cells.append(Cell(active, period, colour, report))
        counts = tasks.get(branch_id, TaskCounts())
        rows.append(
            Row(
                branch_id,
                name,
                tuple(cells),
                counts,
                _branch_colour(cells, counts, config),
                _score(cells),
            )
        )
    return Board(today, tuple(indicators), tuple(sorted(rows, key=_order)))
