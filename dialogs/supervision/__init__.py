"""Supervision (督查考核): the duties every branch owes as indicators, the evidence each
branch reports, the green / yellow / red board, warnings, rectification tasks and the monthly
branch report.

Indicators come from YAML (``indicators``, ``cli``) and are rated per period (``periods``,
``board``). A secretary reports with ``/report`` (``reporting``), the evidence files kept on
disk (``evidence``); admins and secretaries read ``/board`` and ``/evidence`` (``views``) and
the web board (``web``), the whole board drawn outside the batch (``drawing``);
rectification tasks (``tasks``) are followed to the end; the watch
worker (``watch``) warns before and after deadlines, reminds task owners, and sends the weekly
summary and the monthly report (``monthly``).
"""

from __future__ import annotations

from pathlib import Path

from bot.feature import Feature, Services
from dialogs.supervision import cli, reporting, tables, tasks, views, web
from dialogs.supervision.common import router
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.drawing import Drawing
from dialogs.supervision.watch import Watch

__all__ = ["FEATURE"]

MODULES = (reporting, views, tasks, web)
"""Each module registers its commands or dialogs on ``router`` on import."""


def _workers(services: Services) -> list[Watch | Drawing]:
    return [Watch(services), Drawing(services)]


FEATURE = Feature(
    "supervision",
    router,
    dialogs=(reporting.Reporting, tasks.Making, tasks.Closing),
    config=SupervisionConfig,
    workers=_workers,
    cli=(cli.INDICATORS, cli.REPORT_EXPORT),
    tables=tables.TABLES,
    migrations=Path(__file__).parent / "migrations",
    rectifies=True,
    routes=web.routes,
)
