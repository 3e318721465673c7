"""The LLM provider interface: given a scored turn, write feedback and choose a follow-up."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from app.bank.models import Question
from app.config import Settings
from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["Coaching", "LLMProvider", "StreamOutcome", "TurnContext"]


class TurnContext(BaseModel):
    """One answered turn: what was asked, what was said, and how it scored."""

    interview_id: str | None = None
    question: Question  # the bank question (the parent, when this turn answers a follow-up)
    follow_up_id: str | None = None  # set when this turn answered a follow-up
    asked_text: str  # the exact text the candidate was asked
    rubric: Rubric
    answer: str
    score: ScoreResult
    asked_follow_ups: list[str] = Field(default_factory=list)  # follow-up ids already used in the interview
    allow_follow_up: bool = True  # False when the turn already answered a follow-up
    turn: int = 0  # position of this turn in the interview; varies the rubric provider's phrasing


class Coaching(BaseModel):
    feedback: str
    follow_up_id: str | None = None  # a bank follow-up of `question`
    follow_up: str | None = None  # its text (or a generated probe, scored against the parent rubric)
    provider: str
    degraded: bool = False
    degraded_reason: str | None = None
    prompt_version: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: float | None = None
    judge: dict[str, object] | None = None  # LLM judge components, when the judge is on


class StreamOutcome(BaseModel):
    """Filled in by `stream_feedback` as it runs; the caller passes one in and reads it during and after.

    `restarted` turns True just before the provider yields a replacement text (the rubric fallback after
    a mid-stream failure): a client should discard the chunks shown so far. `coaching` is set at the end,
    with the full feedback text and the follow-up."""

    degraded: bool = False
    degraded_reason: str | None = None
    restarted: bool = False
    coaching: Coaching | None = None


class LLMProvider(ABC):
    """Providers register in the entry-point group `mockinterview.llm`; `rubric` is the default."""

    name: str = "provider"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    async def coach(self, ctx: TurnContext) -> Coaching:
        """Feedback and the next follow-up for one turn. Must not raise for provider failures:
        fall back and set `degraded` with the reason."""

    async def stream_feedback(
        self, ctx: TurnContext, outcome: StreamOutcome | None = None
    ) -> AsyncIterator[str]:
        """Feedback as text chunks; the default streams the non-streaming result in one piece."""
        result = await self.coach(ctx)
        if outcome is not None:
            outcome.degraded, outcome.degraded_reason = result.degraded, result.degraded_reason
            outcome.coaching = result
        yield result.feedback

    def describe(self) -> dict[str, str]:
        return {"name": self.name}
