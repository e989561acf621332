"""Appraisal surveys (民主评议): templates, rounds, anonymous answers (``docs/privacy.md``).

A first record from the storage side (helper survey-store), so the tables, the migrations
and the mixer are composed; the commands and dialogs come with survey-dialogs' version."""

from __future__ import annotations

from pathlib import Path

from bot.feature import Feature, Services
from dialogs.appraisal import tables, template_files
from dialogs.appraisal.cli import SURVEY_IMPORT
from dialogs.appraisal.common import router
from dialogs.appraisal.mixer import Mixer

__all__ = ["FEATURE"]

MODULES = (template_files,)
"""Each module registers its handlers on ``router`` on import."""


def _workers(services: Services) -> list[Mixer]:
    return [Mixer(services.db)]


FEATURE = Feature(
    "appraisal",
    router,
    workers=_workers,
    cli=(SURVEY_IMPORT,),
    tables=tables.TABLES,
    migrations=Path(__file__).parent / "migrations",
)
