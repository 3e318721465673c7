"""Tables for reviewers: human grades (migration 0002). API keys are in app.keys, rubric versions
in app.rubrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

__all__ = ["HumanGrade"]


class HumanGrade(Base):
    """A reviewer's 0-10 grade of a stored answer, copied so the gold set outlives its interview."""

    __tablename__ = "human_grades"
    __table_args__ = (UniqueConstraint("turn_id", "grader", name="uq_human_grades_turn_grader"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"), default=None)
    question_id: Mapped[str] = mapped_column(String(80), index=True)
    answer: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    grader: Mapped[str] = mapped_column(String(64), default="local")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
