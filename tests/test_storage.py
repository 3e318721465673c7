"""Storage: migrations on start, WAL on SQLite, and optimistic concurrency on both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, text

from app.bank.loader import load_bank
from app.config import Settings
from app.db import create_db_engine, create_session_factory, upgrade
from app.errors import Conflict
from app.interviews import service
from app.interviews.models import Interview
from app.interviews.schemas import InterviewCreate
from app.llm.registry import create_llm_provider
from app.scoring.scorer import Scorer


def test_migrations_are_idempotent(settings: Settings) -> None:
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    upgrade(engine)  # a second start changes nothing
    names = set(inspect(engine).get_table_names())
    assert {"interviews", "turns", "alembic_version"} <= names
    columns = {c["name"] for c in inspect(engine).get_columns("turns")}
    assert {
        "score",
        "transcript",
        "speech",
        "provider",
        "degraded",
        "prompt_version",
        "rubric_version",
    } <= columns
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_one_answer_is_applied_once(settings: Settings, scorer: Scorer) -> None:
    """Two processes scoring the same turn at once: the second write is refused with 409."""
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    sessions = create_session_factory(engine)
    bank = load_bank(settings.bank_dir)
    llm = create_llm_provider(settings)
    with sessions() as s:
        created = service.start_interview(
            session=s, bank=bank, settings=settings, body=InterviewCreate(num_questions=2)
        )

    async def prepare(text_: str) -> service.PendingTurn:
        with sessions() as s:
            return await service.prepare_turn(
                session=s,
                bank=bank,
                settings=settings,
                scorer=scorer,
                llm=llm,
                interview_id=created.id,
                text=text_,
            )

    first, second = asyncio.run(prepare("first answer")), asyncio.run(prepare("second answer"))
    coaching = asyncio.run(service.coach_turn(llm=llm, pending=first))
    with sessions() as s:
        out = service.finish_turn(session=s, bank=bank, pending=first, coaching=coaching)
        assert out.turn == 1
    with sessions() as s, pytest.raises(Conflict):
        service.finish_turn(session=s, bank=bank, pending=second, coaching=coaching)
    with sessions() as s:
        stored = s.get(Interview, created.id)
        assert stored is not None
        assert [t.answer for t in stored.turns] == ["first answer"]
        assert stored.version == 2
    engine.dispose()


def test_ids_are_random(settings: Settings) -> None:
    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    sessions = create_session_factory(engine)
    bank = load_bank(settings.bank_dir)
    with sessions() as s:
        ids = {
            service.start_interview(session=s, bank=bank, settings=settings, body=InterviewCreate()).id
            for _ in range(20)
        }
    assert len(ids) == 20
    assert all(len(i) >= 20 for i in ids)
    engine.dispose()


def test_the_migrations_match_the_models(settings: Settings) -> None:
    """Alembic's autogenerate comparison of the migrated schema with every model finds nothing: a
    column or table added to a model without a migration (or the other way round) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from app.db.base import MODEL_MODULES, load_models
    from app.db.migrate import upgrade

    metadata = load_models()
    assert {"interviews", "turns", "api_keys", "rubric_versions", "human_grades"} <= set(metadata.tables)
    engine = create_engine(settings.database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == [], f"migrations and models ({', '.join(MODEL_MODULES)}) differ: {diff}"
