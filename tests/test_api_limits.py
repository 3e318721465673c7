"""Bounded work per request: ad-hoc rubrics of POST /v1/score have size limits (settings, 422) and
never reach the on-disk embedding cache; bodies are refused from their Content-Length (413)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from support import AppFactory, make_settings

from app.config import Settings


def _adhoc(**overrides: Any) -> dict[str, Any]:
    body = {
        "question": "Why keep a validation set apart from the training data?",
        "reference_answer": "An unbiased estimate for tuning hyperparameters and spotting overfitting.",
        "key_points": ["tunes hyperparameters", "detects overfitting"],
        "answer": "To tune hyperparameters without overfitting to the test set.",
    }
    body.update(overrides)
    return body


def test_adhoc_rubric_limits_are_422(client: TestClient, settings: Settings) -> None:
    assert client.post("/v1/score", json=_adhoc()).status_code == 200
    too_many = [f"point number {i}" for i in range(settings.score_max_key_points + 1)]
    cases = {
        "key_points": _adhoc(key_points=too_many),
        "reference_answer": _adhoc(
            reference_answer=["a reference"] * (settings.score_max_reference_answers + 1)
        ),
    }
    long_text = "word " * (settings.score_max_rubric_chars // 5 + 1)
    cases["question"] = _adhoc(question=long_text)
    for field, body in cases.items():
        r = client.post("/v1/score", json=body)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"]["message"].startswith(field), r.text
    r = client.post("/v1/score", json=_adhoc(key_points=["fine", long_text]))
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("key_points")


def test_adhoc_rubric_vectors_stay_off_disk(client: TestClient, settings: Settings) -> None:
    salt = hashlib.sha256(settings.database_url.encode()).hexdigest()
    marker = f"an ad-hoc key point nobody wrote before {salt}"
    r = client.post("/v1/score", json=_adhoc(key_points=[marker]))
    assert r.status_code == 200, r.text
    files = list(Path(settings.cache_dir).glob("embeddings-*.sqlite"))
    assert files, "the scorer keeps bank rubric vectors on disk"
    key = hashlib.sha256(marker.encode()).hexdigest()
    for f in files:
        with sqlite3.connect(f) as db:
            assert db.execute("SELECT count(*) FROM vec WHERE key = ?", (key,)).fetchone() == (0,)


def _post_scope(path: str, content_type: bytes, *, length: int) -> dict[str, Any]:
    """A raw ASGI POST announcing `length` bytes of body, for calling the app without a client."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", content_type), (b"content-length", str(length).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


def test_bodies_are_refused_from_content_length_before_reading(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    small = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", max_json_bytes=2000, max_audio_bytes=4000
    )
    client = app_factory(small)
    r = client.post("/v1/score", json=_adhoc(answer="x " * 2000))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    r = client.post("/v1/transcribe", files={"audio": ("a.wav", b"\0" * 8000, "audio/wav")})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    # Without a Content-Length the body is cut off while it streams.

    def chunks() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
        for _ in range(10):
            yield b"\0" * 1000
        yield b"\r\n--x--\r\n"

    r = client.post(
        "/v1/transcribe", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    # A huge announced body is refused without reading a byte of it.
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = _post_scope("/v1/score", b"application/json", length=100 * 2**20)
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413


def test_a_body_that_stops_arriving_is_answered_408(app_factory: AppFactory, tmp_path: Path) -> None:
    """A client that sends its headers and part of its body, then nothing, gets 408 (and its
    connection closed) after BODY_TIMEOUT_S, for a JSON body and for a form (a spoken answer)."""
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", body_timeout_s=0.3)
    client = app_factory(settings)

    def trickle(path: str, content_type: bytes, first: bytes) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        parts = [{"type": "http.request", "body": first, "more_body": True}]

        async def receive() -> dict[str, Any]:
            if parts:
                return parts.pop()
            await asyncio.sleep(3600)  # the rest never comes
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = _post_scope(path, content_type, length=5000)
        asyncio.run(asyncio.wait_for(client.app(scope, receive, send), timeout=30))  # type: ignore[arg-type]
        return sent

    for path, content_type, first in (
        ("/v1/score", b"application/json", b'{"question_id": "dropout-basics", "ans'),
        ("/v1/transcribe", b"multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; "),
    ):
        sent = trickle(path, content_type, first)
        assert sent[0]["status"] == 408, (path, sent)
        assert (b"connection", b"close") in sent[0]["headers"], sent[0]["headers"]
        body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        assert body["error"]["code"] == "request_timeout", body
