"""Bad input gets a 4xx, never a 5xx, and the same answer on SQLite and PostgreSQL: deep nesting,
unparsable JSON, out-of-range integers, control characters, whitespace-only answers, loose types;
timestamps carry their UTC offset on every backend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

MAX_INT = 2**31 - 1


def _error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


def _start(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/interviews", json={"num_questions": 1})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _body_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every /v1 operation that takes a request body, with its ids made concrete."""
    out = []
    for path, ops in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method, op in ops.items():
            if path.startswith("/v1") and "requestBody" in op:
                out.append(
                    (method.upper(), path.replace("{interview_id}", "nope").replace("{question_id}", "q"))
                )
    assert len(out) >= 6
    return out


def test_deep_nesting_is_400_on_every_body_route(client: TestClient) -> None:
    iid = _start(client)["id"]
    deep = b"[" * 100_000
    for method, path in [*_body_routes(client), ("POST", f"/v1/interviews/{iid}/answers")]:
        r = client.request(method, path, content=deep, headers={"content-type": "application/json"})
        _error(r, 400, "invalid_json")
    nested = {"text": "x", "turn": 1}
    for _ in range(40):
        nested = {"text": [nested]}  # type: ignore[dict-item]
    _error(client.post(f"/v1/interviews/{iid}/answers", json=nested), 400, "invalid_json")


def test_unparsable_json_is_one_error_on_every_route(client: TestClient) -> None:
    iid = _start(client)["id"]
    routes = [*_body_routes(client), ("POST", f"/v1/interviews/{iid}/answers")]
    for body in (b"not json", b'{"text": ', b"\xff\xfe"):
        for method, path in routes:
            r = client.request(method, path, content=body, headers={"content-type": "application/json"})
            err = _error(r, 400, "invalid_json")
            assert "fields" not in err
    # The answers route also reads bodies sent without a JSON content type.
    r = client.post(f"/v1/interviews/{iid}/answers", content=b"{oops", headers={"content-type": "text/plain"})
    _error(r, 400, "invalid_json")


def test_every_integer_input_fits_32_bits(client: TestClient) -> None:
    """The spec bounds every integer a caller sends, so none reaches the database out of range."""
    spec = client.app.openapi()  # type: ignore[attr-defined]
    schemas = spec["components"]["schemas"]
    unbounded: list[str] = []

    def walk(where: str, schema: dict[str, Any], seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(name, schemas[name], seen | {name})
            return
        if schema.get("type") == "integer" and schema.get("maximum", float("inf")) > MAX_INT:
            unbounded.append(where)
        for key in ("anyOf", "oneOf", "allOf"):
            for i, sub in enumerate(schema.get(key, [])):
                walk(f"{where}|{i}", sub, seen)
        for name, sub in schema.get("properties", {}).items():
            walk(f"{where}.{name}", sub, seen)
        if isinstance(schema.get("items"), dict):
            walk(f"{where}[]", schema["items"], seen)

    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                walk(f"{method} {path} {p['name']}", p["schema"], frozenset())
            for media in op.get("requestBody", {}).get("content", {}).values():
                walk(f"{method} {path} body", media["schema"], frozenset())
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("DELETE", f"/v1/keys/{2**63}", None),
        ("DELETE", f"/v1/keys/{2**31}", None),
        ("POST", "/v1/review/grades", {"turn_id": 2**31, "score": 5}),
        ("POST", "/v1/review/grades", {"turn_id": 2**64, "score": 5}),
        ("POST", "/v1/review/questions/q/revert", {"version": 2**31}),
        ("POST", "/v1/interviews", {"num_questions": 2**63}),
        ("GET", f"/v1/questions?offset={2**63}", None),
    ],
)
def test_out_of_range_integers_are_422(client: TestClient, method: str, path: str, payload: Any) -> None:
    _error(client.request(method, path, json=payload), 422, "invalid_input")


def test_control_characters_are_422_everywhere(client: TestClient) -> None:
    iid = _start(client)["id"]
    url = f"/v1/interviews/{iid}/answers"
    err = _error(
        client.post(url, json={"text": "dropout\u0000 regularises", "turn": 1}), 422, "invalid_input"
    )
    assert err["fields"][0]["field"] == "text"
    _error(client.post(url, json={"text": "bell\u0007", "turn": 1}), 422, "invalid_input")
    _error(client.post("/v1/keys", json={"role": "candidate", "label": "a\u0000b"}), 422, "invalid_input")
    _error(client.post("/v1/score", json={"question_id": "q\u0000", "answer": "x"}), 422, "invalid_input")
    _error(client.get("/v1/interviews/ab%00cd"), 422, "invalid_input")
    _error(client.get("/v1/questions", params={"q": "atten\x00tion"}), 422, "invalid_input")
    _error(client.get("/v1/review/queue", params={"question_id": "\x00"}), 422, "invalid_input")
    # Nothing was stored, and ordinary whitespace still passes.
    assert client.get(f"/v1/interviews/{iid}").json()["turns"] == []
    ok = client.post(url, json={"text": "Dropout zeroes units\n\tat random while training.", "turn": 1})
    assert ok.status_code == 200, ok.text


def test_whitespace_only_answers_are_422(client: TestClient) -> None:
    iid = _start(client)["id"]
    for text in (" ", "\n\t  \n", "\u00a0\u2003"):
        err = _error(client.post(f"/v1/interviews/{iid}/answers", json={"text": text, "turn": 1}), 422)
        assert err["fields"][0]["field"] == "text"
        _error(client.post("/v1/score", json={"question_id": "q", "answer": text}), 422)
    assert client.get(f"/v1/interviews/{iid}").json()["turns"] == []


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/interviews", {"num_questions": "3"}, "num_questions"),
        ("/v1/interviews", {"num_questions": True}, "num_questions"),
        ("/v1/interviews", {"num_questions": 2.0}, "num_questions"),
        ("answers", {"text": "x", "turn": "1"}, "turn"),
        ("answers", {"text": "x", "turn": True}, "turn"),
        ("/v1/review/grades", {"turn_id": "1", "score": 5}, "turn_id"),
        ("/v1/review/grades", {"turn_id": 1, "score": "5"}, "score"),
        ("/v1/review/questions/q/revert", {"version": "1"}, "version"),
    ],
)
def test_types_are_strict(client: TestClient, path: str, payload: dict[str, Any], field: str) -> None:
    if path == "answers":
        path = f"/v1/interviews/{_start(client)['id']}/answers"
    err = _error(client.post(path, json=payload), 422, "invalid_input")
    assert field in [f["field"] for f in err["fields"]], err


def test_timestamps_are_utc_with_an_offset(client: TestClient) -> None:
    iid = _start(client)["id"]
    ok = client.post(
        f"/v1/interviews/{iid}/answers", json={"text": "Dropout drops units at random.", "turn": 1}
    )
    assert ok.status_code == 200
    got = client.get(f"/v1/interviews/{iid}").json()
    stamps = [got["created_at"], got["updated_at"], got["turns"][0]["created_at"]]
    versions = client.get(f"/v1/review/questions/{got['question_ids'][0]}/versions").json()
    stamps += [v["created_at"] for v in versions] + [v["published_at"] for v in versions if v["published_at"]]
    for stamp in stamps:
        parsed = datetime.fromisoformat(stamp)
        assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0, stamp
