"""The chat page at `/`, the report page, and the report exports under /v1; static files via STATIC_DIR.

The pages are shells: their scripts call the public /v1 API, so a page never shows more than the API
would give the same caller (API keys stay in the browser and are sent as bearer tokens).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.auth import keys_required
from app.config import Settings
from app.web.api_extra import router as api_router
from app.web.jinja import strict_templates

__all__ = ["STATIC_DIR", "router", "static_app"]

_HERE = Path(__file__).resolve().parent
STATIC_DIR = _HERE / "static"

_templates = strict_templates(_HERE / "templates")

router = APIRouter(include_in_schema=False)
router.include_router(api_router, prefix="/v1", include_in_schema=True)


def static_app() -> StaticFiles:
    """The page assets, mounted by create_app at /static."""
    return StaticFiles(directory=STATIC_DIR)


def _context(request: Request, **extra: object) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    return {
        "needs_key": keys_required(request),
        "asset_version": request.app.version,
        "max_answer_chars": settings.max_answer_chars,
        "max_num_questions": settings.max_num_questions,
        "default_num_questions": settings.default_num_questions,
        **extra,
    }


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request) -> HTMLResponse:
    return _templates.TemplateResponse(request, "chat.html", _context(request))


@router.get("/interviews/{interview_id}/report", response_class=HTMLResponse)
def report_page(request: Request, interview_id: str) -> HTMLResponse:
    return _templates.TemplateResponse(request, "report.html", _context(request, interview_id=interview_id))
