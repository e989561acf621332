"""Appraisal surveys (民主评议): templates, rounds, anonymous answers (``docs/privacy.md``).

A first record from the storage side (helper survey-store), so the tables, the migrations
and the mixer are composed; the commands and dialogs come with survey-dialogs' version."""

from __future__ import annotations

from pathlib import Path

from bot.commands import Router
from bot.feature import Feature, Services
from dialogs.appraisal import tables
from dialogs.appraisal.mixer import Mixer

__all__ = ["FEATURE"]


def _workers(services: Services) -> list[Mixer]:
    return [Mixer(services.db)]


FEATURE = Feature(
    "appraisal",
    Router(),
    workers=_workers,
    tables=tables.TABLES,
    migrations=Path(__file__).parent / "migrations",
)
