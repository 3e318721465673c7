"""Which rubric is current: the YAML bank seeds version 1 of every question, after that the newest
published row in the database is the question. Both the interview engine and the reviewer tools
read rubrics from here; neither imports the other."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bank.models import Bank, Question
from app.db.base import utcnow
from app.errors import QuestionNotFound
from app.rubrics.models import RubricStatus, RubricVersion

__all__ = [
    "current_bank",
    "current_question",
    "current_row",
    "draft_questions",
    "draft_row",
    "dump_question",
    "published_questions",
    "question_of",
    "seed_rubrics",
]


def question_of(row: RubricVersion) -> Question:
    return Question.model_validate(row.content)


def dump_question(q: Question) -> dict[str, object]:
    return q.model_dump(mode="json")


def seed_rubrics(*, session: Session, bank: Bank) -> int:
    """Version 1 of every bank question not yet in the database; returns how many were added."""
    known = set(session.scalars(select(RubricVersion.question_id).distinct()))
    now = utcnow()
    added = 0
    for q in bank.questions.values():
        if q.id in known:
            continue
        session.add(
            RubricVersion(
                question_id=q.id,
                version=1,
                status=RubricStatus.published,
                content=dump_question(q),
                note="seeded from the YAML bank",
                published_at=now,
            )
        )
        added += 1
    try:
        session.commit()
    except IntegrityError:  # another process seeded at the same moment
        session.rollback()
        return 0
    return added


def current_row(session: Session, question_id: str) -> RubricVersion | None:
    return session.scalars(
        select(RubricVersion)
        .where(RubricVersion.question_id == question_id, RubricVersion.status == RubricStatus.published)
        .order_by(RubricVersion.version.desc())
        .limit(1)
    ).first()


def draft_row(session: Session, question_id: str) -> RubricVersion | None:
    return session.scalars(
        select(RubricVersion).where(
            RubricVersion.question_id == question_id, RubricVersion.status == RubricStatus.draft
        )
    ).first()


def current_question(
    *, session: Session, question_id: str, bank: Bank | None = None
) -> tuple[Question, int | None]:
    """The published rubric of a question and its version; the bank's (version None) if never seeded."""
    row = current_row(session, question_id)
    if row is not None:
        return question_of(row), row.version
    q = bank.get(question_id) if bank is not None else None
    if q is None:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    return q, None


def published_questions(session: Session) -> dict[str, tuple[Question, int]]:
    rows = session.scalars(select(RubricVersion).where(RubricVersion.status == RubricStatus.published)).all()
    return {r.question_id: (question_of(r), r.version) for r in rows}


def draft_questions(session: Session) -> dict[str, tuple[Question, int]]:
    rows = session.scalars(select(RubricVersion).where(RubricVersion.status == RubricStatus.draft)).all()
    return {r.question_id: (question_of(r), r.version) for r in rows}


def current_bank(*, session: Session, bank: Bank) -> Bank:
    """The bank with every question replaced by its published version."""
    published = published_questions(session)
    questions = {qid: published.get(qid, (q, 0))[0] for qid, q in bank.questions.items()}
    return Bank(questions=questions, topics=bank.topics)
