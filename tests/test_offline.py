"""The README's "offline" claim: starting the app and scoring an answer writes no telemetry anywhere
under the user's home or cache folder (ONNX Runtime would write ~/.cache/Microsoft/.../onnxruntime.db)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app import TELEMETRY_OFF
from app.config import PROJECT_ROOT

_SCRIPT = """
import onnxruntime  # the library that would write telemetry at import
from fastapi.testclient import TestClient
from app.config import Settings
from app.main import create_app

settings = Settings(_env_file=None, api_keys=[], llm="rubric", judge="off", minilm_backend="onnxruntime",
                    database_url="sqlite:///{db}")
with TestClient(create_app(settings)) as client:
    q = client.get("/v1/questions").json()["items"][0]["id"]
    r = client.post("/v1/score", json={{"question_id": q, "answer": "Dropout zeroes random units."}})
    assert r.status_code == 200, r.text  # it waits for the scorer, which loads in the background
    assert "onnx" in str(client.get("/healthz").json()["embedder"]).lower(), client.get("/healthz").json()
"""


def test_starting_the_app_writes_no_telemetry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    # A clean environment: the switches must come from importing the app, not from this test run.
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), HF_HUB_OFFLINE="1")
    script = _SCRIPT.format(db=tmp_path / "db.sqlite").replace(
        "import onnxruntime", "import app\nimport onnxruntime", 1
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert written == [], written
