"""Learning: question banks, the daily quiz, levels, the challenge, lessons, points, rankings.

Each mode is a conversation in the member's DM (``runs.QuestionRun`` underneath); the points
table and its daily caps come from the ``learning`` section of the config.
"""

from __future__ import annotations

from bot.feature import Feature, Services
from dialogs.learning import (
    bank_files,
    challenge,
    group_round,
    lessons,
    levels,
    quiz,
    ranking,
)
from dialogs.learning.bank_imports import BankImports
from dialogs.learning.cli import BANK_IMPORT
from dialogs.learning.common import router
from dialogs.learning.config import LearningConfig
from dialogs.learning.figures import monthly
from store import learning_tables

__all__ = ["FEATURE"]

MODULES = (bank_files, challenge, group_round, lessons, levels, quiz, ranking)
"""Each module registers its commands, ``/me`` lines or file handler on ``router`` on import."""


def _workers(services: Services) -> list[BankImports]:
    return [BankImports(services.db, services.deliver, services.settings.default_locale)]


FEATURE = Feature(
    "learning",
    router,
    dialogs=(
        quiz.DailyQuiz,
        levels.LevelRun,
        challenge.Challenge,
        lessons.LessonRun,
        group_round.GroupRound,
    ),
    config=LearningConfig,
    workers=_workers,
    cli=(BANK_IMPORT,),
    tables=learning_tables.TABLES,
    figures=monthly,
)
