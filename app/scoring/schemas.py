"""What the scorer takes (a rubric and an answer) and what it returns (a score object)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.bank.models import FollowUp, Question

__all__ = [
    "Band",
    "Contradiction",
    "JudgeInfo",
    "KeyPointScore",
    "MisconceptionHit",
    "Rubric",
    "RubricMisconception",
    "RubricPoint",
    "ScoreResult",
]


class Band(StrEnum):
    strong = "strong"
    acceptable = "acceptable"
    weak = "weak"
    off_topic = "off_topic"


# The one place the band cut-offs live: a value at or above a cut-off is in that band. The scorer,
# the interview and report aggregates, the reviewer queue and the report page (through the API's
# `band_cutoffs`) all read these.
BAND_CUTOFFS: dict[Band, float] = {Band.strong: 7.0, Band.acceptable: 4.5}


def band_of(value: float) -> Band:
    """The band a 0-10 value falls in (strong, acceptable or weak)."""
    for band, cut in BAND_CUTOFFS.items():
        if value >= cut:
            return band
    return Band.weak


class RubricPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    weight: float = 1.0
    terms: tuple[str, ...] = ()


class RubricMisconception(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    correction: str = ""
    contradicts: str | None = None


class Rubric(BaseModel):
    """Everything the scorer needs to grade one answer to one question or follow-up."""

    model_config = ConfigDict(frozen=True)

    question: str
    reference_answers: tuple[str, ...] = Field(min_length=1)
    key_points: tuple[RubricPoint, ...] = ()
    misconceptions: tuple[RubricMisconception, ...] = ()
    question_id: str | None = None
    follow_up_id: str | None = None
    # Rubric version the score used (issue 8); None for ad-hoc rubrics.
    version: int | None = None
    # Whether its vectors may go to the on-disk cache: callers' ad-hoc rubrics (POST /v1/score)
    # stay in the in-memory LRU, so no request can grow the disk cache.
    persist: bool = Field(default=True, exclude=True)

    @classmethod
    def from_question(cls, q: Question, *, version: int | None = None) -> Rubric:
        return cls(
            question=q.text,
            reference_answers=(q.reference_answer,),
            key_points=tuple(
                RubricPoint(id=k.id, text=k.text, weight=k.weight, terms=tuple(k.terms)) for k in q.key_points
            ),
            misconceptions=tuple(
                RubricMisconception(text=m.text, correction=m.correction, contradicts=m.contradicts)
                for m in q.misconceptions
            ),
            question_id=q.id,
            version=version,
        )

    @classmethod
    def from_follow_up(cls, q: Question, f: FollowUp, *, version: int | None = None) -> Rubric:
        return cls(
            question=f.text,
            reference_answers=(f.reference_answer,),
            key_points=tuple(
                RubricPoint(id=k.id, text=k.text, weight=k.weight, terms=tuple(k.terms)) for k in f.key_points
            ),
            # The parent's misconceptions still apply to an answer about the same subject.
            misconceptions=tuple(
                RubricMisconception(text=m.text, correction=m.correction) for m in q.misconceptions
            ),
            question_id=q.id,
            follow_up_id=f.id,
            version=version,
        )


class KeyPointScore(BaseModel):
    id: str
    text: str
    weight: float
    covered: bool
    similarity: float = Field(description="how well the best answer span matches the point, 0-1")
    evidence: str | None = Field(description="the answer span that covered the point (or came closest)")
    status: Literal["covered", "unclear", "missing"] = Field(
        default="missing",
        description="covered; unclear: the closest span is related but not clearly the point; missing",
    )
    judge_p: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="the correctness judge's probability that the answer states this point (judge on)",
    )


class MisconceptionHit(BaseModel):
    text: str
    correction: str
    similarity: float
    evidence: str


class JudgeInfo(BaseModel):
    p_correct: float = Field(ge=0, le=1, description="the judge's probability that the answer is correct")
    model: str
    version: str = Field(description="the judge prompt's version")


class Contradiction(BaseModel):
    sentence: str = Field(description="a sentence of the answer the judge rejects")
    p_correct: float = Field(ge=0, le=1)


class ScoreResult(BaseModel):
    value: float = Field(ge=0, le=10, description="0-10")
    band: Band
    key_points: list[KeyPointScore]
    misconceptions: list[MisconceptionHit] = Field(default_factory=list)
    flags: list[str] = Field(
        default_factory=list,
        description="echo, keyword_list, off_topic, too_short, empty, dont_know, injection, misconception, "
        "other_question, contradicts_reference, judge_degraded",
    )
    similarity: float = Field(description="best cosine similarity of the whole answer to a reference answer")
    coverage: float = Field(description="weighted share of key points covered, 0-1")
    components: dict[str, float] = Field(default_factory=dict, description="raw signals behind the value")
    scorer_version: str
    rubric_version: int | None = None
    judge: JudgeInfo | None = Field(default=None, description="the correctness judge's verdict, when it ran")
    contradictions: list[Contradiction] = Field(
        default_factory=list, description="sentences the judge rejects (flag contradicts_reference)"
    )
    degraded: bool = Field(
        default=False, description="a provider (the judge) failed; the score did without it"
    )
    degraded_reason: str | None = None
