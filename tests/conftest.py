"""Shared fixtures: one real MiniLM scorer per session, real SQLite files and a real PostgreSQL schema."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from support import AppFactory, make_settings, write_bank_file

from app.bank.loader import load_bank
from app.bank.models import Bank
from app.config import Settings
from app.judge.local import LocalJudge
from app.judge.model import assemble
from app.main import create_app
from app.scoring.scorer import Scorer
from app.scoring.service import build_scorer

__all__ = ["AppFactory", "make_settings", "write_bank_file"]  # older tests import them from here

_THIS = sys.modules[__name__]

PG_DSN = os.environ.get("MOCKINTERVIEW_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_TEST_DB = "mockinterview_test"


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Another folder's conftest.py also imports as `conftest`; give top-level test modules this one back."""
    if isinstance(collector, pytest.Module) and collector.path.parent == Path(__file__).parent:
        sys.modules["conftest"] = _THIS


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    """The real embedding scorer, loaded once (about 20 s) and shared by every app in the run."""
    settings = make_settings()
    return build_scorer(settings, load_bank(settings.bank_dir))


@pytest.fixture(scope="session")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalJudge]:
    """The real packaged judge model, loaded once (joined into the cache folder on first use); its
    verdict cache is the run's own, so every verdict in the run comes from the model."""
    model = assemble(make_settings().cache_dir)
    settings = make_settings(judge="local", judge_model=model, cache_dir=tmp_path_factory.mktemp("judge"))
    judge = LocalJudge(settings)
    judge.load()
    yield judge
    judge.close()


@pytest.fixture(scope="session")
def bank() -> Bank:
    return load_bank(make_settings().bank_dir)


@pytest.fixture(scope="session")
def pg_database() -> str:
    """The test database on the local server, created when missing (never dropped: runs may overlap)."""
    try:
        with psycopg.connect(f"{PG_DSN}/postgres", autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)).fetchone()
            if not exists:
                try:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_TEST_DB)))
                except psycopg.errors.DuplicateDatabase:
                    pass  # another run created it a moment ago
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_DSN} is not reachable (make test starts it): {exc}")
    return f"{PG_DSN}/{PG_TEST_DB}"


@contextmanager
def pg_schema(pg_database: str) -> Iterator[str]:
    """A fresh schema for one test module; the SQLAlchemy URL puts it first on the search path."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            pg_database.replace("postgresql://", "postgresql+psycopg://", 1)
            + f"?options=-csearch_path%3D{schema}"
        )
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Each test module runs once on a fresh SQLite file and once on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'mockinterview.db'}"
    else:
        with pg_schema(request.getfixturevalue("pg_database")) as url:
            yield url


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture(scope="module")
def app_factory(scorer: Scorer) -> Iterator[AppFactory]:
    """Start apps (lifespan included) that share the session's scorer; all are stopped at module end."""
    clients: list[TestClient] = []

    def start(settings: Settings, **kwargs: Any) -> TestClient:
        client = TestClient(create_app(settings, scorer=scorer, **kwargs))
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(app_factory: AppFactory, settings: Settings) -> TestClient:
    return app_factory(settings)
