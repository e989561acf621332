"""Learning: question banks, the daily quiz, levels, the challenge, lessons, points, rankings.

Each mode is a conversation in the member's DM (``runs.QuestionRun`` underneath); the points
table and its daily caps come from the ``learning`` section of the config.
"""

from __future__ import annotations

from bot.conversation import Dialog
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
from dialogs.learning.common import router

__all__ = ["DIALOGS", "FEATURES", "BankImports", "router"]

FEATURES = (bank_files, challenge, group_round, lessons, levels, quiz, ranking)
"""Each module registers its commands, ``/me`` lines or file handler on ``router`` on import."""

DIALOGS: list[type[Dialog]] = [
    quiz.DailyQuiz,
    levels.LevelRun,
    challenge.Challenge,
    lessons.LessonRun,
    group_round.GroupRound,
]
