"""What speech routes need, as Annotated aliases over app.state (filled by the router's lifespan)."""

from __future__ import annotations

import json
import threading
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.bank.models import Bank
from app.speech.base import Transcriber
from app.speech.correction import Glossary

__all__ = [
    "GlossaryDep",
    "TranscriberDep",
    "answer_body_openapi",
    "get_glossary",
    "get_transcriber",
    "json_or_audio",
]

_M = TypeVar("_M", bound=BaseModel)

_glossary_lock = threading.Lock()


def get_transcriber(request: Request) -> Transcriber:
    transcriber: Transcriber = request.app.state.transcriber
    return transcriber


def get_glossary(request: Request) -> Glossary:
    """Built from the loaded bank on first use (a few seconds), then kept on the app."""
    state = request.app.state
    glossary: Glossary | None = getattr(state, "glossary", None)
    if glossary is None:
        with _glossary_lock:
            glossary = getattr(state, "glossary", None)
            if glossary is None:
                bank: Bank = state.bank
                glossary = state.glossary = Glossary.from_bank(bank)
    return glossary


TranscriberDep = Annotated[Transcriber, Depends(get_transcriber)]
GlossaryDep = Annotated[Glossary, Depends(get_glossary)]


async def json_or_audio(request: Request, model: type[_M]) -> _M | StarletteUploadFile:
    """One endpoint, two bodies: JSON validated as `model`, or multipart/form-data with an `audio` file.

    JSON errors come out exactly as FastAPI's own body validation would raise them."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=8)
        audio = form.get("audio")
        if not isinstance(audio, StarletteUploadFile):
            missing = {"type": "missing", "loc": ("body", "audio"), "msg": "needs an audio file"}
            raise RequestValidationError([missing])
        return audio
    raw = await request.body()
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}]
        ) from exc
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its nested models written in place: this body is documented by hand, and a
    `#/$defs/...` reference would point at the OpenAPI document's root, where nothing is."""
    defs = schema.pop("$defs", {})

    def sub(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return sub(defs[ref.rsplit("/", 1)[-1]])
            return {k: sub(v) for k, v in node.items()}
        if isinstance(node, list):
            return [sub(v) for v in node]
        return node

    out: dict[str, Any] = sub(schema)
    return out


def answer_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The request body documentation for a route that takes `json_or_audio`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(model.model_json_schema())},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["audio"],
                        "properties": {
                            "audio": {
                                "type": "string",
                                "format": "binary",
                                "description": "the spoken answer: wav, webm/opus, ogg, mp3 or m4a",
                            }
                        },
                    }
                },
            },
        }
    }
