"""The reviewer page at /review: a shell whose script calls /v1/review with the reviewer's key."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.auth import keys_required
from app.errors import NotFound
from app.web.jinja import strict_templates

__all__ = ["router"]

_HERE = Path(__file__).resolve().parent

_templates = strict_templates(_HERE / "templates")

router = APIRouter(include_in_schema=False)
_ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> HTMLResponse:
    return _templates.TemplateResponse(
        request, "review.html", {"needs_key": keys_required(request), "asset_version": request.app.version}
    )


@router.get("/review/static/{name}")
def review_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise NotFound(f"no asset {name!r}")
    return FileResponse(_HERE / "static" / name, media_type=_ASSETS[name])
