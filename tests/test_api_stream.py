"""POST /answers?stream=true: Server-Sent Events `score`, `feedback` chunks, then `done`."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient


def parse_sse(raw: str) -> list[tuple[str, Any]]:
    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith(":"):
                continue  # keep-alive comment
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def test_stream_events(client: TestClient) -> None:
    created = client.post("/v1/interviews", json={"num_questions": 2}).json()
    iid = created["id"]
    bank = client.app.state.bank
    q = bank.questions[created["question"]["id"]]
    with client.stream(
        "POST", f"/v1/interviews/{iid}/answers?stream=true", json={"text": q.reference_answer, "turn": 1}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [name for name, _ in events]
    assert names[0] == "score"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"feedback"}, names
    score, done = events[0][1], events[-1][1]
    assert 0 <= score["value"] <= 10 and score["band"]
    feedback = "".join(data["text"] for name, data in events if name == "feedback")
    assert done["feedback"] == feedback
    assert done["score"] == score
    assert done["turn"] == 1
    assert {"follow_up", "next_question", "status", "degraded", "degraded_reason"} <= set(done)

    # The streamed turn was stored like any other, and the interview moved on.
    full = client.get(f"/v1/interviews/{iid}").json()
    assert len(full["turns"]) == 1
    assert full["turns"][0]["feedback"] == feedback
    assert full["current_question"] == done["next_question"]
