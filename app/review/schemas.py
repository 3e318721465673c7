"""What the review API takes and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.bank.models import FollowUp, KeyPoint, Misconception, Question
from app.db.base import MAX_INT
from app.scoring.schemas import Band

__all__ = [
    "AgreementReport",
    "AgreementStats",
    "CheckResult",
    "DraftIn",
    "GradeIn",
    "GradeOut",
    "QuestionAgreement",
    "QueueItem",
    "ReviewQuestion",
    "RevertIn",
    "RubricOut",
    "VersionOut",
    "WhatIfOut",
    "WhatIfRow",
]


class AgreementStats(BaseModel):
    """Scorer vs human on the 0-10 scale, nothing fitted; None where undefined (too few or constant)."""

    n: int
    pearson: float | None = None
    qwk: float | None = None
    mae: float | None = None
    bias: float | None = Field(
        default=None, description="mean(scorer - human): > 0 means the scorer is lenient"
    )


class DraftIn(BaseModel):
    """An edit: only the fields given change; the rest come from the existing draft or the current version."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    reference_answer: str | None = None
    key_points: list[KeyPoint] | None = None
    misconceptions: list[Misconception] | None = None
    follow_ups: list[FollowUp] | None = None
    note: str = Field(default="", max_length=2000)


class RevertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=MAX_INT, strict=True)
    publish: bool = Field(
        default=False, strict=True, description="publish at once instead of leaving a draft"
    )


class RubricOut(BaseModel):
    question_id: str
    version: int
    status: Literal["draft", "published", "superseded"]
    is_draft: bool
    based_on: int | None
    note: str
    author: str | None
    created_at: datetime
    published_at: datetime | None
    question: Question


class VersionOut(BaseModel):
    version: int
    status: str
    note: str
    author: str | None
    based_on: int | None
    created_at: datetime
    published_at: datetime | None
    agreement: dict[str, object] | None
    diff: str = Field(description="unified diff of the YAML against the previous version")


class WhatIfRow(BaseModel):
    kind: Literal["sample", "answer", "graded"]
    turn_id: int | None = None
    label: str | None = Field(default=None, description="strong/partial/wrong for sample answers")
    answer: str
    human: float | None = Field(description="the human grade (or the sample's own score)")
    current: float
    draft: float
    delta: float
    current_band: Band
    draft_band: Band


class WhatIfOut(BaseModel):
    question_id: str
    current_version: int | None
    draft_version: int
    rows: list[WhatIfRow]
    graded: dict[str, AgreementStats] = Field(description="agreement with human grades: current and draft")
    samples: dict[str, AgreementStats] = Field(description="agreement with the sample answers' scores")
    change: dict[str, float | None] = Field(description="draft minus current on the human grades")
    encoded: int = Field(description="texts the model had to encode (the rest came from the cache)")
    elapsed_ms: float


class QueueItem(BaseModel):
    turn_id: int
    question_id: str
    question: str
    answer: str
    value: float
    band: str
    priority: float
    reasons: list[str]
    created_at: datetime


class GradeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turn_id: int = Field(ge=1, le=MAX_INT, strict=True)
    score: float = Field(ge=0, le=10, strict=True)
    note: str = Field(default="", max_length=2000)


class GradeOut(BaseModel):
    id: int
    turn_id: int | None
    question_id: str
    answer: str
    score: float
    note: str
    grader: str
    created_at: datetime


class QuestionAgreement(BaseModel):
    question_id: str
    topic: str
    text: str
    stats: AgreementStats
    needs_work: float = Field(description="higher = the rubric disagrees more with people")


class AgreementReport(BaseModel):
    overall: AgreementStats
    questions: list[QuestionAgreement] = Field(description="graded questions, the most in need of work first")


class ReviewQuestion(BaseModel):
    id: str
    topic: str
    level: str
    text: str
    version: int | None
    has_draft: bool
    graded: int
    answers: int
    stats: AgreementStats | None
    needs_work: float | None


class CheckResult(BaseModel):
    ok: bool
    metric: str
    margin: float
    baseline: AgreementStats
    baseline_source: str
    candidate: AgreementStats
    candidate_source: str
