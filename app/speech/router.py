"""POST /v1/transcribe: a spoken answer's transcript and speaking metrics, without scoring."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, File, Form, UploadFile

from app.config import Settings
from app.deps import BankDep, Owner, SettingsDep
from app.speech import service
from app.speech.audio import SUPPORTED, check_ffmpeg
from app.speech.base import create_transcriber
from app.speech.deps import GlossaryDep, TranscriberDep
from app.speech.service import TranscribeOut

__all__ = ["router"]

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs after the app's own lifespan: check ffmpeg and build the transcriber, failing at start."""
    settings: Settings = app.state.settings
    check_ffmpeg(settings)
    if getattr(app.state, "transcriber", None) is None:  # a test or the CLI may pass one in
        app.state.transcriber = create_transcriber(settings)
    yield


router = APIRouter(tags=["speech"], lifespan=_lifespan)


@router.post("/transcribe")
async def transcribe(
    audio: Annotated[UploadFile, File(description=f"the spoken answer: {SUPPORTED}")],
    transcriber: TranscriberDep,
    glossary: GlossaryDep,
    bank: BankDep,
    settings: SettingsDep,
    _owner: Owner,
    question_id: Annotated[str | None, Form(description="correct toward this question's vocabulary")] = None,
) -> TranscribeOut:
    return await service.transcribe_answer(
        transcriber=transcriber,
        glossary=glossary,
        bank=bank,
        settings=settings,
        upload=audio,
        question_id=question_id,
    )
