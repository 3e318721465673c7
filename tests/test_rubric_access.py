"""Candidates see a question's text, topic and level; its rubric only reviewers and admins (and the
single user of local mode, who is the admin)."""

from __future__ import annotations

from pathlib import Path

from support import AppFactory, make_settings

from app.auth import Role
from app.db import create_db_engine, create_session_factory, upgrade
from app.keys.service import create_key

_RUBRIC = {"reference_answer", "key_points", "follow_ups", "sources"}


def test_only_reviewers_and_admins_see_the_rubric(app_factory: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rubric.sqlite'}"
    local = app_factory(make_settings(database_url=url))
    qid = local.get("/v1/questions").json()["items"][0]["id"]
    assert _RUBRIC <= set(local.get(f"/v1/questions/{qid}").json())  # local mode: the admin
    engine = create_db_engine(url)
    upgrade(engine)
    with create_session_factory(engine)() as session:
        keys = {role: create_key(session=session, role=role).key for role in Role}
    engine.dispose()
    seen = {}
    for role, key in keys.items():
        who = {"Authorization": f"Bearer {key}"}
        r = local.get(f"/v1/questions/{qid}", headers=who)
        assert r.status_code == 200, r.text
        seen[role] = r.json()
        listed = local.get("/v1/questions", headers=who).json()["items"]
        assert all(not (_RUBRIC & set(item)) for item in listed)
    assert set(seen[Role.candidate]) == {"id", "topic", "level", "kind", "text"}
    assert _RUBRIC <= set(seen[Role.reviewer]) and _RUBRIC <= set(seen[Role.admin])
    assert seen[Role.admin]["reference_answer"]


def test_a_candidate_sees_the_model_answer_only_after_the_turn(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    """The coaching loop's model answer is the rubric's reference answer: a candidate gets it for a
    turn already closed, never for the question still waiting."""
    url = f"sqlite:///{tmp_path / 'coach.sqlite'}"
    engine = create_db_engine(url)
    upgrade(engine)
    with create_session_factory(engine)() as session:
        key = create_key(session=session, role=Role.candidate).key
    engine.dispose()
    client = app_factory(make_settings(database_url=url))
    who = {"Authorization": f"Bearer {key}"}
    created = client.post("/v1/interviews", json={"num_questions": 2}, headers=who).json()
    iid = created["id"]
    reference = client.get(f"/v1/questions/{created['question']['id']}").json()
    assert "reference_answer" not in reference
    early = client.get(f"/v1/interviews/{iid}/turns/1/model-answer", headers=who)
    assert early.status_code == 409 and "reference_answer" not in early.json()
    assert client.post(f"/v1/interviews/{iid}/skip", json={"turn": 1}, headers=who).status_code == 200
    shown = client.get(f"/v1/interviews/{iid}/turns/1/model-answer", headers=who)
    assert shown.status_code == 200 and shown.json()["reference_answer"]
    assert client.get(f"/v1/interviews/{iid}/turns/2/model-answer", headers=who).status_code == 409
