"""GET /healthz: liveness, readiness (what is still warming up) and which embedder, LLM, judge,
speech model and database this process uses."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import BankDep, EngineDep, JudgeDep, LLMDep, RuntimeDep, SettingsDep

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(
    settings: SettingsDep, bank: BankDep, runtime: RuntimeDep, llm: LLMDep, judge: JudgeDep, engine: EngineDep
) -> JSONResponse:
    """Answers as soon as the server listens: `ready` is false, with the steps still `warming`,
    until the scorer has loaded; a failed step makes it 503 with the error."""
    with engine.connect() as conn:  # a broken database raises, and the error handler answers 503/500
        conn.execute(text("SELECT 1"))
    warmup = runtime.warmup.describe()
    scorer = runtime.scorer
    body = {
        "status": "ok" if warmup["ready"] or warmup["warming"] else "failed",
        **warmup,
        "embedder": scorer.describe() if scorer is not None else {"state": "warming"},
        "llm": llm.describe(),
        "judge": judge.describe() if judge is not None else {"name": "off", "state": "off"},
        "stt": settings.stt,
        "database": engine.dialect.name,
        "bank": {"questions": len(bank.questions), "topics": len(bank.topics)},
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
