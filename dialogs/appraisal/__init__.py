"""Appraisal surveys (民主评议): templates, rounds, answering, anonymous answers.

Opening a round fixes who may answer (``rounds``) and a worker sends the invitations
(``invitations``); each member answers in their direct chat, in a conversation of its own slot
(``answering``); a submit stages the answers apart from who submitted, and the mixer moves them
into the answer ledger in shuffled batches of at least k (``mixer``, ``docs/privacy.md``).
``/privacy`` says it in plain words.
"""

from __future__ import annotations

from pathlib import Path

from bot.feature import Feature, Services
from dialogs.appraisal import (
    answering,
    privacy_note,
    progress,
    report,
    rounds,
    tables,
    template_files,
)
from dialogs.appraisal.cli import SURVEY_IMPORT
from dialogs.appraisal.common import router
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.invitations import Invitations
from dialogs.appraisal.mixer import Mixer
from dialogs.appraisal.monthly import monthly
from dialogs.appraisal.problems import problem
from dialogs.appraisal.reminders import Reminders

__all__ = ["FEATURE"]

MODULES = (rounds, answering, progress, report, privacy_note, template_files)
"""Each module registers its commands, buttons or dialogs on ``router`` on import."""


def _workers(services: Services) -> list[Mixer | Invitations | Reminders]:
    return [Mixer(services.db), Invitations(services), Reminders(services)]


FEATURE = Feature(
    "appraisal",
    router,
    dialogs=(rounds.OpenRound, answering.Answering),
    config=AppraisalConfig,
    workers=_workers,
    cli=(SURVEY_IMPORT,),
    problems=problem,
    tables=tables.TABLES,
    migrations=Path(__file__).parent / "migrations",
    figures=monthly,
)
