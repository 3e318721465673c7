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
