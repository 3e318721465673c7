"""Request and response bodies of the interview API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from app.bank.models import Level
from app.db.base import MAX_INT
from app.interviews.models import TurnKind
from app.scoring.schemas import Band, ScoreResult
from app.speech.schemas import SpokenAnswer

__all__ = [
    "MAX_TURN",
    "AnswerIn",
    "AnswerOut",
    "AttemptBrief",
    "AttemptOut",
    "ModelAnswer",
    "ModelKeyPoint",
    "RetryIn",
    "RetryOut",
    "TurnIn",
    "TurnAttempts",
    "InterviewCreate",
    "InterviewCreated",
    "InterviewOut",
    "QuestionBrief",
    "QuestionReport",
    "Report",
    "ScoreRequest",
    "TopicReport",
    "TurnOut",
]


MAX_TURN = MAX_INT  # turn numbers and other counters fit a 32-bit INTEGER column on every backend


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain more than whitespace")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
"""Free text a person wrote: whitespace alone is no answer."""


class InterviewCreate(_In):
    topics: list[str] | None = Field(default=None, description="topic slugs; all topics when omitted")
    level: Level | None = None
    num_questions: int | None = Field(
        default=None, ge=1, le=MAX_TURN, strict=True, description="default and maximum come from settings"
    )


class AnswerIn(_In):
    text: Text = Field(min_length=1, description="the answer; longer than max_answer_chars gives 413")
    turn: int = Field(
        ge=1,
        le=MAX_TURN,
        strict=True,
        description="the number of the turn being answered (the question's `turn`); another number is "
        "a 409 naming the current turn, so a resent answer never lands on the next question",
    )
    # speech (issue 19): a spoken answer the page transcribed and showed for review before sending
    spoken: SpokenAnswer | None = Field(
        default=None,
        description="the POST /v1/transcribe result `text` came from; the turn keeps it and whether "
        "`text` was edited from its corrected transcript",
    )


_TURN_DESCRIPTION = (
    "the number of the turn this action is for; another number is a 409 naming the current turn"
)


class TurnIn(_In):
    """Skip, "I don't know" and End interview name the turn they apply to, like an answer."""

    turn: int = Field(ge=1, le=MAX_TURN, strict=True, description=_TURN_DESCRIPTION)


class RetryIn(_In):
    text: Text = Field(min_length=1, description="the new answer; longer than max_answer_chars gives 413")
    turn: int = Field(
        ge=1,
        le=MAX_TURN,
        strict=True,
        description="the turn to try again: only the most recently answered one, until the next question "
        "is answered; another number is a 409 naming the current turn",
    )


class QuestionBrief(BaseModel):
    id: str
    text: str
    topic: str
    level: Level
    follow_up_id: str | None = Field(
        default=None, description="set when this is a follow-up of question `id`"
    )
    turn: int = Field(description="the turn number to send as `turn` with the answer to this question")


class InterviewCreated(BaseModel):
    id: str
    status: str
    question: QuestionBrief
    num_questions: int


class AnswerOut(BaseModel):
    score: ScoreResult
    feedback: str
    follow_up: str | None
    next_question: QuestionBrief | None
    status: str
    turn: int
    degraded: bool = False
    degraded_reason: str | None = None
    transcript: dict[str, object] | None = None  # spoken answers: raw and corrected text
    speech: dict[str, object] | None = None  # spoken answers: speaking metrics


class AttemptOut(BaseModel):
    attempt: int = Field(description="1 is the first answer (the one the interview's score counts)")
    answer: str
    score: ScoreResult
    feedback: str
    created_at: datetime


class AttemptBrief(BaseModel):
    attempt: int
    value: float


class TurnOut(BaseModel):
    number: int
    question_id: str
    follow_up_id: str | None
    is_follow_up: bool
    question: str
    answer: str
    score: ScoreResult
    feedback: str
    follow_up: str | None
    provider: str | None
    degraded: bool
    degraded_reason: str | None
    transcript: dict[str, object] | None = None
    speech: dict[str, object] | None = None
    created_at: datetime
    kind: TurnKind = Field(
        default=TurnKind.answered, description="answered, skipped or dont_know (both scored 0)"
    )
    attempts: list[AttemptOut] = Field(
        default_factory=list, description="every attempt, first one first; more than one after Try again"
    )


class RetryOut(BaseModel):
    """A new attempt at an answered turn, and how it compares."""

    turn: int
    attempt: int
    score: ScoreResult
    feedback: str
    previous: AttemptBrief = Field(description="the attempt before this one")
    change: float = Field(description="this score minus the previous attempt's")
    first: AttemptBrief
    best: AttemptBrief
    status: str
    next_question: QuestionBrief | None = Field(description="still the question that waits (unchanged)")
    degraded: bool = False
    degraded_reason: str | None = None


class ModelKeyPoint(BaseModel):
    id: str
    text: str
    weight: float
    status: str = Field(description="in the latest attempt: covered, unclear or missing")
    covered: bool


class ModelAnswer(BaseModel):
    """The reference answer of an answered (skipped, I don't know) turn, with its key points marked."""

    turn: int
    question_id: str
    follow_up_id: str | None
    question: str
    reference_answer: str
    key_points: list[ModelKeyPoint]
    attempt: int = Field(description="the attempt whose coverage `key_points` marks (the latest)")
    kind: TurnKind


class InterviewOut(BaseModel):
    id: str
    status: str
    config: dict[str, object]
    question_ids: list[str]
    position: int
    current_question: QuestionBrief | None
    turns: list[TurnOut]
    created_at: datetime
    updated_at: datetime


class TurnAttempts(BaseModel):
    turn: int
    is_follow_up: bool
    kind: TurnKind
    first: float
    best: float
    attempts: int


class QuestionReport(BaseModel):
    question_id: str
    topic: str
    text: str
    main: float | None = Field(description="score of the answer to the main question")
    follow_up: float | None = Field(description="score of the answer to its follow-up, if one was asked")
    value: float | None = Field(description="the question's result: main and follow-up weighted 2:1")
    band: Band | None
    best_value: float | None = Field(
        default=None, description="the result with each turn's best attempt (Try again); value uses the first"
    )
    turns: list[TurnAttempts] = Field(default_factory=list, description="the turns of this question")


class TopicReport(BaseModel):
    topic: str
    title: str
    questions: int
    value: float
    band: Band


class Report(BaseModel):
    id: str
    status: str
    answered: int
    total: int
    questions: list[QuestionReport]
    topics: list[TopicReport]
    overall: float | None
    band: Band | None
    ended_early: bool = Field(default=False, description="finished with End interview")


class ScoreRequest(_In):
    """Either a bank question id, or an ad-hoc question with its reference answer(s)."""

    answer: Text = Field(min_length=1)
    question_id: str | None = None
    question: Text | None = Field(default=None, min_length=1)
    reference_answer: str | list[str] | None = None
    key_points: list[str] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ScoreRequest:
        if self.question_id is not None:
            if self.question is not None or self.reference_answer is not None or self.key_points is not None:
                raise ValueError("give either question_id, or question + reference_answer (+ key_points)")
            return self
        if self.question is None or not self.reference_answer:
            raise ValueError("question_id, or both question and reference_answer, are required")
        refs = [self.reference_answer] if isinstance(self.reference_answer, str) else self.reference_answer
        if not all(r.strip() for r in refs):
            raise ValueError("reference_answer must not be empty")
        return self
