"""What the questions API returns: summaries for candidates, the rubric for reviewers, pages, topics."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.bank.models import Kind, Level

__all__ = ["FollowUpOut", "QuestionDetail", "QuestionPage", "QuestionSummary", "TopicOut"]


class QuestionSummary(BaseModel):
    id: str
    topic: str
    level: Level
    kind: Kind
    text: str


class FollowUpOut(BaseModel):
    id: str
    text: str


class QuestionDetail(QuestionSummary):
    reference_answer: str
    key_points: list[str]
    follow_ups: list[FollowUpOut]
    sources: list[str]


class QuestionPage(BaseModel):
    items: list[QuestionSummary]
    total: int = Field(description="matches before paging")
    limit: int
    offset: int


class TopicOut(BaseModel):
    topic: str
    title: str
    questions: int
