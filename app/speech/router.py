"""POST /v1/transcribe: a spoken answer's transcript and speaking metrics, without scoring."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from app.deps import BankDep, Owner, ScoringQuota, SettingsDep
from app.speech import service
from app.speech.audio import SUPPORTED
from app.speech.deps import GlossaryDep, TranscriberDep
from app.speech.schemas import TranscribeOut

__all__ = ["router"]

log = logging.getLogger(__name__)


router = APIRouter(tags=["speech"])


@router.post("/transcribe", dependencies=[ScoringQuota])
async def transcribe(
    audio: Annotated[UploadFile, File(description=f"the spoken answer: {SUPPORTED}")],
    transcriber: TranscriberDep,
    glossary: GlossaryDep,
    bank: BankDep,
    settings: SettingsDep,
    _owner: Owner,
    question_id: Annotated[str | None, Form(description="correct toward this question's vocabulary")] = None,
    follow_up_id: Annotated[
        str | None,
        Form(description="the answer is to this bank follow-up of `question_id`: decode with its own terms"),
    ] = None,
    follow_up: Annotated[
        str | None,
        Form(
            max_length=1000,
            description="the follow-up question as it was asked (a coach-written one has no bank id)",
        ),
    ] = None,
) -> TranscribeOut:
    return await service.transcribe_answer(
        transcriber=transcriber,
        glossary=glossary,
        bank=bank,
        settings=settings,
        upload=audio,
        question_id=question_id,
        follow_up_id=follow_up_id,
        follow_up=follow_up,
    )
