"""The question bank's schema: YAML files under question_bank/ load into these models."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "Bank",
    "BankFile",
    "FollowUp",
    "KeyPoint",
    "Kind",
    "Level",
    "Misconception",
    "Question",
    "SampleAnswer",
    "SampleLabel",
]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SOURCE_RE = re.compile(r"^00[0-4]:[A-Za-z0-9-]+$")


class Level(StrEnum):
    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class Kind(StrEnum):
    concept = "concept"
    comparison = "comparison"
    scenario = "scenario"
    calculation = "calculation"
    code = "code"


class SampleLabel(StrEnum):
    strong = "strong"
    partial = "partial"
    wrong = "wrong"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyPoint(_Strict):
    """One checkable idea a good answer states; weights are relative within a question."""

    id: Slug
    text: Text
    weight: float = Field(default=1.0, gt=0, le=10)
    terms: list[Text] = Field(default_factory=list)


class Misconception(_Strict):
    """A wrong belief phrased the way a candidate would say it, and why it is wrong."""

    text: Text
    correction: Text
    contradicts: Slug | None = None


class FollowUp(_Strict):
    """A follow-up question with its own rubric; `targets` names the key point it probes."""

    id: Slug
    text: Text
    reference_answer: Text
    key_points: list[KeyPoint] = Field(min_length=1, max_length=7)
    targets: Slug | None = None


class SampleAnswer(_Strict):
    """A graded example answer: calibration and regression data for the scorer."""

    label: SampleLabel
    text: Text
    score: float = Field(ge=0, le=10)
    reason: Text


class Question(_Strict):
    id: Slug
    topic: Slug
    level: Level
    kind: Kind
    text: Text
    reference_answer: Text
    key_points: list[KeyPoint] = Field(min_length=3, max_length=7)
    misconceptions: list[Misconception] = Field(min_length=1, max_length=3)
    follow_ups: list[FollowUp] = Field(min_length=2, max_length=4)
    sample_answers: list[SampleAnswer] = Field(min_length=3)
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        kp_ids = [kp.id for kp in self.key_points]
        if len(set(kp_ids)) != len(kp_ids):
            raise ValueError(f"duplicate key point ids in {self.id}")
        for m in self.misconceptions:
            if m.contradicts is not None and m.contradicts not in kp_ids:
                raise ValueError(f"misconception contradicts unknown key point {m.contradicts!r}")
        fu_ids = [f.id for f in self.follow_ups]
        if len(set(fu_ids)) != len(fu_ids):
            raise ValueError(f"duplicate follow-up ids in {self.id}")
        for f in self.follow_ups:
            if f.targets is not None and f.targets not in kp_ids:
                raise ValueError(f"follow-up {f.id} targets unknown key point {f.targets!r}")
        labels = {s.label for s in self.sample_answers}
        missing = set(SampleLabel) - labels
        if missing:
            raise ValueError(f"sample_answers lack {sorted(missing)} examples")
        for src in self.sources:
            if not SOURCE_RE.match(src):
                raise ValueError(f"source {src!r} is not of the form '002:17' (see bank README)")
        return self

    def follow_up(self, follow_up_id: str) -> FollowUp:
        for f in self.follow_ups:
            if f.id == follow_up_id:
                return f
        raise KeyError(follow_up_id)


class BankFile(_Strict):
    """One YAML file: a topic and its questions."""

    topic: Slug
    title: Text
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_topic(self) -> BankFile:
        for q in self.questions:
            if q.topic != self.topic:
                raise ValueError(f"question {q.id} has topic {q.topic!r}, file is {self.topic!r}")
        return self


class Bank(BaseModel):
    """All questions, indexed by id."""

    model_config = ConfigDict(frozen=True)

    questions: dict[str, Question]
    topics: dict[str, str]  # slug -> title

    def get(self, question_id: str) -> Question | None:
        return self.questions.get(question_id)
