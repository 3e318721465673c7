"""Edit → what-if → publish → the next score uses the new version; export round-trip; the CI check.

Runs on a fresh SQLite file and on a fresh PostgreSQL schema (the `client` fixture's parameters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from support import AppFactory, make_settings

from app.bank.loader import load_bank
from app.bank.models import Bank, Question
from app.review import service
from app.scoring.scorer import Scorer

UNRELATED = (
    "Kubernetes schedules containers onto nodes; a pod is the smallest deployable unit, and services "
    "give pods a stable network address."
)


def _question(client: TestClient) -> Question:
    bank: Bank = client.app.state.bank  # type: ignore[attr-defined]
    return bank.questions[sorted(bank.questions)[0]]


def _interview_on(client: TestClient, q: Question) -> str:
    """A new interview whose first question is q (the engine picks at random within topic and level)."""
    for _ in range(300):
        r = client.post("/v1/interviews", json={"topics": [q.topic], "level": q.level, "num_questions": 1})
        assert r.status_code == 201, r.text
        if r.json()["question"]["id"] == q.id:
            return str(r.json()["id"])
    raise AssertionError(f"no interview on {q.id}")


def _answer(client: TestClient, q: Question, text: str) -> dict[str, Any]:
    iid = _interview_on(client, q)
    r = client.post(f"/v1/interviews/{iid}/answers", json={"text": text, "turn": 1})
    assert r.status_code == 200, r.text
    turns = client.get(f"/v1/interviews/{iid}").json()["turns"]
    return {"score": r.json()["score"], "interview": iid, "turns": turns}


def _turn_ids(client: TestClient, q: Question) -> dict[str, int]:
    """Stored answers to q by text, from the grading queue."""
    items = client.get("/v1/review/queue", params={"question_id": q.id, "limit": 200}).json()
    return {i["answer"]: i["turn_id"] for i in items}


def _write_worse_bank(out: Path, q: Question) -> Path:
    """The real bank, except that q's rubric is about something else entirely."""
    out.mkdir()
    for path in make_settings().bank_dir.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        for item in data["questions"]:
            if item["id"] == q.id:
                item["reference_answer"] = UNRELATED
                for kp in item["key_points"]:
                    kp["text"], kp["terms"] = UNRELATED + f" ({kp['id']})", ["kubernetes"]
        (out / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def test_edit_whatif_publish_then_scores_use_the_new_version(client: TestClient, tmp_path: Path) -> None:
    q = _question(client)
    strong, partial, wrong = (
        next(s for s in q.sample_answers if s.label == label) for label in ("strong", "partial", "wrong")
    )
    listed = client.get("/v1/review/questions").json()
    assert any(r["id"] == q.id and r["version"] == 1 and not r["has_draft"] for r in listed)

    # Stored answers under version 1, graded by a reviewer: the gold set.
    first = _answer(client, q, strong.text)
    assert first["score"]["rubric_version"] == 1
    for s in (partial, wrong):
        _answer(client, q, s.text)
    ids = _turn_ids(client, q)
    assert set(ids) >= {strong.text, partial.text, wrong.text}
    for s in (strong, partial, wrong):
        r = client.post("/v1/review/grades", json={"turn_id": ids[s.text], "score": s.score, "note": s.label})
        assert r.status_code == 201, r.text
    assert not {strong.text, partial.text, wrong.text} & set(_turn_ids(client, q))  # graded: off the queue
    csv_text = client.get("/v1/review/grades.csv").text
    assert csv_text.splitlines()[0].startswith("question,reference_answer,answer,score")

    # A draft that drops the main key point and rewrites the reference.
    draft = client.get(f"/v1/review/questions/{q.id}/draft").json()
    assert draft["is_draft"] is False and draft["version"] == 1
    edit = {
        "reference_answer": q.reference_answer + " " + UNRELATED,
        "key_points": [kp.model_dump(mode="json") for kp in q.key_points[1:]]
        + [{"id": "containers", "text": UNRELATED, "weight": 3}],
        "note": "trial: weight something else",
    }
    r = client.put(f"/v1/review/questions/{q.id}/draft", json=edit)
    assert r.status_code == 200, r.text
    assert r.json()["is_draft"] and r.json()["version"] == 2 and r.json()["based_on"] == 1
    bad = client.put(f"/v1/review/questions/{q.id}/draft", json={"key_points": []})
    assert bad.status_code == 422  # the bank's own schema rules apply to edits
    assert client.get(f"/v1/review/questions/{q.id}/draft").json()["is_draft"] is True

    # What-if: samples, stored and graded answers, old vs new, and the change in agreement.
    w = client.post(f"/v1/review/questions/{q.id}/whatif")
    assert w.status_code == 200, w.text
    body = w.json()
    kinds = {row["kind"] for row in body["rows"]}
    assert kinds == {"sample", "graded"}
    assert body["current_version"] == 1 and body["draft_version"] == 2
    assert body["graded"]["current"]["n"] == 3 and body["graded"]["draft"]["n"] == 3
    assert set(body["change"]) == {"pearson", "qwk", "mae", "bias"}
    strong_row = next(r for r in body["rows"] if r["kind"] == "sample" and r["label"] == "strong")
    assert strong_row["draft"] < strong_row["current"]  # a key point the answer lacks now weighs most
    again = client.post(f"/v1/review/questions/{q.id}/whatif").json()
    assert again["encoded"] == 0  # the second run re-encodes nothing

    # Publish; history has both versions and a readable diff.
    p = client.post(f"/v1/review/questions/{q.id}/publish")
    assert p.status_code == 200, p.text
    assert p.json()["status"] == "published" and p.json()["version"] == 2
    history = client.get(f"/v1/review/questions/{q.id}/versions").json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["status"] == "published" and history[1]["status"] == "superseded"
    assert "+- id: containers" in history[0]["diff"].replace("  ", "")
    assert history[0]["agreement"]["overall"]["n"] == 3
    assert client.post(f"/v1/review/questions/{q.id}/publish").status_code == 409  # no draft left

    # The next interview on this question is graded with version 2, exactly as the what-if said.
    after = _answer(client, q, strong.text)
    assert after["score"]["rubric_version"] == 2
    assert after["score"]["value"] == strong_row["draft"]
    assert after["turns"][0]["score"]["rubric_version"] == 2

    # The agreement report ranks the question; revert makes version 3 with version 1's content.
    report = client.get("/v1/review/agreement").json()
    assert report["overall"]["n"] == 3 and report["questions"][0]["question_id"] == q.id
    r = client.post(f"/v1/review/questions/{q.id}/revert", json={"version": 1, "publish": True})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3 and r.json()["question"] == q.model_dump(mode="json")
    assert _answer(client, q, strong.text)["score"]["rubric_version"] == 3


def test_export_round_trip(client: TestClient, tmp_path: Path) -> None:
    """Export then load gives the same bank; an edit published over the API shows up in the files."""
    bank = load_bank(make_settings().bank_dir)
    q = _question(client)
    out = tmp_path / "exported"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        service.export_bank(session=session, bank=bank, out_dir=out)
    assert load_bank(out) == bank
    assert sorted(p.name for p in out.glob("*.yaml")) == sorted(
        p.name for p in make_settings().bank_dir.glob("*.yaml")
    )
    r = client.put(f"/v1/review/questions/{q.id}/draft", json={"text": q.text + " Give an example."})
    assert r.status_code == 200
    assert client.post(f"/v1/review/questions/{q.id}/publish").status_code == 200
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        service.export_bank(session=session, bank=bank, out_dir=out)
    exported = load_bank(out)
    assert exported.questions[q.id].text == q.text + " Give an example."
    assert {k: v for k, v in exported.questions.items() if k != q.id} == {
        k: v for k, v in bank.questions.items() if k != q.id
    }
    text = (out / f"{q.topic}.yaml").read_text()
    assert "reference_answer: >-" in text or "reference_answer: >" in text  # prose folded like the bank


def test_review_check_fails_when_an_edit_makes_agreement_worse(
    client: TestClient, scorer: Scorer, tmp_path: Path
) -> None:
    """The gold set from the first test; a bank whose rubric for q is about something else must fail."""
    bank = load_bank(make_settings().bank_dir)
    q = _question(client)
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        same = service.check(session=session, scorer=scorer, candidate=None)
        assert same.ok, same
        good = service.check(session=session, scorer=scorer, candidate=bank)
        assert good.ok, good

        worse_dir = _write_worse_bank(tmp_path / "worse", q)
        worse = service.check(session=session, scorer=scorer, candidate=load_bank(worse_dir))
    assert not worse.ok, worse
    assert worse.candidate.qwk is not None and worse.baseline.qwk is not None
    assert worse.candidate.qwk < worse.baseline.qwk - worse.margin


def test_review_check_cli_exit_code(client: TestClient, app_factory: AppFactory, tmp_path: Path) -> None:
    """The console script: exit 0 for the bank as it is, 1 for a bank with a worse rubric."""
    from typer.testing import CliRunner

    from app.cli import app as cli

    env = {
        "MOCKINTERVIEW_DATABASE_URL": str(client.app.state.settings.database_url),  # type: ignore[attr-defined]
        "MOCKINTERVIEW_API_KEYS": "",
        "HF_HUB_OFFLINE": "1",
    }
    runner = CliRunner()
    scorer = client.app.state.runtime.scorer  # type: ignore[attr-defined]  # the session's, not a second load
    ok = runner.invoke(cli, ["review", "check"], env=env, obj=scorer)
    assert ok.exit_code == 0, ok.output
    worse = _write_worse_bank(tmp_path / "worse", _question(client))
    bad = runner.invoke(cli, ["review", "check", "--bank-dir", str(worse)], env=env, obj=scorer)
    assert bad.exit_code == 1, bad.output
