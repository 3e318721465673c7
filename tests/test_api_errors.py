"""Every error answers with one shape, {"error": {"code", "message"}}, and the right status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import AppFactory, make_settings

from app.config import Settings


def _error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return dict(body["error"])


def _start(client: TestClient, n: int = 1) -> dict[str, Any]:
    r = client.post("/v1/interviews", json={"num_questions": n})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_unknown_ids_are_404(client: TestClient) -> None:
    _error(client.get("/v1/interviews/nope"), 404, "interview_not_found")
    _error(client.get("/v1/interviews/nope/report"), 404, "interview_not_found")
    _error(
        client.post("/v1/interviews/nope/answers", json={"text": "hi", "turn": 1}), 404, "interview_not_found"
    )
    _error(client.get("/v1/questions/no-such-question"), 404, "question_not_found")
    _error(client.post("/v1/score", json={"question_id": "no-such-question", "answer": "x"}), 404)
    _error(client.get("/v1/no-such-route"), 404, "not_found")


def test_answering_a_completed_interview_is_409(client: TestClient) -> None:
    iid = _start(client)["id"]
    status = "in_progress"
    for turn in (1, 2):  # the main question and at most one follow-up
        r = client.post(f"/v1/interviews/{iid}/answers", json={"text": "I don't know.", "turn": turn})
        status = r.json()["status"]
        if status == "completed":
            break
    assert status == "completed"
    again = {"text": "again", "turn": turn + 1}
    _error(client.post(f"/v1/interviews/{iid}/answers", json=again), 409, "interview_finished")
    _error(client.post(f"/v1/interviews/{iid}/answers?stream=true", json=again), 409)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("answers", {}, "text"),
        ("answers", {"text": ""}, "text"),
        ("answers", {"text": 42}, "text"),
        ("answers", {"text": "ok", "turn": 1, "extra": 1}, "extra"),
        ("answers", {"text": "ok"}, "turn"),
        ("answers", {"text": "ok", "turn": 0}, "turn"),
        ("answers", {"text": "ok", "turn": 2**31}, "turn"),
        ("create", {"num_questions": 0}, "num_questions"),
        ("create", {"level": "expert"}, "level"),
        ("create", {"topics": "cnns"}, "topics"),
        ("score", {"answer": "x"}, "body"),
        ("score", {"question": "q?", "answer": "x"}, "body"),
        ("score", {"question_id": "q", "answer": ""}, "answer"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(
    client: TestClient, path: str, payload: dict[str, Any], field: str
) -> None:
    url = {
        "answers": f"/v1/interviews/{_start(client)['id']}/answers",
        "create": "/v1/interviews",
        "score": "/v1/score",
    }[path]
    err = _error(client.post(url, json=payload), 422, "invalid_input")
    assert any(f["field"] == field or f["field"].startswith(field) for f in err["fields"]), err
    assert field in err["message"]


def test_domain_validation_is_422(client: TestClient, settings: Settings) -> None:
    err = _error(client.post("/v1/interviews", json={"topics": ["no-such-topic"]}), 422, "invalid_input")
    assert "no-such-topic" in err["message"]
    too_many = settings.max_num_questions + 1
    err = _error(client.post("/v1/interviews", json={"num_questions": too_many}), 422)
    assert "num_questions" in err["message"]
    _error(client.get("/v1/questions", params={"limit": 0}), 422)
    _error(client.get("/v1/questions", params={"level": "expert"}), 422)
    _error(
        client.post("/v1/interviews", content=b"not json", headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )


def test_oversize_answer_is_413(client: TestClient, settings: Settings) -> None:
    iid = _start(client)["id"]
    big = "word " * (settings.max_answer_chars // 5 + 1)
    assert len(big) > settings.max_answer_chars
    _error(
        client.post(f"/v1/interviews/{iid}/answers", json={"text": big, "turn": 1}), 413, "answer_too_large"
    )
    _error(client.post(f"/v1/interviews/{iid}/answers?stream=true", json={"text": big, "turn": 1}), 413)
    _error(client.post("/v1/score", json={"question": "q?", "reference_answer": "r", "answer": big}), 413)
    # Nothing was stored: the interview still waits for its first answer.
    assert client.get(f"/v1/interviews/{iid}").json()["turns"] == []


def test_api_keys(app_factory: AppFactory, settings: Settings) -> None:
    locked = app_factory(make_settings(database_url=settings.database_url, api_keys="k-one,k-two"))
    for r in (
        locked.get("/v1/questions"),
        locked.post("/v1/interviews", json={}),
        locked.get("/v1/questions", headers={"Authorization": "Bearer wrong"}),
        locked.get("/v1/questions", headers={"Authorization": "Basic azpr"}),
        locked.post("/v1/score", json={"question_id": "x", "answer": "y"}),
    ):
        _error(r, 401, "unauthorized")
    assert locked.get("/healthz").status_code == 200  # probes need no key
    ok = {"Authorization": "Bearer k-two"}
    assert locked.get("/v1/questions", headers=ok).status_code == 200
    created = locked.post("/v1/interviews", json={"num_questions": 1}, headers=ok)
    assert created.status_code == 201
    iid = created.json()["id"]
    assert locked.get(f"/v1/interviews/{iid}", headers=ok).status_code == 200
    # An interview belongs to the key that started it.
    _error(locked.get(f"/v1/interviews/{iid}", headers={"Authorization": "Bearer k-one"}), 404)
