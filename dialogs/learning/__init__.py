"""Learning: question banks, the daily quiz, levels, the challenge, lessons, points, rankings.

Each mode is a conversation in the member's DM (``runs.QuestionRun`` underneath); the points
table and its daily caps come from the ``learning`` section of the config.
"""

from __future__ import annotations

from bot.conversation import Dialog
from dialogs.learning import challenge, group_round, lessons, levels, quiz, ranking
from dialogs.learning.common import router

__all__ = ["DIALOGS", "router"]

DIALOGS: list[type[Dialog]] = [
    quiz.DailyQuiz,
    levels.LevelRun,
    challenge.Challenge,
    lessons.LessonRun,
    group_round.GroupRound,
]
assert ranking.rank is not None  # imported for its commands and /me section
