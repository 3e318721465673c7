"""Answers are applied exactly once: each names its turn, a resent one is a 409 naming the current turn
(never the answer to the next question), and an Idempotency-Key retry gets the stored response back.

Runs on a fresh SQLite file and on a fresh PostgreSQL schema; the races use two app instances on one
database, as two server processes would."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import AppFactory

from app.config import Settings

REPEATS = 20
ANSWER = "Dropout zeroes random activations during training so units cannot co-adapt."


def _start(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/interviews", json={"num_questions": 2})
    assert r.status_code == 201, r.text
    created = dict(r.json())
    assert created["question"]["turn"] == 1
    return created


def _stored(client: TestClient, iid: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/interviews/{iid}").json()["turns"])


@pytest.fixture(scope="module")
def pair(app_factory: AppFactory, settings: Settings) -> tuple[TestClient, TestClient]:
    """Two app instances on the same database."""
    return app_factory(settings), app_factory(settings)


def test_a_resent_answer_is_409_naming_the_current_turn(pair: tuple[TestClient, TestClient]) -> None:
    client = pair[0]
    iid = _start(client)["id"]
    first = client.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 1})
    assert first.status_code == 200, first.text
    nxt = first.json()["next_question"]
    assert nxt["turn"] == 2 == first.json()["turn"] + 1
    again = client.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 1})
    assert again.status_code == 409, again.text
    err = again.json()["error"]
    assert err["code"] == "turn_mismatch" and err["current_turn"] == 2
    assert "current turn is 2" in err["message"]
    ahead = client.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 5})
    assert ahead.status_code == 409 and ahead.json()["error"]["current_turn"] == 2
    # The resent copy did not become the answer to the next question.
    turns = _stored(client, iid)
    assert [t["number"] for t in turns] == [1]
    assert client.get(f"/v1/interviews/{iid}").json()["current_question"]["turn"] == 2


def test_idempotency_key_returns_the_stored_response(pair: tuple[TestClient, TestClient]) -> None:
    first, second = pair
    iid = _start(first)["id"]
    key = {"Idempotency-Key": "answer-1-of-" + iid}
    r1 = first.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 1}, headers=key)
    assert r1.status_code == 200, r1.text
    r2 = second.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 1}, headers=key)
    assert r2.status_code == 200, r2.text
    assert r2.json() == r1.json()
    with second.stream(
        "POST", f"/v1/interviews/{iid}/answers?stream=true", json={"text": ANSWER, "turn": 1}, headers=key
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        data = [json.loads(x.removeprefix("data:")) for x in r.iter_lines() if x.startswith("data:")]
    assert data[0] == r1.json()["score"] and data[-1] == r1.json()
    assert len(_stored(first, iid)) == 1
    # The same key for another turn is a mistake the caller must hear about.
    reused = first.post(f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 2}, headers=key)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["error"]["message"]
    bad = first.post(
        f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 2}, headers={"Idempotency-Key": "a b"}
    )
    assert bad.status_code == 422
    assert len(_stored(first, iid)) == 1


def test_turn_is_required_in_json_and_multipart(pair: tuple[TestClient, TestClient]) -> None:
    client = pair[0]
    iid = _start(client)["id"]
    url = f"/v1/interviews/{iid}/answers"
    for r in (
        client.post(url, json={"text": ANSWER}),
        client.post(url, files={"audio": ("a.wav", b"RIFF", "audio/wav")}),
        client.post(url, files={"audio": ("a.wav", b"RIFF", "audio/wav")}, data={"turn": "one"}),
        client.post(url, files={"audio": ("a.wav", b"RIFF", "audio/wav")}, data={"turn": str(2**31)}),
    ):
        assert r.status_code == 422, r.text
        assert [f["field"] for f in r.json()["error"]["fields"]] == ["turn"], r.text
    # A spoken answer for another turn is refused before any transcription.
    r = client.post(url, files={"audio": ("a.wav", b"RIFF", "audio/wav")}, data={"turn": "2"})
    assert r.status_code == 409 and r.json()["error"]["current_turn"] == 1
    assert _stored(client, iid) == []
    spec = client.app.openapi()["paths"]["/v1/interviews/{interview_id}/answers"]["post"]  # type: ignore[attr-defined]
    body = spec["requestBody"]["content"]
    assert "turn" in body["multipart/form-data"]["schema"]["required"]
    assert any(p["name"] == "Idempotency-Key" for p in spec["parameters"])


def _race(clients: tuple[TestClient, TestClient], iid: str, headers: list[dict[str, str]]) -> list[Any]:
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def send(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post(
            f"/v1/interviews/{iid}/answers", json={"text": ANSWER, "turn": 1}, headers=headers[i]
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_two_simultaneous_answers_to_one_turn_store_exactly_one(pair: tuple[TestClient, TestClient]) -> None:
    for _ in range(REPEATS):
        iid = _start(pair[0])["id"]
        a, b = _race(pair, iid, [{}, {}])
        assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
        lost = a if a.status_code == 409 else b
        assert lost.json()["error"]["code"] == "turn_mismatch"
        assert lost.json()["error"]["current_turn"] == 2
        turns = _stored(pair[1], iid)
        assert [t["number"] for t in turns] == [1], turns


def test_two_simultaneous_retries_with_one_key_both_get_the_stored_answer(
    pair: tuple[TestClient, TestClient],
) -> None:
    for i in range(REPEATS):
        iid = _start(pair[0])["id"]
        key = {"Idempotency-Key": f"race-{i}"}
        a, b = _race(pair, iid, [key, key])
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert a.json() == b.json()
        assert [t["number"] for t in _stored(pair[1], iid)] == [1]
