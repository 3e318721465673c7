"""A whole interview over REST, on SQLite and on PostgreSQL, with the real scorer and rubric provider."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from support import AppFactory

from app.bank.models import Bank, Question
from app.config import Settings

ANSWER_KEYS = {
    "score",
    "feedback",
    "follow_up",
    "next_question",
    "status",
    "turn",
    "degraded",
    "degraded_reason",
}


def _partial_answer(q: Question) -> str:
    """States only the first key point, so the rubric provider has something to follow up on."""
    return q.key_points[0].text


def _answer_for(bank: Bank, asked: dict[str, Any]) -> str:
    q = bank.questions[asked["id"]]
    if asked.get("follow_up_id"):
        return q.follow_up(asked["follow_up_id"]).reference_answer
    if asked.get("follow_up_id") is None and asked["text"] != q.text:  # a generated probe
        return q.reference_answer
    return _partial_answer(q)


def run_interview(client: TestClient, bank: Bank, num_questions: int = 3) -> tuple[str, list[dict[str, Any]]]:
    """Answer until completed; returns the id and every answer response."""
    r = client.post("/v1/interviews", json={"num_questions": num_questions})
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) >= {"id", "status", "question"}
    assert created["status"] == "in_progress"
    assert set(created["question"]) >= {"id", "text", "topic", "level"}
    iid, asked = created["id"], created["question"]
    responses = []
    for _ in range(2 * num_questions):
        r = client.post(
            f"/v1/interviews/{iid}/answers", json={"text": _answer_for(bank, asked), "turn": asked["turn"]}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        responses.append({"asked": asked, **body})
        if body["status"] == "completed":
            break
        asked = body["next_question"]
    return iid, responses


def test_whole_interview(client: TestClient) -> None:
    bank = client.app.state.bank
    iid, responses = run_interview(client, bank, num_questions=3)
    assert len(iid) >= 20  # token_urlsafe(16): unguessable
    assert responses[-1]["status"] == "completed"
    assert responses[-1]["next_question"] is None
    main_turns = [
        r
        for r in responses
        if not r["asked"].get("follow_up_id") and r["asked"]["text"] == bank.questions[r["asked"]["id"]].text
    ]
    assert len(main_turns) == 3
    for n, r in enumerate(responses, 1):
        assert ANSWER_KEYS <= set(r)
        assert r["turn"] == n
        score = r["score"]
        assert 0 <= score["value"] <= 10
        assert score["band"] in {"strong", "acceptable", "weak", "off_topic"}
        for kp in score["key_points"]:
            assert {"text", "covered", "similarity", "evidence"} <= set(kp)
        assert r["feedback"]
        if r["follow_up"] is not None:
            # The follow-up is what comes next, on the same question.
            assert r["next_question"]["text"] == r["follow_up"]
            assert r["next_question"]["id"] == r["asked"]["id"]

    # A follow-up answer is graded against the follow-up's own rubric, then the interview moves on.
    followed = [r for r in responses if r["asked"].get("follow_up_id")]
    assert followed, "the rubric provider follows up on a partial answer"
    for r in followed:
        f = bank.questions[r["asked"]["id"]].follow_up(r["asked"]["follow_up_id"])
        assert {kp["id"] for kp in r["score"]["key_points"]} == {k.id for k in f.key_points}
        assert r["follow_up"] is None  # at most one follow-up per main question
        assert r["score"]["value"] >= 5, "the follow-up's reference answer grades well"

    full = client.get(f"/v1/interviews/{iid}").json()
    assert full["status"] == "completed"
    assert [t["number"] for t in full["turns"]] == list(range(1, len(responses) + 1))
    for t, r in zip(full["turns"], responses, strict=True):
        assert t["answer"] and t["question"] == r["asked"]["text"]
        assert t["score"] == r["score"]
        assert t["feedback"] == r["feedback"]
        assert t["follow_up"] == r["follow_up"]
        assert t["provider"] == "rubric"

    report = client.get(f"/v1/interviews/{iid}/report").json()
    assert report["status"] == "completed"
    assert report["answered"] == report["total"] == 3
    assert len(report["questions"]) == 3
    for qr in report["questions"]:
        assert qr["main"] is not None and qr["value"] is not None
    assert {t["topic"] for t in report["topics"]} == {q["topic"] for q in report["questions"]}
    assert 0 <= report["overall"] <= 10
    assert report["band"] in {"strong", "acceptable", "weak"}


def test_reference_answer_beats_wrong_answer(client: TestClient) -> None:
    bank = client.app.state.bank
    r = client.post("/v1/interviews", json={"num_questions": 1})
    iid, q = r.json()["id"], bank.questions[r.json()["question"]["id"]]
    good = client.post(f"/v1/interviews/{iid}/answers", json={"text": q.reference_answer, "turn": 1}).json()
    r2 = client.post("/v1/interviews", json={"num_questions": 1})
    other = bank.questions[r2.json()["question"]["id"]]
    bad = client.post(
        f"/v1/interviews/{r2.json()['id']}/answers",
        json={"text": "I like turtles and sunny days.", "turn": 1},
    )
    assert good["score"]["value"] >= 6.0, good["score"]
    assert bad.json()["score"]["value"] < good["score"]["value"], (other.id, bad.json()["score"])


def test_filters_choose_questions(client: TestClient) -> None:
    bank = client.app.state.bank
    topic = sorted(bank.topics)[0]
    level = next(q.level for q in bank.questions.values() if q.topic == topic)
    r = client.post("/v1/interviews", json={"topics": [topic], "level": level, "num_questions": 2})
    assert r.status_code == 201, r.text
    body = client.get(f"/v1/interviews/{r.json()['id']}").json()
    for qid in body["question_ids"]:
        assert bank.questions[qid].topic == topic and bank.questions[qid].level == level
    assert body["config"]["topics"] == [topic]


def test_second_app_instance_continues(app_factory: AppFactory, settings: Settings) -> None:
    """Interview state lives only in the database: two apps on one database share the interview."""
    first, second = app_factory(settings), app_factory(settings)
    bank = first.app.state.bank
    created = first.post("/v1/interviews", json={"num_questions": 2}).json()
    iid, asked = created["id"], created["question"]
    clients = [first, second]
    turn = 0
    while True:
        r = clients[turn % 2].post(
            f"/v1/interviews/{iid}/answers", json={"text": _answer_for(bank, asked), "turn": asked["turn"]}
        )
        assert r.status_code == 200, r.text
        turn += 1
        assert r.json()["turn"] == turn
        if r.json()["status"] == "completed":
            break
        asked = r.json()["next_question"]
    a, b = first.get(f"/v1/interviews/{iid}").json(), second.get(f"/v1/interviews/{iid}").json()
    assert a == b
    assert len(a["turns"]) == turn >= 2
    assert (
        second.post(f"/v1/interviews/{iid}/answers", json={"text": "more", "turn": turn + 1}).status_code
        == 409
    )


def test_healthz(client: TestClient, settings: Settings) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["embedder"]["scorer_version"]
    assert body["llm"]["name"] == "rubric"
    assert body["stt"] == settings.stt
    assert body["database"] in {"sqlite", "postgresql"}
    assert settings.database_url.startswith(body["database"])
    assert body["bank"]["questions"] == len(client.app.state.bank.questions) > 0
