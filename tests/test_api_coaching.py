"""The coaching loop (issue 21): the model answer of an answered turn, Try again as a new attempt,
Skip, I don't know and End interview, each naming its turn, through the API on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.bank.models import Bank

WEAK = "It has something to do with computers, I believe."


def _start(client: TestClient, n: int) -> dict[str, Any]:
    r = client.post("/v1/interviews", json={"num_questions": n})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _answer(client: TestClient, iid: str, turn: int, text: str) -> dict[str, Any]:
    r = client.post(f"/v1/interviews/{iid}/answers", json={"text": text, "turn": turn})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _model(client: TestClient, iid: str, turn: int) -> Any:
    return client.get(f"/v1/interviews/{iid}/turns/{turn}/model-answer")


def test_the_model_answer_opens_only_once_the_turn_is_answered(client: TestClient, bank: Bank) -> None:
    created = _start(client, 2)
    iid, qid = created["id"], created["question"]["id"]
    before = _model(client, iid, 1)
    assert before.status_code == 409, before.text
    assert before.json()["error"]["code"] == "turn_mismatch"
    assert before.json()["error"]["current_turn"] == 1
    assert "reference_answer" not in before.text and bank.questions[qid].reference_answer not in before.text
    out = _answer(client, iid, 1, WEAK)
    r = _model(client, iid, 1)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["reference_answer"] == bank.questions[qid].reference_answer
    assert shown["turn"] == 1 and shown["attempt"] == 1 and shown["kind"] == "answered"
    assert [k["id"] for k in shown["key_points"]] == [k.id for k in bank.questions[qid].key_points]
    scored = {k["id"]: k["status"] for k in out["score"]["key_points"]}
    assert {k["id"]: k["status"] for k in shown["key_points"]} == scored
    assert _model(client, iid, 2).status_code == 409  # the next turn is still open
    assert _model(client, iid, 99).status_code == 409
    assert _model(client, "no-such-interview", 1).status_code == 404


def test_try_again_is_a_new_attempt_and_the_report_shows_first_and_best(client: TestClient) -> None:
    iid = _start(client, 2)["id"]
    first = _answer(client, iid, 1, WEAK)
    reference = _model(client, iid, 1).json()["reference_answer"]
    url = f"/v1/interviews/{iid}/retries"
    key = {"Idempotency-Key": f"retry-1-{iid}"}
    r = client.post(url, json={"text": reference, "turn": 1}, headers=key)
    assert r.status_code == 200, r.text
    retried = r.json()
    assert retried["attempt"] == 2 and retried["previous"] == {"attempt": 1, "value": first["score"]["value"]}
    assert retried["score"]["value"] > first["score"]["value"]
    assert retried["change"] == round(retried["score"]["value"] - first["score"]["value"], 2)
    assert retried["best"]["attempt"] == 2 and retried["first"]["attempt"] == 1
    assert retried["next_question"] == first["next_question"]  # the interview did not move
    # The same key gets the stored response; no third attempt is stored.
    again = client.post(url, json={"text": reference, "turn": 1}, headers=key)
    assert again.status_code == 200 and again.json() == retried
    # A plain repeated answer is still refused, naming the current turn.
    repeat = client.post(f"/v1/interviews/{iid}/answers", json={"text": reference, "turn": 1})
    assert repeat.status_code == 409 and repeat.json()["error"]["current_turn"] == 2
    # The key of a retry is no key for an answer.
    mixed = client.post(f"/v1/interviews/{iid}/answers", json={"text": reference, "turn": 1}, headers=key)
    assert mixed.status_code == 422, mixed.text
    # Only the most recently answered turn can be tried again.
    ahead = client.post(url, json={"text": reference, "turn": 2})
    assert ahead.status_code == 409 and ahead.json()["error"]["current_turn"] == 2
    turn = client.get(f"/v1/interviews/{iid}").json()["turns"][0]
    assert [a["attempt"] for a in turn["attempts"]] == [1, 2]
    assert turn["attempts"][1]["answer"] == reference and turn["answer"] == WEAK
    shown = _model(client, iid, 1).json()
    assert shown["attempt"] == 2  # the model answer marks what the latest attempt covered

    report = client.get(f"/v1/interviews/{iid}/report").json()
    q = report["questions"][0]
    [t1] = [t for t in q["turns"] if t["turn"] == 1]
    assert t1["first"] == first["score"]["value"] and t1["best"] == retried["score"]["value"]
    assert t1["attempts"] == 2 and t1["kind"] == "answered"
    assert q["main"] == first["score"]["value"]  # the interview's score counts the first attempt
    assert q["best_value"] is not None and q["best_value"] > q["value"]
    full = client.get(f"/v1/interviews/{iid}/report.json").json()
    assert full["turns"][0]["attempts"] == 2 and full["turns"][0]["best"]["attempt"] == 2
    markdown = client.get(f"/v1/interviews/{iid}/report.md").text
    assert (
        "Score (first attempt)" in markdown and "Best attempt:" in markdown and "(attempt 2 of 2)" in markdown
    )

    _answer(client, iid, 2, WEAK)
    late = client.post(url, json={"text": reference, "turn": 1})
    assert late.status_code == 409 and late.json()["error"]["current_turn"] in (3, None)
    assert "most recently answered turn (2)" in late.json()["error"]["message"]


def test_skip_and_dont_know_score_zero_and_move_on(client: TestClient, bank: Bank) -> None:
    created = _start(client, 3)
    iid = created["id"]
    wrong = client.post(f"/v1/interviews/{iid}/skip", json={"turn": 2})
    assert wrong.status_code == 409 and wrong.json()["error"]["current_turn"] == 1
    key = {"Idempotency-Key": f"skip-{iid}"}
    r = client.post(f"/v1/interviews/{iid}/skip", json={"turn": 1}, headers=key)
    assert r.status_code == 200, r.text
    skipped = r.json()
    assert skipped["score"]["value"] == 0 and "skipped" in skipped["score"]["flags"]
    assert skipped["follow_up"] is None and skipped["turn"] == 1
    nxt = skipped["next_question"]
    assert nxt["turn"] == 2 and nxt["follow_up_id"] is None and nxt["text"] == bank.questions[nxt["id"]].text
    assert nxt["id"] != created["question"]["id"]
    again = client.post(f"/v1/interviews/{iid}/skip", json={"turn": 1}, headers=key)
    assert again.status_code == 200 and again.json() == skipped

    r = client.post(f"/v1/interviews/{iid}/dont-know", json={"turn": 2})
    assert r.status_code == 200, r.text
    idk = r.json()
    assert idk["score"]["value"] == 0 and idk["score"]["flags"] == ["dont_know"]
    assert idk["follow_up"] is None and "A good answer makes these points" in idk["feedback"]
    assert _model(client, iid, 1).json()["kind"] == "skipped"
    assert _model(client, iid, 2).json()["kind"] == "dont_know"

    _answer(client, iid, 3, bank.questions[idk["next_question"]["id"]].reference_answer)
    state = client.get(f"/v1/interviews/{iid}").json()
    assert [t["kind"] for t in state["turns"]][:2] == ["skipped", "dont_know"]
    report = client.get(f"/v1/interviews/{iid}/report").json()
    assert [q["turns"][0]["kind"] for q in report["questions"]] == ["skipped", "dont_know", "answered"]
    values = [q["value"] for q in report["questions"]]
    assert values[:2] == [0, 0] and values[2] > 0
    assert report["answered"] == 3 and report["overall"] == round(sum(values) / 3, 2)
    markdown = client.get(f"/v1/interviews/{iid}/report.md").text
    assert "_Skipped_" in markdown and "_I don't know_" in markdown
    kinds = [t["kind"] for t in client.get(f"/v1/interviews/{iid}/report.json").json()["turns"]]
    assert kinds[:2] == ["skipped", "dont_know"]


def test_end_interview_finishes_early_and_reports_what_was_answered(client: TestClient) -> None:
    iid = _start(client, 3)["id"]
    first = _answer(client, iid, 1, WEAK)
    current = first["next_question"]["turn"]
    wrong = client.post(f"/v1/interviews/{iid}/end", json={"turn": 1})
    assert wrong.status_code == 409 and wrong.json()["error"]["current_turn"] == current
    key = {"Idempotency-Key": f"end-{iid}"}
    r = client.post(f"/v1/interviews/{iid}/end", json={"turn": current}, headers=key)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["status"] == "completed" and report["ended_early"] is True
    assert report["answered"] == 1 and report["total"] == 3
    assert report["overall"] == report["questions"][0]["value"]
    assert [q["value"] for q in report["questions"][1:]] == [None, None]
    assert client.get(f"/v1/interviews/{iid}/report").json() == report
    assert "Ended early with End interview" in client.get(f"/v1/interviews/{iid}/report.md").text
    assert client.post(f"/v1/interviews/{iid}/end", json={"turn": current}, headers=key).json() == report
    for path, body in (
        ("answers", {"text": WEAK, "turn": current}),
        ("end", {"turn": current}),
        ("skip", {"turn": current}),
        ("retries", {"text": WEAK, "turn": 1}),
    ):
        after = client.post(f"/v1/interviews/{iid}/{path}", json=body)
        assert after.status_code == 409 and after.json()["error"]["code"] == "interview_finished", after.text
    assert client.get(f"/v1/interviews/{iid}").json()["current_question"] is None


def test_the_actions_are_documented_with_the_shared_errors(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    base = "/v1/interviews/{interview_id}"
    ops = {
        f"{base}/turns/{{turn}}/model-answer": "get",
        f"{base}/retries": "post",
        f"{base}/skip": "post",
        f"{base}/dont-know": "post",
        f"{base}/end": "post",
    }
    for path, method in ops.items():
        responses = paths[path][method]["responses"]
        assert {"200", "404", "409", "422"} <= set(responses), path
    retry = paths[f"{base}/retries"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in retry["parameters"])
