"""The grading queue (stored answers ranked by how unsure the score is) and human grades."""

from __future__ import annotations

import csv
import io

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.errors import InvalidInput, NotFound
from app.interviews.models import Turn
from app.review.agreement import gold_set
from app.review.models import HumanGrade
from app.review.schemas import (
    GradeOut,
    QueueItem,
)
from app.rubrics.service import (
    published_questions,
)
from app.scoring.schemas import BAND_CUTOFFS, ScoreResult
from app.scoring.scorer import Params

__all__ = ["add_grade", "gold_csv", "queue"]

_BOUNDARIES = tuple(BAND_CUTOFFS.values())  # values near the band cut-offs are the least certain


_QUEUE_SCAN = 2000  # ungraded turns the queue ranks (the newest)


def _uncertainty(score: ScoreResult) -> tuple[float, list[str]]:
    """How unsure the scorer is: near a band cut-off, key points on the coverage threshold, or
    coverage and whole-answer similarity telling different stories."""
    reasons: list[str] = []
    nearest = min(abs(score.value - b) for b in _BOUNDARIES)
    boundary = max(0.0, 1.0 - nearest / 1.5)
    if boundary > 0.5:
        reasons.append(f"{score.value:.1f} is near a band boundary")
    covered_at = Params().covered_at
    points = score.key_points
    borderline = sum(abs(k.similarity - covered_at) < 0.06 for k in points) / len(points) if points else 0.0
    if borderline >= 0.25:
        reasons.append(f"{borderline:.0%} of key points sit on the coverage threshold")
    disagreement = abs(score.coverage - score.similarity)
    if disagreement > 0.35:
        reasons.append(f"coverage {score.coverage:.2f} vs reference similarity {score.similarity:.2f}")
    if score.flags:
        reasons.append("flags: " + ", ".join(score.flags))
    return round(boundary + borderline + disagreement + 0.2 * bool(score.flags), 4), reasons


def queue(*, session: Session, limit: int = 20, question_id: str | None = None) -> list[QueueItem]:
    """Ungraded answers to main questions, the ones the scorer is least sure about first."""
    graded = select(HumanGrade.turn_id).where(HumanGrade.turn_id.is_not(None))
    stmt = (
        select(Turn)
        .where(Turn.is_follow_up.is_(False), Turn.id.not_in(graded))
        .order_by(Turn.id.desc())
        .limit(_QUEUE_SCAN)
    )
    if question_id is not None:
        stmt = stmt.where(Turn.question_id == question_id)
    items: list[QueueItem] = []
    for t in session.scalars(stmt):
        try:
            score = ScoreResult.model_validate(t.score)
        except ValidationError:
            continue  # a score from an older scorer shape: nothing to rank it by
        priority, reasons = _uncertainty(score)
        items.append(
            QueueItem(
                turn_id=t.id,
                question_id=t.question_id,
                question=t.asked_text,
                answer=t.answer,
                value=score.value,
                band=score.band.value,
                priority=priority,
                reasons=reasons,
                created_at=t.created_at,
            )
        )
    items.sort(key=lambda i: (-i.priority, -i.turn_id))
    return items[:limit]


def _grade_out(g: HumanGrade) -> GradeOut:
    return GradeOut(
        id=g.id,
        turn_id=g.turn_id,
        question_id=g.question_id,
        answer=g.answer,
        score=g.score,
        note=g.note,
        grader=g.grader,
        created_at=g.created_at,
    )


def add_grade(*, session: Session, turn_id: int, score: float, note: str, grader: str) -> GradeOut:
    """Grade a stored answer; grading it again (same reviewer) replaces the earlier grade."""
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise NotFound(f"no stored answer with turn id {turn_id}")
    if turn.is_follow_up:
        raise InvalidInput(
            "turn_id: only answers to main questions are graded (follow-ups have their own rubric)"
        )
    row = session.scalars(
        select(HumanGrade).where(HumanGrade.turn_id == turn_id, HumanGrade.grader == grader)
    ).first()
    if row is None:
        row = HumanGrade(turn_id=turn_id, question_id=turn.question_id, answer=turn.answer, grader=grader)
        session.add(row)
    row.score = score
    row.note = note
    row.created_at = utcnow()
    session.commit()
    return _grade_out(row)


def gold_csv(*, session: Session) -> str:
    """The gold set in the `eval` CSV format: question, reference_answer, answer, score."""
    published = published_questions(session)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["question", "reference_answer", "answer", "score", "question_id"])
    for g in gold_set(session=session):
        q = published.get(g.question_id)
        if q is None:
            continue
        writer.writerow([q[0].text, q[0].reference_answer, g.answer, g.score, g.question_id])
    return buf.getvalue()
