"""Interview state lives only in these tables, so any process on the same database can serve any turn."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, utcnow

__all__ = ["AnswerReceipt", "Interview", "InterviewStatus", "Turn", "TurnKind"]


class InterviewStatus(StrEnum):
    in_progress = "in_progress"
    completed = "completed"


class TurnKind(StrEnum):
    """How a turn was closed: an answer, a skip, or "I don't know" (both score 0)."""

    answered = "answered"
    skipped = "skipped"
    dont_know = "dont_know"


class Interview(Base):
    __tablename__ = "interviews"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=InterviewStatus.in_progress)
    config: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The follow-up the candidate is answering now: a bank id, or None with text for a generated probe.
    current_follow_up_id: Mapped[str | None] = mapped_column(String(80), default=None)
    current_follow_up_text: Mapped[str | None] = mapped_column(Text, default=None)
    owner: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # Completed through "End interview" before the last question (migration 0005).
    ended_early: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    turns: Mapped[list[Turn]] = relationship(
        back_populates="interview", order_by="Turn.number", cascade="all, delete-orphan", lazy="selectin"
    )

    # Optimistic concurrency: every UPDATE checks and bumps `version`, so one answer is applied once.
    __mapper_args__ = {"version_id_col": version}


class Turn(Base):
    """One answered question or follow-up, with everything needed to audit its grade."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("interview_id", "number", name="uq_turns_interview_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[str] = mapped_column(String(80))
    follow_up_id: Mapped[str | None] = mapped_column(String(80), default=None)
    is_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    asked_text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    score: Mapped[dict[str, object]] = mapped_column(JSON)
    feedback: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[str | None] = mapped_column(Text, default=None)
    follow_up_asked_id: Mapped[str | None] = mapped_column(String(80), default=None)
    provider: Mapped[str | None] = mapped_column(String(80), default=None)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    degraded_reason: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_version: Mapped[str | None] = mapped_column(String(80), default=None)
    tokens_in: Mapped[int | None] = mapped_column(Integer, default=None)
    tokens_out: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[float | None] = mapped_column(Float, default=None)
    rubric_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # Spoken answers (speech capability): the transcript with timings and speaking metrics.
    transcript: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    speech: Mapped[dict[str, object] | None] = mapped_column(JSON, default=None)
    # Coaching (issue 21, migration 0005): how the turn was closed, and the later attempts made with
    # "Try again" (the fields above keep the first attempt, the one the interview's score counts).
    kind: Mapped[str] = mapped_column(String(20), default=TurnKind.answered, server_default="answered")
    retries: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="turns")


class AnswerReceipt(Base):
    """The response to an answer sent with an Idempotency-Key, written in the turn's transaction: a
    retried request gets it back instead of a 409 (migration 0004)."""

    __tablename__ = "answer_receipts"
    __table_args__ = (UniqueConstraint("interview_id", "key", name="uq_answer_receipts_interview_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    turn: Mapped[int] = mapped_column(Integer)
    # What the key was sent with: answered, skipped, dont_know, retry or end (migration 0005).
    action: Mapped[str] = mapped_column(String(20), default="answered", server_default="answered")
    response: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
