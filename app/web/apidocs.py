"""/redoc drawn from the ReDoc bundle that fastapi-offline ships, so no request leaves the server.

The bundle itself fetches one thing from a CDN: the small logo beside "API docs by Redocly" at the
foot of its menu (no ReDoc option turns it off). So /redoc loads the packaged bundle through this
router, with that one address pointed at a logo the app serves; everything else is the package's
file as shipped. Google Fonts stay off (ReDoc falls back to the system's sans-serif).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response

__all__ = ["OFFLINE_DOCS_STATIC", "REDOC_JS", "REDOC_LOGO", "router"]

OFFLINE_DOCS_STATIC = "/static-offline-docs"  # where FastAPIOffline mounts its packaged assets
REDOC_JS = "/redoc-assets/redoc.standalone.js"
REDOC_LOGO = "/static/redoc-logo.svg"
_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@cache
def _redoc_bundle() -> bytes:
    """The packaged bundle with its CDN logo pointed at ours (read once; about 1 MB)."""
    source = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_text(encoding="utf-8")
    return source.replace(_CDN_LOGO, REDOC_LOGO).encode("utf-8")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{REDOC_JS}",
        redoc_favicon_url=f"{root}{OFFLINE_DOCS_STATIC}/favicon.png",
        with_google_fonts=False,
    )


@router.get(REDOC_JS)
def redoc_js() -> Response:
    return Response(
        _redoc_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )
