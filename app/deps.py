"""What routes need, as Annotated aliases; everything comes from app.state, built in the lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth import Owner
from app.bank.models import Bank
from app.config import Settings
from app.judge.base import Judge
from app.llm.base import LLMProvider
from app.ratelimit import ScoringLimiter
from app.runtime import Runtime
from app.scoring.batching import scoring_caller
from app.scoring.scorer import Scorer

__all__ = [
    "BankDep",
    "EngineDep",
    "JudgeDep",
    "LLMDep",
    "RuntimeDep",
    "Owner",
    "ScorerDep",
    "SessionDep",
    "SessionFactoryDep",
    "ScoringQuota",
    "SettingsDep",
]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_bank(request: Request) -> Bank:
    bank: Bank = request.app.state.bank
    return bank


# How long a request waits for a part that is still warming up before it is answered 503.
WARMUP_WAIT_S = 120.0


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_scorer(request: Request) -> Scorer:
    """The scorer; while it warms up at start the request waits for it (FastAPI runs this sync
    dependency in a worker thread, so the event loop does not)."""
    runtime = get_runtime(request)
    runtime.warmup.wait("scorer", WARMUP_WAIT_S)
    assert runtime.scorer is not None  # the step is ready
    return runtime.scorer


def get_llm(request: Request) -> LLMProvider:
    llm: LLMProvider = request.app.state.llm
    return llm


def get_judge(request: Request) -> Judge | None:
    """The correctness judge, or None when MOCKINTERVIEW_JUDGE=off."""
    judge: Judge | None = getattr(request.app.state, "judge", None)
    return judge


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(factory: Annotated[sessionmaker[Session], Depends(get_session_factory)]) -> Iterator[Session]:
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
BankDep = Annotated[Bank, Depends(get_bank)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
LLMDep = Annotated[LLMProvider, Depends(get_llm)]
JudgeDep = Annotated[Judge | None, Depends(get_judge)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionFactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]
SessionDep = Annotated[Session, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def limit_scoring(request: Request, owner: Owner) -> None:
    """Counts one piece of scoring work against the caller's `score_rate_limit` (429 past it), and
    names the caller whose work the request's scoring is, for the scorer's fair batches."""
    client = request.client.host if request.client else "unknown"
    who = f"key:{owner}" if owner else f"addr:{client}"
    scoring_caller.set(who)  # async, so that the route (same task) sees it
    limiter: ScoringLimiter | None = getattr(request.app.state, "scoring_limiter", None)
    if limiter is not None:
        await run_in_threadpool(limiter.take, who)  # Redis is a network call


ScoringQuota = Depends(limit_scoring)
