"""Interview routes and grading-only scoring; each parses, calls one service function, returns a schema."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import Field, TypeAdapter, ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.datastructures import UploadFile

from app.deps import (
    BankDep,
    JudgeDep,
    LLMDep,
    Owner,
    ScorerDep,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
)
from app.errors import DomainError
from app.interviews import service
from app.interviews.schemas import (
    MAX_TURN,
    AnswerIn,
    AnswerOut,
    InterviewCreate,
    InterviewCreated,
    InterviewOut,
    Report,
    ScoreRequest,
)
from app.llm.base import StreamOutcome
from app.scoring.schemas import ScoreResult
from app.speech.deps import GlossaryDep, TranscriberDep, answer_body_openapi, json_or_audio
from app.speech.schemas import SpokenAnswer
from app.speech.service import question_prompt, speech_record, transcribe_upload

__all__ = ["router"]

router = APIRouter(tags=["interviews"])

_ANSWER_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The graded turn; with `?stream=true` a text/event-stream of `score`, "
        "`feedback` chunks and `done` (see README)",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/interviews", status_code=status.HTTP_201_CREATED)
def create_interview(
    body: InterviewCreate,
    session: SessionDep,
    bank: BankDep,
    settings: SettingsDep,
    owner: Owner,
    judge: JudgeDep,
) -> InterviewCreated:
    return service.start_interview(
        session=session, bank=bank, settings=settings, body=body, owner=owner, judge=judge
    )


@router.get("/interviews/{interview_id}")
def get_interview(interview_id: str, session: SessionDep, bank: BankDep, owner: Owner) -> InterviewOut:
    interview = service.get_interview(session=session, interview_id=interview_id, owner=owner)
    return service.interview_out(bank=bank, interview=interview)


@router.get("/interviews/{interview_id}/report")
def get_report(interview_id: str, session: SessionDep, bank: BankDep, owner: Owner) -> Report:
    return service.report(session=session, bank=bank, interview_id=interview_id, owner=owner)


async def _answer_body(request: Request) -> AnswerIn | UploadFile:
    """A typed answer as JSON, or a spoken one as multipart/form-data with an `audio` file."""
    return await json_or_audio(request, AnswerIn)


# -- exactly once (issue 20): every answer names its turn; Idempotency-Key replays a stored response --
_FORM_TURN = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_TURN)])


async def _answer_turn(
    request: Request, body: Annotated[AnswerIn | UploadFile, Depends(_answer_body)]
) -> int:
    """`turn` from the JSON body, or the `turn` field of a multipart (spoken) answer."""
    if isinstance(body, AnswerIn):
        return body.turn
    raw = (await request.form()).get("turn")  # parsed once by _answer_body; Starlette keeps it
    if not isinstance(raw, str):
        msg = "Field required: the number of the turn being answered"
        raise RequestValidationError([{"type": "missing", "loc": ("body", "turn"), "msg": msg}])
    try:
        return _FORM_TURN.validate_python(raw.strip())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "turn")} for e in exc.errors(include_url=False)]
        ) from exc


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="any unique string per answer; a retry with the same key gets the stored response",
    ),
]


def _with_turn_field(extra: dict[str, Any]) -> dict[str, Any]:
    """The multipart body documents `turn` beside `audio`."""
    schema = extra["requestBody"]["content"]["multipart/form-data"]["schema"]
    schema["required"] = [*schema.get("required", []), "turn"]
    schema["properties"]["turn"] = {"type": "integer", "minimum": 1, "maximum": MAX_TURN}
    return extra


def _replayed_stream(out: AnswerOut) -> EventSourceResponse:
    """A stored response as the events a live stream would have sent."""

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(event="score", data=out.score.model_dump_json())
        yield ServerSentEvent(event="feedback", data=json.dumps({"text": out.feedback}))
        yield ServerSentEvent(event="done", data=out.model_dump_json())

    return EventSourceResponse(events())


# -- end exactly once ---------------------------------------------------------------------------------


@router.post(
    "/interviews/{interview_id}/answers",
    response_model=AnswerOut,
    responses=_ANSWER_RESPONSES,
    openapi_extra=_with_turn_field(answer_body_openapi(AnswerIn)),
)
async def answer(
    interview_id: str,
    body: Annotated[AnswerIn | UploadFile, Depends(_answer_body)],
    session: SessionDep,
    sessions: SessionFactoryDep,
    bank: BankDep,
    settings: SettingsDep,
    scorer: ScorerDep,
    llm: LLMDep,
    judge: JudgeDep,
    owner: Owner,
    transcriber: TranscriberDep,
    glossary: GlossaryDep,
    turn: Annotated[int, Depends(_answer_turn)],
    idempotency_key: IdempotencyKey = None,
    stream: Annotated[bool, Query(description="Server-Sent Events: score, feedback chunks, done")] = False,
) -> AnswerOut | Response:
    spoken: SpokenAnswer | None = None
    if isinstance(body, UploadFile):  # a spoken answer: transcribe, correct, then grade the corrected text
        interview = service.open_turn(  # a wrong turn or a retry is answered before transcribing
            session=session,
            interview_id=interview_id,
            owner=owner,
            turn=turn,
            idempotency_key=idempotency_key,
        )
        if isinstance(interview, AnswerOut):
            return _replayed_stream(interview) if stream else interview
        asked = bank.get(interview.question_ids[interview.position])
        spoken = await transcribe_upload(
            transcriber=transcriber,
            upload=body,
            filename=body.filename,
            content_type=body.content_type,
            settings=settings,
            bank_question=asked,
            glossary=glossary,
            # speech (issue 19): prime the decoder with what was asked, a follow-up's own terms included
            prompt=question_prompt(
                asked,
                follow_up_id=interview.current_follow_up_id,
                follow_up_text=interview.current_follow_up_text,
            )
            if asked is not None
            else None,
        )
    text = body.text if isinstance(body, AnswerIn) else spoken.corrected if spoken else ""
    if isinstance(body, AnswerIn) and body.spoken is not None:  # transcribed by the page, then reviewed
        spoken = body.spoken
    transcript, speech = (
        speech_record(spoken, text, limit=settings.max_answer_chars) if spoken else (None, None)
    )
    if not stream:
        return await service.answer_interview(
            session=session,
            bank=bank,
            settings=settings,
            scorer=scorer,
            llm=llm,
            judge=judge,
            interview_id=interview_id,
            text=text,
            owner=owner,
            turn=turn,
            idempotency_key=idempotency_key,
            transcript=transcript,
            speech=speech,
        )
    # Validation and scoring happen before the stream opens, so their errors are ordinary JSON errors.
    pending = await service.prepare_turn(
        session=session,
        bank=bank,
        settings=settings,
        scorer=scorer,
        llm=llm,
        judge=judge,
        interview_id=interview_id,
        text=text,
        owner=owner,
        turn=turn,
        idempotency_key=idempotency_key,
    )
    if isinstance(pending, AnswerOut):  # a retry of an answer already applied
        return _replayed_stream(pending)

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(event="score", data=pending.score.model_dump_json())
        outcome = StreamOutcome()
        restarted = False
        async for chunk in llm.stream_feedback(pending.ctx, outcome):
            if outcome.restarted and not restarted:  # the provider fell back mid-stream
                restarted = True
                yield ServerSentEvent(event="restart", data=json.dumps({"reason": outcome.degraded_reason}))
            yield ServerSentEvent(event="feedback", data=json.dumps({"text": chunk}))
        try:
            coaching = outcome.coaching or await service.coach_turn(llm=llm, pending=pending)
            with sessions() as own:  # the request's session may be closed by now
                result = service.finish_turn(
                    session=own,
                    bank=bank,
                    pending=pending,
                    coaching=coaching,
                    transcript=transcript,
                    speech=speech,
                    judge=judge,
                )
        except DomainError as exc:
            yield ServerSentEvent(
                event="error", data=json.dumps({"error": {"code": exc.code, "message": exc.message}})
            )
            return
        yield ServerSentEvent(event="done", data=result.model_dump_json())

    return EventSourceResponse(events(), ping=15)


@router.post("/score", tags=["scoring"])
async def score(
    body: ScoreRequest,
    bank: BankDep,
    settings: SettingsDep,
    scorer: ScorerDep,
    judge: JudgeDep,
    _owner: Owner,
) -> ScoreResult:
    return await service.grade(bank=bank, settings=settings, scorer=scorer, judge=judge, request=body)
