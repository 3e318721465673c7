"""Rubric drafts and versions: edit a draft, diff versions, revert, publish (with the gold set's
agreement recorded at publication); keyword-only, no HTTP here."""

from __future__ import annotations

import difflib
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bank.models import Question
from app.db.base import utcnow
from app.errors import Conflict, InvalidInput, NotFound, QuestionNotFound
from app.review.agreement import gold_digest, gold_set, rubric_set, score_gold
from app.review.schemas import (
    DraftIn,
    RubricOut,
    VersionOut,
)
from app.rubrics.models import RubricStatus, RubricVersion
from app.rubrics.service import (
    current_row,
    draft_row,
    dump_question,
    published_questions,
    question_of,
)
from app.scoring.scorer import Scorer

__all__ = ["discard_draft", "get_draft", "publish", "revert", "save_draft", "versions"]


def _out(row: RubricVersion) -> RubricOut:
    return RubricOut(
        question_id=row.question_id,
        version=row.version,
        status=row.status,
        is_draft=row.status == RubricStatus.draft,
        based_on=row.based_on,
        note=row.note,
        author=row.author,
        created_at=row.created_at,
        published_at=row.published_at,
        question=question_of(row),
    )


def _require_current(session: Session, question_id: str) -> RubricVersion:
    row = current_row(session, question_id)
    if row is None:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    return row


def get_draft(*, session: Session, question_id: str) -> RubricOut:
    """The open draft, or the current version (is_draft false) to start one from."""
    row = draft_row(session, question_id) or _require_current(session, question_id)
    return _out(row)


def _next_version(session: Session, question_id: str) -> int:
    top = session.scalar(
        select(func.max(RubricVersion.version)).where(RubricVersion.question_id == question_id)
    )
    return int(top or 0) + 1


def _validated(content: dict[str, Any]) -> Question:
    try:
        return Question.model_validate(content)
    except ValidationError as exc:
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'question'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(message) from exc


def save_draft(*, session: Session, question_id: str, edit: DraftIn, author: str | None) -> RubricOut:
    """Apply an edit to the open draft (or open one from the current version)."""
    current = _require_current(session, question_id)
    draft = draft_row(session, question_id)
    base = dict((draft or current).content)
    changes = edit.model_dump(mode="json", exclude_unset=True, exclude={"note"})
    question = _validated({**base, **changes, "id": current.question_id})
    if draft is None:
        draft = RubricVersion(
            question_id=question_id,
            version=_next_version(session, question_id),
            status=RubricStatus.draft,
            content=dump_question(question),
            based_on=current.version,
        )
        session.add(draft)
    draft.content = dump_question(question)
    draft.note = edit.note or draft.note
    draft.author = author
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("another reviewer opened a draft of this question at the same moment; retry") from exc
    return _out(draft)


def discard_draft(*, session: Session, question_id: str) -> None:
    draft = draft_row(session, question_id)
    if draft is None:
        raise NotFound(f"question {question_id!r} has no draft")
    session.delete(draft)
    session.commit()


def _yaml(content: dict[str, object]) -> list[str]:
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100).splitlines()


def versions(*, session: Session, question_id: str) -> list[VersionOut]:
    """Every version, newest first, each with a unified diff against the one before it."""
    rows = session.scalars(
        select(RubricVersion).where(RubricVersion.question_id == question_id).order_by(RubricVersion.version)
    ).all()
    if not rows:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    out: list[VersionOut] = []
    previous: list[str] = []
    for row in rows:
        lines = _yaml(row.content)
        diff = "\n".join(
            difflib.unified_diff(
                previous,
                lines,
                fromfile=f"v{row.version - 1}" if previous else "empty",
                tofile=f"v{row.version}",
                lineterm="",
            )
        )
        out.append(
            VersionOut(
                version=row.version,
                status=row.status,
                note=row.note,
                author=row.author,
                based_on=row.based_on,
                created_at=row.created_at,
                published_at=row.published_at,
                agreement=row.agreement,
                diff=diff,
            )
        )
        previous = lines
    return out[::-1]


def revert(
    *, session: Session, scorer: Scorer, question_id: str, version: int, publish_now: bool, author: str | None
) -> RubricOut:
    """A new version with an old version's content: a draft, or published at once."""
    old = session.scalars(
        select(RubricVersion).where(
            RubricVersion.question_id == question_id, RubricVersion.version == version
        )
    ).first()
    if old is None:
        raise NotFound(f"question {question_id!r} has no version {version}")
    draft = draft_row(session, question_id)
    if draft is not None:
        session.delete(draft)
        session.flush()
    current = _require_current(session, question_id)
    row = RubricVersion(
        question_id=question_id,
        version=_next_version(session, question_id),
        status=RubricStatus.draft,
        content=dict(old.content),
        based_on=current.version,
        note=f"revert to v{version}",
        author=author,
    )
    session.add(row)
    session.commit()
    if publish_now:
        return publish(session=session, scorer=scorer, question_id=question_id, author=author)
    return _out(row)


def publish(*, session: Session, scorer: Scorer, question_id: str, author: str | None) -> RubricOut:
    """Make the draft current, and store the agreement it and the whole set now have with the gold set."""
    draft = draft_row(session, question_id)
    if draft is None:
        raise Conflict(f"question {question_id!r} has no draft to publish")
    for row in session.scalars(
        select(RubricVersion).where(
            RubricVersion.question_id == question_id, RubricVersion.status == RubricStatus.published
        )
    ):
        row.status = RubricStatus.superseded
    draft.status = RubricStatus.published
    draft.published_at = utcnow()
    if author is not None:
        draft.author = author
    session.flush()
    gold = gold_set(session=session)
    rubrics = rubric_set(published_questions(session))
    overall = score_gold(scorer, rubrics, gold)
    mine = [g for g in gold if g.question_id == question_id]
    draft.agreement = {
        "question": score_gold(scorer, rubrics, mine).model_dump(),
        "overall": overall.model_dump(),
        "gold_digest": gold_digest(gold),
    }
    session.commit()
    return _out(draft)
