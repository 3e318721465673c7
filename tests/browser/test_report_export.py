"""The report exports over HTTP (no browser): full JSON, Markdown with neutralised user text, 404s, pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.scoring.schemas import BAND_CUTOFFS
from app.scoring.scorer import Scorer

HOSTILE = "# Heading\n<script>alert(1)</script> | pipe | [link](http://x) *star*"


@pytest.fixture(scope="module")
def client(scorer: Scorer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db: Path = tmp_path_factory.mktemp("export-db") / "mockinterview.db"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, api_keys=[], llm="rubric", judge="off", database_url=f"sqlite:///{db}"
    )
    with TestClient(create_app(settings, scorer=scorer)) as c:
        yield c


def _finished(client: TestClient, first_answer: str) -> str:
    created = client.post("/v1/interviews", json={"num_questions": 1, "topics": ["regularization"]}).json()
    iid, turn = created["id"], created["question"]["turn"]
    text = first_answer
    while True:
        done = client.post(f"/v1/interviews/{iid}/answers", json={"text": text, "turn": turn}).json()
        if done["status"] == "completed":
            return str(iid)
        turn = done["next_question"]["turn"]
        text = "Dropout randomly zeroes activations during training, which regularises the network."


def test_json_export(client: TestClient) -> None:
    iid = _finished(client, HOSTILE)
    r = client.get(f"/v1/interviews/{iid}/report.json")
    assert r.status_code == 200
    data = r.json()
    assert data["id"] == iid and data["status"] == "completed"
    assert data["turns"][0]["answer"] == HOSTILE
    assert data["turns"][0]["topic_title"] == "Regularization and overfitting"
    assert {"strongest", "weakest", "progress", "speaking", "topics", "questions"} <= set(data)
    # the page draws bands from these, so they are the scorer's own cut-offs
    cutoffs = data["band_cutoffs"]
    assert cutoffs == {b.value: cut for b, cut in BAND_CUTOFFS.items()}
    for t in data["topics"]:
        above = [b for b, cut in sorted(cutoffs.items(), key=lambda bc: -bc[1]) if t["value"] >= cut]
        expected = above[0] if above else "weak"
        assert t["band"] == expected, t
    assert data["progress"][0]["points"][-1] == {
        **data["progress"][0]["points"][-1],
        "interview_id": iid,
        "current": True,
    }
    attachment = client.get(f"/v1/interviews/{iid}/report.json?download=true")
    assert attachment.headers["content-disposition"] == f'attachment; filename="interview-{iid}.json"'


def test_markdown_export_neutralises_answers(client: TestClient) -> None:
    iid = _finished(client, HOSTILE)
    r = client.get(f"/v1/interviews/{iid}/report.md?download=true")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/markdown")
    assert r.headers["content-disposition"].endswith('.md"')
    md = r.text
    assert md.startswith(f"# Mock interview report `{iid}`\n")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\n# Heading" not in md  # a user's heading cannot become a heading of the report
    assert "> \\# Heading" in md
    assert "\\[link\\](http://x)" in md and "\\| pipe \\|" in md
    assert "## Topics" in md and "Regularization and overfitting" in md


def test_unknown_interview_is_404_in_the_common_shape(client: TestClient) -> None:
    for ext in ("json", "md"):
        r = client.get(f"/v1/interviews/nope/report.{ext}")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "interview_not_found"


def test_pages_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="/static/chat.js' in page.text
    report = client.get('/interviews/"><img src=x onerror=alert(1)>/report')
    assert report.status_code == 200
    assert "<img src=x" not in report.text  # the id is escaped into the page
    assert 'data-interview-id="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in report.text
    for asset in ("app.css", "chat.js", "report.js", "common.js"):
        assert client.get(f"/static/{asset}").status_code == 200
