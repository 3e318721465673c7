"""The versioned rubrics table (migration 0002): every question's rubric, one row per version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

__all__ = ["RubricStatus", "RubricVersion"]


class RubricStatus:
    draft = "draft"
    published = "published"
    superseded = "superseded"


class RubricVersion(Base):
    """One version of one question's rubric: the whole bank question as JSON.

    At most one draft per question; the published row with the highest version is current.
    """

    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("question_id", "version", name="uq_rubric_versions_question_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict[str, object]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(64), default=None)
    based_on: Mapped[int | None] = mapped_column(Integer, default=None)
    # Agreement with the gold set when this version was published: this question's and the whole set's.
    agreement: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
