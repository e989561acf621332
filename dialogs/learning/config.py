"""The ``[learning]`` config section: quizzes, timers and the points table (docs/learning.md
explains the defaults)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class ActivityPoints(BaseModel):
    points: int = Field(ge=0, le=10_000)
    daily_cap: int = Field(ge=0, le=100_000)
    """Most points this activity can earn a member in one day (no farming)."""


def _default_points() -> dict[str, ActivityPoints]:
    table = {
        "quiz_correct": (10, 50),
        "quiz_finished": (20, 20),
        "streak_day": (5, 35),
        "level_star": (10, 90),
        "challenge_correct": (5, 50),
        "lesson_finished": (15, 30),
        "group_correct": (10, 100),
        "group_speed": (10, 100),
    }
    return {name: ActivityPoints(points=p, daily_cap=c) for name, (p, c) in table.items()}


class LearningConfig(BaseModel):
    """Quizzes, timers and the points table (docs/learning.md explains the defaults)."""

    model_config = {"frozen": True}
    daily_questions: int = Field(5, ge=1, le=20)
    question_seconds: float = Field(30, gt=0, le=600)
    challenge_seconds: float = Field(45, gt=0, le=600)
    group_seconds: float = Field(20, gt=0, le=600)
    group_questions: int = Field(5, ge=1, le=20)
    points: dict[str, ActivityPoints] = Field(default_factory=_default_points)

    @field_validator("points")
    @classmethod
    def _activities(cls, value: dict[str, ActivityPoints]) -> dict[str, ActivityPoints]:
        known = _default_points()
        unknown = set(value) - set(known)
        if unknown:
            raise ValueError(f"unknown activities: {', '.join(sorted(unknown))}")
        return {**known, **value}
