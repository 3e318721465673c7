"""What the pages need beyond the core API: the full session report as JSON and as Markdown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from app.auth import require_api_key
from app.deps import BankDep, Owner, SessionDep
from app.web.report import SessionReport, build_session_report
from app.web.report_md import render_markdown

__all__ = ["router"]

router = APIRouter(tags=["reports"], dependencies=[Depends(require_api_key)])

Download = Annotated[bool, Query(description="send as an attachment (a file to save)")]


def _disposition(interview_id: str, ext: str, download: bool) -> dict[str, str]:
    if not download:
        return {}
    safe = "".join(c for c in interview_id if c.isalnum() or c in "-_")
    return {"Content-Disposition": f'attachment; filename="interview-{safe}.{ext}"'}


@router.get(
    "/interviews/{interview_id}/report.json",
    response_model=SessionReport,
    summary="The full session report: scores, answers, evidence, key points, speaking, progress",
)
def full_report(
    interview_id: str, session: SessionDep, bank: BankDep, owner: Owner, download: Download = False
) -> JSONResponse:
    report = build_session_report(session=session, bank=bank, interview_id=interview_id, owner=owner)
    return JSONResponse(report.model_dump(mode="json"), headers=_disposition(interview_id, "json", download))


@router.get(
    "/interviews/{interview_id}/report.md",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}},
    summary="The full session report as Markdown",
)
def markdown_report(
    interview_id: str, session: SessionDep, bank: BankDep, owner: Owner, download: Download = False
) -> PlainTextResponse:
    report = build_session_report(session=session, bank=bank, interview_id=interview_id, owner=owner)
    return PlainTextResponse(
        render_markdown(report),
        media_type="text/markdown; charset=utf-8",
        headers=_disposition(interview_id, "md", download),
    )
