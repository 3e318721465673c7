"""The FastAPI app: `create_app(settings)` wires everything in the lifespan; nothing heavy at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import require_api_key
from app.config import Settings
from app.errors import DomainError, error_body
from app.guard import RequestGuard
from app.judge.base import Judge
from app.llm.base import LLMProvider
from app.runtime import UNSET, Runtime, Unset
from app.scoring.scorer import Scorer

__all__ = ["create_app", "error_body"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
}


def _field(loc: Sequence[int | str]) -> str:
    # ("body", "text") -> "text"; ("query", "limit") -> "limit"; keep nested paths dotted.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):  # one answer on every route
        return JSONResponse(error_body("invalid_json", "the body is not valid JSON"), status_code=400)
    fields = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(error_body("invalid_input", message, fields=fields), status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("database error: %s", exc)
    return JSONResponse(error_body("database_unavailable", "the database is unavailable"), status_code=503)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


# The one place lower-level errors become HTTP answers.
EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Any]] = {
    DomainError: _domain_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    SQLAlchemyError: _database_error,
    Exception: _unexpected_error,
}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable: unauthorized, turn_mismatch, invalid_json, ...")
    message: str
    fields: list[dict[str, str]] | None = Field(default=None, description="422: the fields at fault")
    current_turn: int | None = Field(default=None, description="409 turn_mismatch: the turn to answer")


class ErrorResponse(BaseModel):
    """The one shape of every error answer."""

    error: ErrorDetail


_ERROR_TEXT = {
    400: "the body is not JSON or is nested too deeply (`invalid_json`)",
    401: "a missing, wrong or revoked API key (keys mode)",
    403: "the key's role may not do this",
    404: "no such interview, question, turn or key (another owner's interview looks missing)",
    409: "the interview is completed, the answer or action names another turn (`turn_mismatch`; a model "
    "answer before its turn is answered), or the rubric has no draft for this action",
    408: "the request body stopped arriving (MOCKINTERVIEW_BODY_TIMEOUT_S)",
    413: "the body, or the answer, is too large",
    415: "an audio format the service does not take",
    422: "invalid input: the fields at fault are listed",
    429: "too many wrong keys from this address, or too much scoring work from this caller; see Retry-After",
}


# Interview actions that name a turn: the wrong one (or a completed interview) is a 409.
_TURN_ACTIONS = ("/retries", "/skip", "/dont-know", "/end", "/model-answer", "/resume")


def _documented_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """app.openapi with the shared error schema on every /v1 operation, for the errors it can give."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["ErrorDetail"] = ErrorDetail.model_json_schema()
        schemas["ErrorResponse"] = ErrorResponse.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        schemas["ErrorResponse"].pop("$defs", None)
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for path, ops in spec.get("paths", {}).items():
            if not path.startswith("/v1"):
                continue
            for method, op in ops.items():
                codes = {401, 429}
                if "requestBody" in op:
                    codes |= {400, 408, 413, 422}
                if op.get("parameters"):
                    codes.add(422)
                # a path id, or an id in the body or query (question_id, turn_id) that may not exist
                if "{" in path or path.startswith(("/v1/review", "/v1/transcribe", "/v1/score")):
                    codes.add(404)
                if path.startswith(("/v1/review", "/v1/keys")):
                    codes.add(403)
                if path.startswith("/v1/review/questions/") and method != "get":
                    codes.add(409)  # no draft to publish, run or discard; a draft already based elsewhere
                if path.endswith("/answers"):
                    codes |= {409, 415}
                if path.endswith(_TURN_ACTIONS):
                    codes.add(409)
                if path.endswith("/transcribe"):
                    codes.add(415)
                for code in sorted(codes):
                    op.setdefault("responses", {})[str(code)] = {
                        "description": _ERROR_TEXT[code],
                        "content": ref,
                    }
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = spec
        return spec

    return openapi


def _lifespan(
    settings: Settings, scorer: Scorer | None, llm: LLMProvider | None, judge: Judge | None | Unset
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from app.ratelimit import FailedAuthLimiter, ScoringLimiter
        from app.review.startup import start_review

        runtime = Runtime(settings)
        app.state.runtime = runtime
        runtime.warmup.expect("database", "bank", "llm", "judge", "speech", "scorer")
        app.state.settings = settings
        app.state.auth_limiter = FailedAuthLimiter(settings)
        app.state.scoring_limiter = ScoringLimiter(settings)
        app.state.session_factory = runtime.open_database()
        app.state.engine = runtime.engine
        app.state.bank = start_review(app, runtime.load_bank())  # seeds rubric versions, DB keys
        app.state.llm = runtime.build_llm(llm)
        app.state.judge = runtime.build_judge(judge)  # its model loads in the background
        app.state.transcriber = runtime.build_transcriber()
        if scorer is not None:
            runtime.build_scorer(scorer)
        else:  # the embedding model takes seconds: the server listens meanwhile (see app.deps)
            runtime.build_scorer_in_background()
        log.info("serving: %d questions, llm %s", len(app.state.bank.questions), settings.llm)
        try:
            yield
        finally:
            runtime.close()

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    scorer: Scorer | None = None,
    llm: LLMProvider | None = None,
    judge: Judge | None | Unset = UNSET,
) -> FastAPI:
    """The app for these settings; pass a built scorer, provider or judge (None: no judge) to share
    one across apps (tests, CLI)."""
    from app.bank.router import router as bank_router
    from app.health import router as health_router
    from app.interviews.router import router as interviews_router
    from app.keys.router import router as keys_router
    from app.review.router import router as review_router
    from app.review.web import router as review_page
    from app.speech.router import router as speech_router
    from app.web.apidocs import router as redoc_router
    from app.web.router import router as web_router
    from app.web.router import static_app

    settings = settings or Settings()
    # /docs (Swagger UI) and /redoc (app.web.apidocs) load their assets from packages, not a CDN:
    # both work offline.
    app = FastAPIOffline(
        redoc_url=None,
        title="mockinterview",
        version="0.1.0",
        summary="Practise deep-learning interviews: questions, graded answers, follow-ups and a report.",
        lifespan=_lifespan(settings, scorer, llm, judge),
    )
    app.add_middleware(
        RequestGuard,
        max_json_bytes=settings.max_json_bytes,
        max_json_depth=settings.max_json_depth,
        max_body_bytes=settings.max_audio_bytes + settings.max_json_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    app.state.settings = settings
    app.openapi = _documented_errors(app)  # type: ignore[method-assign]
    for exc_type, handler in EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
    app.include_router(health_router)
    app.include_router(redoc_router)  # /redoc
    v1 = [Depends(require_api_key)]
    app.include_router(bank_router, prefix="/v1", dependencies=v1)
    app.include_router(interviews_router, prefix="/v1", dependencies=v1)
    app.include_router(speech_router, prefix="/v1", dependencies=v1)  # POST /v1/transcribe
    app.include_router(review_router, prefix="/v1")  # reviewer/admin roles, checked by the router
    app.include_router(keys_router, prefix="/v1")  # admin role
    app.include_router(review_page)  # the /review page and its assets
    app.include_router(web_router)  # the chat and report pages, report exports under /v1
    app.mount("/static", static_app(), name="static")
    return app
