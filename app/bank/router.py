"""GET /v1/questions, /v1/questions/{id} and /v1/topics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import CurrentPrincipal, Role
from app.bank import service
from app.bank.models import Level
from app.bank.schemas import QuestionDetail, QuestionPage, QuestionSummary, TopicOut
from app.db.base import MAX_INT
from app.deps import BankDep

__all__ = ["router"]

router = APIRouter(tags=["questions"])


@router.get("/questions")
def list_questions(
    bank: BankDep,
    topic: Annotated[str | None, Query(description="topic slug")] = None,
    level: Level | None = None,
    q: Annotated[str | None, Query(max_length=200, description="words that must all appear")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> QuestionPage:
    return service.list_questions(bank=bank, topic=topic, level=level, q=q, limit=limit, offset=offset)


@router.get(
    "/questions/{question_id}",
    description="Candidates get the question (text, topic, level); reviewers and admins (and the "
    "single user in local mode) also get its rubric: reference answer, key points and follow-ups.",
)
def get_question(
    bank: BankDep, question_id: str, principal: CurrentPrincipal
) -> QuestionDetail | QuestionSummary:
    return service.get_question(
        bank=bank, question_id=question_id, with_rubric=principal.role in (Role.reviewer, Role.admin)
    )


@router.get("/topics")
def list_topics(bank: BankDep) -> list[TopicOut]:
    return service.list_topics(bank=bank)
