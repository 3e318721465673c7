"""What the speech capability returns: a transcript (raw and corrected) and how it was spoken."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.speech.correction import Correction
from app.speech.metrics import SpeechMetrics

__all__ = ["SpokenAnswer", "TranscribeOut", "Transcript"]


class Transcript(BaseModel):
    raw: str = Field(description="what the speech model heard")
    corrected: str = Field(
        description="raw, with misheard technical words pulled to the question's vocabulary"
    )
    corrections: list[Correction] = Field(default_factory=list)


class SpokenAnswer(BaseModel):
    """A transcribed answer: both texts and how it was spoken. Score `corrected`."""

    transcript: Transcript
    speech: SpeechMetrics
    provider: str

    @property
    def raw(self) -> str:
        return self.transcript.raw

    @property
    def corrected(self) -> str:
        return self.transcript.corrected


class TranscribeOut(SpokenAnswer):
    question_id: str | None = None
