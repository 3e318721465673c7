"""Bad input stops at the door with a 4xx, never deeper as a 5xx: control characters in the path or
query, and JSON bodies that are too large, too deeply nested, unparsable or carry control characters.

A pure ASGI middleware, so every route (FastAPI's own body parsing and `json_or_audio` alike) gets
the same answers, identically on SQLite and PostgreSQL (PostgreSQL refuses NUL in text, SQLite
stores it). The body is read once, checked, and handed on unchanged.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestGuard", "control_character_at", "json_problem"]

# C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def _depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects, without recursion (strings blanked out first)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if m[0] in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def control_character_at(value: object) -> str | None:
    """The dotted path of the first string (key or value) holding a control character, else None."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _CONTROL.search(item):
                return path or "body"
        elif isinstance(item, dict):
            for k, v in item.items():
                sub = f"{path}.{k}" if path else str(k)
                if _CONTROL.search(k):
                    return sub
                stack.append((sub, v))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(item))
    return None


def json_problem(raw: bytes, *, max_depth: int) -> JSONResponse | None:
    """The error response for a JSON body we will not process, or None when it is fine."""
    if _depth(raw) > max_depth:
        return _error(400, "invalid_json", f"the JSON body is nested deeper than {max_depth} levels")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return _error(400, "invalid_json", f"the body is not valid JSON: {exc}")
    field = control_character_at(payload)
    if field is not None:
        message = f"{field}: control characters (such as NUL) are not allowed"
        return _error(422, "invalid_input", message, fields=[{"field": field, "message": message}])
    return None


class BodyTimeout(HTTPException):
    """The client stopped sending its body: 408 (through the app's handlers inside a route)."""

    def __init__(self, message: str) -> None:
        super().__init__(408, message, headers={"Connection": "close"})


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_bytes: int,
        max_json_depth: int,
        max_body_bytes: int,
        body_timeout_s: float = 30.0,
    ) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_json_depth = max_json_depth
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        receive = self._timed(receive)
        where = _control_in_url(scope)
        if where is not None:
            text = f"{where}: control characters (such as NUL) are not allowed"
            await _error(422, "invalid_input", text, fields=[{"field": where, "message": text}])(
                scope, receive, send
            )
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").lower()
        length = headers.get("content-length")
        announced = int(length) if length is not None and length.isdigit() else None
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or content_type.startswith(_FORM_TYPES):
            # Forms (spoken answers): refused from Content-Length, or while they stream without one.
            if announced is not None and announced > self.max_body_bytes:
                await self._too_large(scope, receive, send, limit=self.max_body_bytes)
                return
            await self.app(scope, self._counted(receive), send)
            return
        # Everything else is read as JSON by the routes (json_or_audio too), so it is checked as JSON.
        if announced is not None and announced > self.max_json_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                message = await receive()
            except BodyTimeout as exc:
                response = _error(408, "request_timeout", str(exc))
                response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_json_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        if raw.strip():
            problem = json_problem(raw, max_depth=self.max_json_depth)
            if problem is not None:
                await problem(scope, receive, send)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _timed(self, receive: Receive) -> Receive:
        """`receive`, with each wait for the next piece of the body bounded by `body_timeout_s`: a
        client that trickles its body (or sends none after its headers) is answered 408 and its
        connection closed, instead of holding a worker for ever. Once the body is complete, waiting
        (for the client to disconnect, during a streamed answer) is not bounded."""
        done = False

        async def timed() -> Message:
            nonlocal done
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=self.body_timeout_s)
            except TimeoutError:
                raise BodyTimeout(
                    f"the request body did not arrive within {self.body_timeout_s:g} s "
                    "(MOCKINTERVIEW_BODY_TIMEOUT_S)"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        return timed

    def _counted(self, receive: Receive) -> Receive:
        """`receive`, raising 413 (answered by the app's error handlers) once the body passes the limit."""
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    raise HTTPException(413, f"the body is larger than {self.max_body_bytes} bytes")
            return message

        return counted

    async def _too_large(
        self, scope: Scope, receive: Receive, send: Send, *, limit: int | None = None
    ) -> None:
        if limit is None:
            message = (
                f"the JSON body is larger than {self.max_json_bytes} bytes (MOCKINTERVIEW_MAX_JSON_BYTES)"
            )
        else:
            message = f"the body is larger than {limit} bytes (MAX_AUDIO_BYTES + MAX_JSON_BYTES)"
        response = _error(413, "too_large", message)
        response.headers["Connection"] = "close"  # what is left of the body is never read
        await response(scope, receive, send)


def _control_in_url(scope: Scope) -> str | None:
    if _CONTROL.search(scope.get("path", "")):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if _CONTROL.search(unquote_plus(query, encoding="utf-8", errors="replace")):
        return "query"
    return None
