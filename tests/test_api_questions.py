"""GET /v1/questions (topic, level, text search, paging), /v1/questions/{id}, /v1/topics, POST /v1/score."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_paging_covers_every_question_once(client: TestClient) -> None:
    bank = client.app.state.bank
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get("/v1/questions", params={"limit": 25, "offset": offset}).json()
        assert page["total"] == len(bank.questions)
        assert page["limit"] == 25 and page["offset"] == offset
        seen += [item["id"] for item in page["items"]]
        if not page["items"]:
            break
        offset += 25
    assert sorted(seen) == sorted(bank.questions)
    assert len(set(seen)) == len(seen)


def test_filters(client: TestClient) -> None:
    bank = client.app.state.bank
    topic = sorted(bank.topics)[-1]
    page = client.get("/v1/questions", params={"topic": topic, "limit": 100}).json()
    assert page["total"] == sum(q.topic == topic for q in bank.questions.values())
    assert all(item["topic"] == topic for item in page["items"])

    level = "beginner"
    page = client.get("/v1/questions", params={"level": level, "limit": 100}).json()
    assert page["total"] == sum(q.level == level for q in bank.questions.values())
    assert all(item["level"] == level for item in page["items"])

    q = next(iter(bank.questions.values()))
    word = max(q.text.split(), key=len).strip("?.,()").lower()
    page = client.get("/v1/questions", params={"q": word, "limit": 100}).json()
    assert q.id in [item["id"] for item in page["items"]]
    assert client.get("/v1/questions", params={"q": "zzzqqq-nothing"}).json()["total"] == 0
    assert client.get("/v1/questions", params={"topic": "no-such-topic"}).json()["items"] == []


def test_question_detail_and_topics(client: TestClient) -> None:
    bank = client.app.state.bank
    q = sorted(bank.questions.values(), key=lambda x: x.id)[0]
    detail = client.get(f"/v1/questions/{q.id}").json()
    assert detail["id"] == q.id and detail["text"] == q.text and detail["topic"] == q.topic
    assert [f["id"] for f in detail["follow_ups"]] == [f.id for f in q.follow_ups]
    topics = client.get("/v1/topics").json()
    assert {t["topic"] for t in topics} == set(bank.topics)
    assert sum(t["questions"] for t in topics) == len(bank.questions)


def test_score_by_question_id(client: TestClient) -> None:
    bank = client.app.state.bank
    q = sorted(bank.questions.values(), key=lambda x: x.id)[0]
    r = client.post("/v1/score", json={"question_id": q.id, "answer": q.reference_answer})
    assert r.status_code == 200, r.text
    score = r.json()
    assert {kp["id"] for kp in score["key_points"]} == {k.id for k in q.key_points}
    assert score["value"] >= 6.0


def test_score_ad_hoc(client: TestClient) -> None:
    body = {
        "question": "Why do we use a validation set?",
        "reference_answer": [
            "A validation set is held-out data used to tune hyperparameters and detect overfitting "
            "without touching the test set.",
        ],
        "key_points": ["It is used to tune hyperparameters", "It detects overfitting"],
        "answer": "We tune hyperparameters on held-out validation data and watch it to catch overfitting.",
    }
    score = client.post("/v1/score", json=body).json()
    assert [kp["text"] for kp in score["key_points"]] == body["key_points"]
    assert all(kp["weight"] == 1.0 for kp in score["key_points"])
    single = client.post("/v1/score", json={**body, "reference_answer": body["reference_answer"][0]}).json()
    assert single["value"] == score["value"]
    without_points = client.post("/v1/score", json={k: v for k, v in body.items() if k != "key_points"})
    assert without_points.status_code == 200 and without_points.json()["key_points"]
    off = client.post("/v1/score", json={**body, "answer": "Bananas are yellow and grow in bunches."}).json()
    assert off["value"] < score["value"]
