"""Failed authentication is rate limited per address and per key: 429 with Retry-After past the limit,
in memory for one instance and shared through Redis by several."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import AppFactory, make_settings

from app.auth import Role

GOOD = {"Authorization": "Bearer good-key"}


def _wrong(i: int) -> dict[str, str]:
    return {"Authorization": f"Bearer wrong-{i}"}


def _limited(r: object) -> None:
    assert r.status_code == 429, r.text  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "rate_limited"  # type: ignore[attr-defined]
    assert 0 < int(r.headers["Retry-After"]) <= 60  # type: ignore[attr-defined]


def test_wrong_keys_are_throttled_per_address(app_factory: AppFactory, tmp_path: Path) -> None:
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", api_keys="good-key", auth_failure_limit="3/minute"
    )
    client = app_factory(settings)
    for _ in range(5):  # a missing key is no guess: it does not count
        assert client.get("/v1/topics").status_code == 401
    assert client.get("/v1/topics", headers=GOOD).status_code == 200
    for i in range(3):
        assert client.get("/v1/topics", headers=_wrong(i)).status_code == 401
    _limited(client.get("/v1/topics", headers=_wrong(99)))
    _limited(client.get("/v1/topics", headers=GOOD))  # the address is throttled, right key or not


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_two_instances_share_the_count_through_redis(
    app_factory: AppFactory, tmp_path: Path, redis_url: str
) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = make_settings(
        database_url=db, api_keys="good-key", auth_failure_limit="3/minute", redis_url=redis_url
    )
    first, second = app_factory(settings), app_factory(settings)
    assert first.get("/v1/topics", headers=_wrong(1)).status_code == 401
    assert second.get("/v1/topics", headers=_wrong(2)).status_code == 401
    assert first.get("/v1/topics", headers=_wrong(3)).status_code == 401
    _limited(second.get("/v1/topics", headers=_wrong(4)))
    _limited(first.get("/v1/topics", headers=GOOD))
    alone = app_factory(make_settings(database_url=db, api_keys="good-key", auth_failure_limit="3/minute"))
    assert alone.get("/v1/topics", headers=GOOD).status_code == 200  # in memory: counts of its own


def test_scoring_work_is_limited_per_caller(app_factory: AppFactory, tmp_path: Path, redis_url: str) -> None:
    """Past score_rate_limit a caller's answers and scores get 429 with Retry-After (cheap reads
    don't count); another key keeps its own budget; two instances share the count through Redis."""
    from app.keys.service import create_key

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    settings = make_settings(database_url=db, auth="keys", score_rate_limit="3/minute", redis_url=redis_url)
    first, second = app_factory(settings), app_factory(settings)
    with first.app.state.session_factory() as session:  # type: ignore[attr-defined]
        one = {"Authorization": f"Bearer {create_key(session=session, role=Role.candidate).key}"}
        two = {"Authorization": f"Bearer {create_key(session=session, role=Role.candidate).key}"}
    body = {"question_id": "dropout-basics", "answer": "Dropout zeroes random units while training."}
    assert first.post("/v1/score", json=body, headers=one).status_code == 200
    assert second.post("/v1/score", json=body, headers=one).status_code == 200
    started = first.post("/v1/interviews", json={"num_questions": 1}, headers=one).json()
    answer = {"text": "Something about gradients.", "turn": started["question"]["turn"]}
    url = f"/v1/interviews/{started['id']}/answers"
    assert second.post(url, json=answer, headers=one).status_code == 200
    _limited(first.post("/v1/score", json=body, headers=one))
    assert first.get("/v1/topics", headers=one).status_code == 200  # reads are not scoring work
    assert second.post("/v1/score", json=body, headers=two).status_code == 200
