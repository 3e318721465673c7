"""The reviewer page at /review: a shell whose script calls /v1/review with the reviewer's key."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.config import Settings
from app.errors import NotFound

__all__ = ["router"]

_HERE = Path(__file__).resolve().parent

_templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )
)

router = APIRouter(include_in_schema=False)
_ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    lookup = getattr(request.app.state, "key_lookup", None)
    needs_key = bool(settings.api_keys) or (lookup is not None and lookup.any_active())
    return _templates.TemplateResponse(
        request, "review.html", {"needs_key": needs_key, "asset_version": request.app.version}
    )


@router.get("/review/static/{name}")
def review_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise NotFound(f"no asset {name!r}")
    return FileResponse(_HERE / "static" / name, media_type=_ASSETS[name])
