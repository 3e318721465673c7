"""GET /healthz: liveness plus which embedder, LLM, speech model and database this process uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import BankDep, EngineDep, JudgeDep, LLMDep, ScorerDep, SettingsDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(
    settings: SettingsDep, bank: BankDep, scorer: ScorerDep, llm: LLMDep, judge: JudgeDep, engine: EngineDep
) -> dict[str, Any]:
    with engine.connect() as conn:  # a broken database raises, and the error handler answers 503/500
        conn.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "embedder": scorer.describe(),
        "llm": llm.describe(),
        "judge": judge.describe() if judge is not None else {"name": "off", "state": "off"},
        "stt": settings.stt,
        "database": engine.dialect.name,
        "bank": {"questions": len(bank.questions), "topics": len(bank.topics)},
    }
