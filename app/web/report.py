"""The full session report: the engine's scores plus answers, evidence, key-point extremes,
speaking metrics and progress over the same owner's earlier sessions; one model for the page and exports."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bank.models import Bank
from app.interviews import service
from app.interviews.models import Interview, TurnKind
from app.interviews.schemas import AttemptOut, QuestionReport, TopicReport
from app.scoring.schemas import BAND_CUTOFFS, Band, ScoreResult

__all__ = [
    "KeyPointLine",
    "ProgressPoint",
    "SessionReport",
    "SpeakingSummary",
    "TopicProgress",
    "TurnDetail",
    "build_session_report",
    "numeric_metrics",
]

_EXTREMES = 5  # strongest / weakest key points shown
_HISTORY = 12  # earlier sessions considered for progress


class TurnDetail(BaseModel):
    number: int
    question_id: str
    topic: str
    topic_title: str
    is_follow_up: bool
    question: str
    answer: str
    score: ScoreResult
    feedback: str
    follow_up: str | None
    degraded: bool
    degraded_reason: str | None
    spoken: bool = Field(description="the answer was recorded and transcribed")
    speech: dict[str, object] | None = None
    transcript: dict[str, object] | None = None
    kind: TurnKind = Field(default=TurnKind.answered, description="answered, skipped or dont_know")
    attempts: int = Field(default=1, description="1 plus the Try again attempts")
    best: AttemptOut | None = Field(
        default=None, description="with more than one attempt: the best one (answer, score, feedback)"
    )


class KeyPointLine(BaseModel):
    turn: int
    question_id: str
    topic: str
    text: str
    weight: float
    covered: bool
    similarity: float
    evidence: str | None


class SpeakingSummary(BaseModel):
    answers: int = Field(description="spoken answers in this session")
    metrics: dict[str, float] = Field(description="mean of each numeric speaking metric over spoken answers")


class ProgressPoint(BaseModel):
    interview_id: str
    created_at: datetime
    value: float
    current: bool


class TopicProgress(BaseModel):
    topic: str
    title: str
    points: list[ProgressPoint] = Field(description="oldest first; the last point is this session")


class SessionReport(BaseModel):
    id: str
    status: str
    created_at: datetime
    generated_at: datetime
    answered: int
    total: int
    overall: float | None
    band: Band | None
    topics: list[TopicReport]
    questions: list[QuestionReport]
    turns: list[TurnDetail]
    strongest: list[KeyPointLine]
    weakest: list[KeyPointLine]
    speaking: SpeakingSummary | None
    progress: list[TopicProgress]
    degraded_turns: int
    ended_early: bool = Field(default=False, description="finished with End interview")
    band_cutoffs: dict[Band, float] = Field(
        default_factory=lambda: dict(BAND_CUTOFFS),
        description="the lowest value of each band (strong, acceptable); below the last one is weak",
    )


def numeric_metrics(speech: dict[str, object]) -> dict[str, float]:
    """Top-level numbers of a speech record (rates, counts, durations); nested detail stays per turn."""
    return {
        k: float(v)
        for k, v in speech.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and "threshold" not in k
    }


def _speaking(turns: list[TurnDetail]) -> SpeakingSummary | None:
    spoken = [t for t in turns if t.spoken and t.speech]
    if not spoken:
        return None
    sums: dict[str, list[float]] = {}
    for t in spoken:
        assert t.speech is not None
        for k, v in numeric_metrics(t.speech).items():
            sums.setdefault(k, []).append(v)
    return SpeakingSummary(
        answers=len(spoken), metrics={k: round(sum(v) / len(v), 2) for k, v in sorted(sums.items())}
    )


def _key_point_lines(turns: list[TurnDetail]) -> list[KeyPointLine]:
    return [
        KeyPointLine(
            turn=t.number,
            question_id=t.question_id,
            topic=t.topic,
            text=k.text,
            weight=k.weight,
            covered=k.covered,
            similarity=k.similarity,
            evidence=k.evidence,
        )
        for t in turns
        for k in t.score.key_points
    ]


def _progress(
    *, session: Session, bank: Bank, interview: Interview, topics: list[TopicReport], owner: str | None
) -> list[TopicProgress]:
    """Each topic of this session with its value in the owner's earlier sessions that covered it."""
    if not topics:
        return []
    query = (
        select(Interview.id, Interview.created_at)
        .where(Interview.created_at < interview.created_at, Interview.id != interview.id)
        .order_by(Interview.created_at.desc())
        .limit(_HISTORY)
    )
    # Local mode (no keys) is one user; with keys, only sessions started with the same key count.
    query = query.where(Interview.owner.is_(None) if owner is None else Interview.owner == owner)
    earlier = list(reversed(session.execute(query).all()))
    series: dict[str, list[ProgressPoint]] = {t.topic: [] for t in topics}
    for earlier_id, created_at in earlier:
        past = service.report(session=session, bank=bank, interview_id=earlier_id, owner=owner)
        for t in past.topics:
            if t.topic in series:
                series[t.topic].append(
                    ProgressPoint(
                        interview_id=earlier_id, created_at=created_at, value=t.value, current=False
                    )
                )
    for t in topics:
        series[t.topic].append(
            ProgressPoint(
                interview_id=interview.id, created_at=interview.created_at, value=t.value, current=True
            )
        )
    return [TopicProgress(topic=t.topic, title=t.title, points=series[t.topic]) for t in topics]


def _title(bank: Bank, topic: str) -> str:
    return bank.topics.get(topic, topic)


def build_session_report(
    *, session: Session, bank: Bank, interview_id: str, owner: str | None = None
) -> SessionReport:
    base = service.report(session=session, bank=bank, interview_id=interview_id, owner=owner)
    interview = service.get_interview(session=session, interview_id=interview_id, owner=owner)
    out = service.interview_out(bank=bank, interview=interview)
    topic_of = {q.question_id: q.topic for q in base.questions}
    turns = [
        TurnDetail(
            number=t.number,
            question_id=t.question_id,
            topic=topic_of.get(t.question_id, "unknown"),
            topic_title=_title(bank, topic_of.get(t.question_id, "unknown")),
            is_follow_up=t.is_follow_up,
            question=t.question,
            answer=t.answer,
            score=t.score,
            feedback=t.feedback,
            follow_up=t.follow_up,
            degraded=t.degraded,
            degraded_reason=t.degraded_reason,
            spoken=t.transcript is not None or t.speech is not None,
            speech=t.speech,
            transcript=t.transcript,
            kind=t.kind,
            attempts=len(t.attempts),
            best=max(t.attempts, key=lambda a: (a.score.value, -a.attempt)) if len(t.attempts) > 1 else None,
        )
        for t in out.turns
    ]
    lines = _key_point_lines(turns)
    covered = sorted((k for k in lines if k.covered), key=lambda k: (-k.similarity, -k.weight))
    missed = sorted((k for k in lines if not k.covered), key=lambda k: (-k.weight, k.similarity))
    return SessionReport(
        id=base.id,
        status=base.status,
        created_at=interview.created_at,
        generated_at=datetime.now(UTC),
        answered=base.answered,
        total=base.total,
        overall=base.overall,
        band=base.band,
        topics=base.topics,
        questions=base.questions,
        turns=turns,
        strongest=covered[:_EXTREMES],
        weakest=missed[:_EXTREMES],
        speaking=_speaking(turns),
        progress=_progress(session=session, bank=bank, interview=interview, topics=base.topics, owner=owner),
        degraded_turns=sum(t.degraded for t in turns),
        ended_early=base.ended_early,
    )
