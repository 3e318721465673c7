"""Roles on every /v1 route of the OpenAPI schema: 401 without a key, 403 with the wrong role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import AppFactory, make_settings

from app.auth import Role
from app.db import create_db_engine, create_session_factory, upgrade
from app.keys.service import create_key, revoke_key

ENV_KEY = "env-operator-key"

# Which roles each route family admits; everything under /v1 not listed here is open to every role.
_ADMIN_ONLY = re.compile(r"^/v1/keys")
_REVIEW = re.compile(r"^/v1/review/")


def _allowed(path: str) -> set[Role]:
    if _ADMIN_ONLY.match(path):
        return {Role.admin}
    if _REVIEW.match(path):
        return {Role.reviewer, Role.admin}
    return set(Role)


def _mint(database_url: str) -> dict[Role, str]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    with create_session_factory(engine)() as session:
        keys = {role: create_key(session=session, role=role, label=f"test {role}").key for role in Role}
    engine.dispose()
    return keys


@pytest.fixture(scope="module")
def keyed(
    app_factory: AppFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[Role, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'db.sqlite'}"
    keys = _mint(url)
    yield app_factory(make_settings(database_url=url, api_keys=[ENV_KEY])), keys


def _routes(client: TestClient) -> list[tuple[str, str]]:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    out = []
    for path, methods in paths.items():
        for method in methods:
            if path.startswith("/v1"):
                out.append((method.upper(), path))
    return sorted(out)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)  # nothing real: DELETE /v1/keys/{id} must not hit a key


def test_every_v1_route_needs_a_key_and_the_right_role(keyed: tuple[TestClient, dict[Role, str]]) -> None:
    client, keys = keyed
    routes = _routes(client)
    assert ("PUT", "/v1/review/questions/{question_id}/draft") in routes
    assert ("POST", "/v1/keys") in routes
    checked = 0
    for method, path in routes:
        url = _concrete(path)
        r = client.request(method, url, json={})
        assert r.status_code == 401, f"{method} {path} without a key answered {r.status_code}"
        r = client.request(method, url, json={}, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401, f"{method} {path} with a wrong key answered {r.status_code}"
        for role, key in keys.items():
            r = client.request(method, url, json={}, headers={"Authorization": f"Bearer {key}"})
            if role in _allowed(path):
                assert r.status_code not in (401, 403), f"{method} {path} as {role}: {r.status_code} {r.text}"
            else:
                assert r.status_code == 403, f"{method} {path} as {role} answered {r.status_code}"
                assert r.json()["error"]["code"] == "forbidden"
        r = client.request(method, url, json={}, headers={"Authorization": f"Bearer {ENV_KEY}"})
        assert r.status_code not in (401, 403), f"{method} {path} with the env (admin) key: {r.status_code}"
        checked += 1
    assert checked >= 20
    assert client.get("/healthz").status_code == 200  # liveness stays open


def test_candidates_only_reach_their_own_interviews(
    keyed: tuple[TestClient, dict[Role, str]], app_factory: AppFactory, tmp_path: Path
) -> None:
    client, keys = keyed
    url = str(client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with create_session_factory(create_db_engine(url))() as session:
        other = create_key(session=session, role=Role.candidate).key
    mine = {"Authorization": f"Bearer {keys[Role.candidate]}"}
    theirs = {"Authorization": f"Bearer {other}"}
    created = client.post("/v1/interviews", json={"num_questions": 1}, headers=mine)
    assert created.status_code == 201
    iid = created.json()["id"]
    assert client.get(f"/v1/interviews/{iid}", headers=mine).status_code == 200
    assert client.get(f"/v1/interviews/{iid}", headers=theirs).status_code == 404
    assert client.get(f"/v1/interviews/{iid}/report", headers=theirs).status_code == 404
    r = client.post(f"/v1/interviews/{iid}/answers", json={"text": "no idea", "turn": 1}, headers=theirs)
    assert r.status_code == 404


def test_keys_api_create_list_revoke(keyed: tuple[TestClient, dict[Role, str]]) -> None:
    client, keys = keyed
    admin = {"Authorization": f"Bearer {keys[Role.admin]}"}
    made = client.post("/v1/keys", json={"role": "reviewer", "label": "ci"}, headers=admin)
    assert made.status_code == 201
    secret = made.json()["key"]
    listed = client.get("/v1/keys", headers=admin).json()
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert any(k["id"] == made.json()["id"] and k["role"] == "reviewer" for k in listed)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/review/queue", headers=bearer).status_code == 200
    assert client.delete(f"/v1/keys/{made.json()['id']}", headers=admin).status_code == 200
    assert client.get("/v1/review/queue", headers=bearer).status_code == 401


def test_local_mode_is_open_and_the_first_key_closes_it_for_good(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'local.sqlite'}"
    client = app_factory(make_settings(database_url=url))
    assert client.get("/v1/review/queue").status_code == 200
    assert client.get("/v1/keys").status_code == 200
    # The pages ask for a key exactly when the API wants one.
    for page in ("/", "/review"):
        assert 'data-needs-key="false"' in client.get(page).text
    engine = create_db_engine(url)
    with create_session_factory(engine)() as session:
        made = create_key(session=session, role=Role.reviewer)
        assert client.get("/v1/review/queue").status_code == 401  # a key exists now: no more local mode
        for page in ("/", "/review"):
            assert 'data-needs-key="true"' in client.get(page).text, page
        assert (
            client.get("/v1/review/queue", headers={"Authorization": f"Bearer {made.key}"}).status_code == 200
        )
        revoke_key(session=session, key_id=made.id)
    # Revoking the last key does not reopen the service (issue 20): keys mode is for good.
    assert client.get("/v1/review/queue").status_code == 401
    assert client.post("/v1/keys", json={"role": "admin"}).status_code == 401
    engine.dispose()
