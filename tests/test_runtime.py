"""One start-up path: the server listens while the scorer loads, says what is warming, and the
CLI commands take a scorer handed in instead of loading their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import make_settings
from typer.testing import CliRunner

from app import cli
from app.bank.models import Bank
from app.main import create_app
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer


def test_the_server_answers_while_the_scorer_loads(
    tmp_path: Path, bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No scorer handed in: the app loads the real one in the background. /healthz answers at
    once with `ready: false` and the scorer warming; a score sent meanwhile waits and is served;
    then every step is ready with its duration. The real build is held at a gate until the first
    /healthz has answered (it can take under a second, less than the speech model's start)."""
    import threading

    from app.scoring import service

    gate = threading.Event()
    real_build = service.build_scorer

    def gated_build(*args: Any, **kwargs: Any) -> Scorer:
        assert gate.wait(60), "the test never opened the gate"
        return real_build(*args, **kwargs)

    monkeypatch.setattr(service, "build_scorer", gated_build)
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    with TestClient(create_app(settings)) as client:
        first = client.get("/healthz")
        gate.set()
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["ready"] is False and body["warming"] == ["scorer"], body
        assert body["embedder"] == {"state": "warming"}
        assert body["steps"]["database"]["state"] == "ready" and body["steps"]["bank"]["state"] == "ready"
        qid = sorted(bank.questions)[0]
        scored = client.post(
            "/v1/score", json={"question_id": qid, "answer": bank.questions[qid].reference_answer}
        )
        assert scored.status_code == 200, scored.text
        assert scored.json()["value"] >= 9
        ready = client.get("/healthz").json()
        assert ready["ready"] is True and ready["warming"] == [], ready
        assert ready["embedder"]["scorer_version"]
        assert set(ready["steps"]) == {"database", "bank", "llm", "judge", "speech", "scorer"}
        assert all(s["state"] == "ready" and s["seconds"] >= 0 for s in ready["steps"].values())


def test_a_scorer_that_fails_to_load_is_reported_not_hidden(tmp_path: Path, bank: Bank) -> None:
    """A broken calibration file fails the background step: /healthz is 503 with the reason, and
    a route that needs the scorer answers 503, not 500 and not a silent fallback."""
    broken = tmp_path / "calibration.json"
    broken.write_text("{ not json", encoding="utf-8")
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", calibration_path=broken)
    with TestClient(create_app(settings)) as client:
        qid = sorted(bank.questions)[0]
        scored = client.post("/v1/score", json={"question_id": qid, "answer": "an answer"})
        assert scored.status_code == 503, scored.text
        assert scored.json()["error"]["code"] == "provider_unavailable"
        assert "scorer failed to start" in scored.json()["error"]["message"]
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "failed"
        assert health.json()["steps"]["scorer"]["state"] == "failed"


def test_an_unknown_embedder_still_fails_at_start(tmp_path: Path) -> None:
    from app.errors import ConfigurationError

    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", embedder="no-such-embedder")
    with pytest.raises(ConfigurationError, match="MOCKINTERVIEW_EMBEDDER"), TestClient(create_app(settings)):
        pass


def test_score_cli_uses_a_scorer_handed_in(scorer: Scorer, bank: Bank) -> None:
    """`mockinterview score` through the one start-up path, on the session's scorer (no second load)."""
    q = bank.questions[sorted(bank.questions)[0]]
    answer = q.sample_answers[0].text
    result = CliRunner().invoke(
        cli.app,
        ["score", answer, "--question-id", q.id, "--json"],
        obj=scorer,
        env={"MOCKINTERVIEW_JUDGE": "off"},
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["value"] == scorer.score(Rubric.from_question(q), answer).value
    missing = CliRunner().invoke(cli.app, ["score", "x", "--question-id", "no-such-question"], obj=scorer)
    assert missing.exit_code == 1 and "no-such-question" in missing.output
