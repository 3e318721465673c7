"""The auth mode is a setting, never a count of live keys: revoking the last key never reopens /v1,
ownerless interviews stay with admins, and `serve` keeps local mode on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import pg_schema
from sqlalchemy import insert
from support import AppFactory, make_settings
from typer.testing import CliRunner

from app.auth import Role
from app.cli import app as cli
from app.cli import bind_problem
from app.db import create_db_engine, create_session_factory, upgrade
from app.keys.models import ApiKey
from app.keys.service import DbKeys, create_key, revoke_key

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own per test: the keys-enabled record is for good, so tests must not share."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'auth.sqlite'}"
    else:
        with pg_schema(request.getfixturevalue("pg_database")) as url:
            yield url


def _cli_env(url: str) -> dict[str, str]:
    return {"MOCKINTERVIEW_DATABASE_URL": url, "MOCKINTERVIEW_API_KEYS": "", "MOCKINTERVIEW_AUTH": ""}


def test_revoking_the_last_key_keeps_the_service_closed(app_factory: AppFactory, fresh_url: str) -> None:
    client = app_factory(make_settings(database_url=fresh_url))
    assert client.get("/v1/questions").status_code == 200  # local mode: no key was ever created
    engine = create_db_engine(fresh_url)
    with create_session_factory(engine)() as session:
        only = create_key(session=session, role=Role.admin)
        assert client.get("/v1/questions").status_code == 401
        revoke_key(session=session, key_id=only.id)
    engine.dispose()
    # No live key at all: still keys mode, nothing is open and nobody can mint an admin key over HTTP.
    for r in (
        client.get("/v1/questions"),
        client.get("/v1/keys"),
        client.post("/v1/keys", json={"role": "admin"}),
        client.get("/v1/review/queue"),
        client.post("/v1/interviews", json={"num_questions": 1}),
        client.get("/v1/questions", headers={"Authorization": f"Bearer {only.key}"}),
    ):
        assert r.status_code == 401, (r.request.url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
    assert 'data-needs-key="true"' in client.get("/").text
    # The way back in: an admin key from the CLI, on the same database.
    made = runner.invoke(cli, ["keys", "create", "--role", "admin"], env=_cli_env(fresh_url))
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    admin = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/keys", headers=admin).status_code == 200
    assert client.post("/v1/keys", json={"role": "admin"}).status_code == 401


def test_a_restarted_server_stays_in_keys_mode(app_factory: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.sqlite'}"
    engine = create_db_engine(url)
    upgrade(engine)
    with create_session_factory(engine)() as session:
        made = create_key(session=session, role=Role.candidate)
        revoke_key(session=session, key_id=made.id)
    engine.dispose()
    client = app_factory(make_settings(database_url=url))  # a new process: nothing cached in memory
    assert client.get("/v1/questions").status_code == 401


def test_databases_that_already_hold_keys_start_in_keys_mode(tmp_path: Path) -> None:
    """Migration 0003 records keys created before it existed, revoked ones included."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            insert(ApiKey.__table__).values(  # type: ignore[arg-type]
                key_hash="0" * 64, prefix="mik_old", role="admin", label="", created_at=_t(), revoked_at=_t()
            )
        )
    upgrade(engine)
    assert DbKeys(create_session_factory(engine)).ever_enabled()
    engine.dispose()
    fresh = create_db_engine(f"sqlite:///{tmp_path / 'new.sqlite'}")
    upgrade(fresh)
    assert not DbKeys(create_session_factory(fresh)).ever_enabled()
    fresh.dispose()


def _t() -> object:
    from app.db.base import utcnow

    return utcnow()


def test_explicit_modes(app_factory: AppFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'explicit.sqlite'}"
    # keys with no key anywhere: closed until an admin key is created.
    closed = app_factory(make_settings(database_url=url, auth="keys"))
    assert closed.get("/v1/questions").status_code == 401
    assert closed.post("/v1/keys", json={"role": "admin"}).status_code == 401
    assert 'data-needs-key="true"' in closed.get("/").text
    with pytest.raises(ValueError, match="contradicts"):
        make_settings(auth="local", api_keys="k")


def test_ownerless_interviews_are_for_admins_once_keys_are_on(
    app_factory: AppFactory, fresh_url: str
) -> None:
    client = app_factory(make_settings(database_url=fresh_url))
    started = client.post("/v1/interviews", json={"num_questions": 1})  # local mode: no owner
    assert started.status_code == 201
    iid = started.json()["id"]
    engine = create_db_engine(fresh_url)
    with create_session_factory(engine)() as session:
        keys = {role: create_key(session=session, role=role).key for role in Role}
    engine.dispose()
    for role in (Role.candidate, Role.reviewer):
        who = {"Authorization": f"Bearer {keys[role]}"}
        assert client.get(f"/v1/interviews/{iid}", headers=who).status_code == 404, role
        assert client.get(f"/v1/interviews/{iid}/report", headers=who).status_code == 404, role
        r = client.post(f"/v1/interviews/{iid}/answers", json={"text": "no idea", "turn": 1}, headers=who)
        assert r.status_code == 404, (role, r.text)
        assert client.get(f"/v1/interviews/{iid}/report.md", headers=who).status_code == 404, role
    admin = {"Authorization": f"Bearer {keys[Role.admin]}"}
    assert client.get(f"/v1/interviews/{iid}", headers=admin).status_code == 200
    assert client.get(f"/v1/interviews/{iid}/report", headers=admin).status_code == 200
    # The admin's own interviews stay theirs: a candidate cannot open them either.
    own = client.post("/v1/interviews", json={"num_questions": 1}, headers=admin).json()["id"]
    cand = {"Authorization": f"Bearer {keys[Role.candidate]}"}
    assert client.get(f"/v1/interviews/{own}", headers=cand).status_code == 404


def test_serve_keeps_local_mode_on_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    refused = runner.invoke(cli, ["serve", "--host", "0.0.0.0"], env=_cli_env(url))
    assert refused.exit_code == 1
    assert "refusing to bind 0.0.0.0" in refused.output
    old = runner.invoke(
        cli, ["serve", "--host", "0.0.0.0"], env={**_cli_env(url), "MOCKINTERVIEW_ALLOW_REMOTE_BIND": "1"}
    )
    assert old.exit_code == 1
    assert "MOCKINTERVIEW_UNSAFE_REMOTE_BIND_WITHOUT_KEYS" in old.output
    local = make_settings(database_url=url)
    assert bind_problem("127.0.0.1", local, keys_ever_enabled=False) is None
    assert bind_problem("::1", local, keys_ever_enabled=False) is None
    for host in ("0.0.0.0", "192.168.1.5", "example.org"):
        assert bind_problem(host, local, keys_ever_enabled=False) is not None, host
        assert bind_problem(host, local, keys_ever_enabled=True) is None, host  # a key was created
        assert bind_problem(host, make_settings(auth="keys"), keys_ever_enabled=False) is None
        assert bind_problem(host, make_settings(api_keys="k"), keys_ever_enabled=False) is None
        unsafe = make_settings(unsafe_remote_bind_without_keys=True)
        assert bind_problem(host, unsafe, keys_ever_enabled=False) is None
