"""REST for reviewers under /v1/review: rubric drafts, what-if, publish, history, grading, agreement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from app.auth import Principal, Role, require_role
from app.deps import BankDep, ScorerDep, SessionDep
from app.review import service
from app.review.schemas import (
    AgreementReport,
    DraftIn,
    GradeIn,
    GradeOut,
    QueueItem,
    RevertIn,
    ReviewQuestion,
    RubricOut,
    VersionOut,
    WhatIfOut,
)
from app.rubrics.service import current_bank

__all__ = ["router"]

Reviewer = Annotated[Principal, Depends(require_role(Role.reviewer, Role.admin))]

router = APIRouter(
    prefix="/review", tags=["review"], dependencies=[Depends(require_role(Role.reviewer, Role.admin))]
)


def _author(principal: Principal) -> str:
    return principal.fingerprint or "local"


def _refresh_bank(request: Request, session: SessionDep, bank: BankDep) -> None:
    """This process serves the new text at once; other processes pick it up on their next start."""
    request.app.state.bank = current_bank(session=session, bank=bank)


@router.get("/questions")
def list_questions(session: SessionDep, scorer: ScorerDep) -> list[ReviewQuestion]:
    return service.list_questions(session=session, scorer=scorer)


@router.get("/questions/{question_id}/draft")
def get_draft(question_id: str, session: SessionDep) -> RubricOut:
    return service.get_draft(session=session, question_id=question_id)


@router.put("/questions/{question_id}/draft")
def put_draft(question_id: str, body: DraftIn, session: SessionDep, who: Reviewer) -> RubricOut:
    return service.save_draft(session=session, question_id=question_id, edit=body, author=_author(who))


@router.delete("/questions/{question_id}/draft", status_code=204)
def delete_draft(question_id: str, session: SessionDep) -> None:
    service.discard_draft(session=session, question_id=question_id)


@router.post("/questions/{question_id}/whatif")
def whatif(question_id: str, session: SessionDep, scorer: ScorerDep) -> WhatIfOut:
    return service.whatif(session=session, scorer=scorer, question_id=question_id)


@router.post("/questions/{question_id}/publish")
def publish(
    request: Request, question_id: str, session: SessionDep, scorer: ScorerDep, bank: BankDep, who: Reviewer
) -> RubricOut:
    out = service.publish(session=session, scorer=scorer, question_id=question_id, author=_author(who))
    _refresh_bank(request, session, bank)
    return out


@router.post("/questions/{question_id}/revert")
def revert(
    request: Request,
    question_id: str,
    body: RevertIn,
    session: SessionDep,
    scorer: ScorerDep,
    bank: BankDep,
    who: Reviewer,
) -> RubricOut:
    out = service.revert(
        session=session,
        scorer=scorer,
        question_id=question_id,
        version=body.version,
        publish_now=body.publish,
        author=_author(who),
    )
    if body.publish:
        _refresh_bank(request, session, bank)
    return out


@router.get("/questions/{question_id}/versions")
def versions(question_id: str, session: SessionDep) -> list[VersionOut]:
    return service.versions(session=session, question_id=question_id)


@router.get("/queue")
def queue(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    question_id: str | None = None,
) -> list[QueueItem]:
    return service.queue(session=session, limit=limit, question_id=question_id)


@router.post("/grades", status_code=201)
def add_grade(body: GradeIn, session: SessionDep, who: Reviewer) -> GradeOut:
    return service.add_grade(
        session=session, turn_id=body.turn_id, score=body.score, note=body.note, grader=_author(who)
    )


@router.get(
    "/grades.csv",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The gold set in the eval CSV format: question, reference_answer, answer, score",
)
def grades_csv(session: SessionDep) -> PlainTextResponse:
    return PlainTextResponse(
        service.gold_csv(session=session),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="gold.csv"'},
    )


@router.get("/agreement")
def agreement(session: SessionDep, scorer: ScorerDep) -> AgreementReport:
    return service.agreement_report(session=session, scorer=scorer)
