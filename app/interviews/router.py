"""Interview routes and grading-only scoring; each parses, calls one service function, returns a schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
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
    ScoringQuota,
    SessionDep,
    SessionFactoryDep,
    SettingsDep,
)
from app.interviews import coaching, service
from app.interviews.models import TurnKind
from app.interviews.schemas import (
    MAX_TURN,
    AnswerIn,
    AnswerOut,
    InterviewCreate,
    InterviewCreated,
    InterviewOut,
    ModelAnswer,
    Report,
    RetryIn,
    RetryOut,
    ScoreRequest,
    TurnIn,
)
from app.scoring.schemas import ScoreResult
from app.speech.deps import GlossaryDep, TranscriberDep, answer_body_openapi, json_or_audio

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


@router.post("/interviews/{interview_id}/resume")
def resume_interview(
    interview_id: str, session: SessionDep, bank: BankDep, owner: Owner, judge: JudgeDep
) -> InterviewOut:
    """Go on with an unfinished interview: its state, with the judge preparing for the question it
    waits on (as starting or moving on does); 409 `interview_finished` once it is completed."""
    return service.resume_interview(
        session=session, bank=bank, interview_id=interview_id, owner=owner, judge=judge
    )


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


# -- end exactly once ---------------------------------------------------------------------------------


def get_turn_parts(
    session: SessionDep,
    sessions: SessionFactoryDep,
    bank: BankDep,
    settings: SettingsDep,
    scorer: ScorerDep,
    llm: LLMDep,
    judge: JudgeDep,
    transcriber: TranscriberDep,
    glossary: GlossaryDep,
) -> service.TurnParts:
    return service.TurnParts(session, sessions, bank, settings, scorer, llm, judge, transcriber, glossary)


TurnPartsDep = Annotated[service.TurnParts, Depends(get_turn_parts)]


# `no-cache`, not sse-starlette's default `no-store`: Chromium reports a `no-store` response whose
# body the page reads through a ReadableStream reader (chat.js) as failed, net::ERR_ABORTED, after
# the last byte, although every byte arrived and the connection ended cleanly. A POST answer is never
# served from a cache either way; `no-cache` still forbids using a stored copy without asking.
_STREAM_HEADERS = {"Cache-Control": "no-cache"}


def _stream(events: AsyncIterator[service.Event]) -> EventSourceResponse:
    async def sse() -> AsyncIterator[ServerSentEvent]:
        async for event, data in events:
            yield ServerSentEvent(event=event, data=data)

    return EventSourceResponse(sse(), ping=15, headers=_STREAM_HEADERS)


@router.post(
    "/interviews/{interview_id}/answers",
    response_model=AnswerOut,
    responses=_ANSWER_RESPONSES,
    openapi_extra=_with_turn_field(answer_body_openapi(AnswerIn)),
    dependencies=[ScoringQuota],
)
async def answer(
    interview_id: str,
    body: Annotated[AnswerIn | UploadFile, Depends(_answer_body)],
    turn: Annotated[int, Depends(_answer_turn)],
    parts: TurnPartsDep,
    owner: Owner,
    idempotency_key: IdempotencyKey = None,
    stream: Annotated[bool, Query(description="Server-Sent Events: score, feedback chunks, done")] = False,
) -> AnswerOut | Response:
    request = service.TurnRequest(interview_id, owner, turn, idempotency_key)
    taken = await service.read_answer(parts, request, body)
    if isinstance(taken, AnswerOut):  # a retry of an answer already applied
        return _stream(service.replay_events(taken)) if stream else taken
    if stream:
        return _stream(await service.stream_turn(parts, request, taken))
    return await service.answer_turn(parts, request, taken)


# -- coaching (issue 21): model answer, Try again, Skip, I don't know, End interview ----------------


@router.get("/interviews/{interview_id}/turns/{turn}/model-answer")
def get_model_answer(
    interview_id: str,
    turn: Annotated[int, Path(ge=1, le=MAX_TURN, description="a turn already answered or skipped")],
    session: SessionDep,
    bank: BankDep,
    owner: Owner,
) -> ModelAnswer:
    """The reference answer with its key points marked as covered or not; a turn not yet closed
    (answered, skipped or I don't know) is a 409, so the rubric stays hidden until then."""
    return coaching.model_answer(
        session=session, bank=bank, interview_id=interview_id, owner=owner, turn=turn
    )


@router.post("/interviews/{interview_id}/retries", dependencies=[ScoringQuota])
async def retry(
    interview_id: str,
    body: RetryIn,
    session: SessionDep,
    bank: BankDep,
    settings: SettingsDep,
    scorer: ScorerDep,
    llm: LLMDep,
    judge: JudgeDep,
    owner: Owner,
    idempotency_key: IdempotencyKey = None,
) -> RetryOut:
    """Try again: a new attempt at the most recently answered turn, until the next question is
    answered. Every attempt is kept; the response compares the new score with the previous one."""
    return await coaching.retry_turn(
        session=session,
        bank=bank,
        settings=settings,
        scorer=scorer,
        llm=llm,
        judge=judge,
        request=service.TurnRequest(interview_id, owner, body.turn, idempotency_key),
        text=body.text,
    )


@router.post("/interviews/{interview_id}/skip")
def skip(
    interview_id: str,
    body: TurnIn,
    session: SessionDep,
    bank: BankDep,
    judge: JudgeDep,
    owner: Owner,
    idempotency_key: IdempotencyKey = None,
) -> AnswerOut:
    """Move on without an answer: the turn is stored as skipped and counts as 0."""
    request = service.TurnRequest(interview_id, owner, body.turn, idempotency_key)
    return coaching.close_turn(
        session=session, bank=bank, judge=judge, request=request, kind=TurnKind.skipped
    )


@router.post("/interviews/{interview_id}/dont-know")
def dont_know(
    interview_id: str,
    body: TurnIn,
    session: SessionDep,
    bank: BankDep,
    judge: JudgeDep,
    owner: Owner,
    idempotency_key: IdempotencyKey = None,
) -> AnswerOut:
    """I don't know: scored 0 with a short note on what a good answer covers; then move on."""
    request = service.TurnRequest(interview_id, owner, body.turn, idempotency_key)
    return coaching.close_turn(
        session=session, bank=bank, judge=judge, request=request, kind=TurnKind.dont_know
    )


@router.post("/interviews/{interview_id}/end")
def end(
    interview_id: str,
    body: TurnIn,
    session: SessionDep,
    bank: BankDep,
    owner: Owner,
    idempotency_key: IdempotencyKey = None,
) -> Report:
    """End interview: completed now, at the turn it waits on; the report covers what was answered."""
    request = service.TurnRequest(interview_id, owner, body.turn, idempotency_key)
    return coaching.end_interview(session=session, bank=bank, request=request)


@router.post("/score", tags=["scoring"], dependencies=[ScoringQuota])
async def score(
    body: ScoreRequest,
    bank: BankDep,
    settings: SettingsDep,
    scorer: ScorerDep,
    judge: JudgeDep,
    _owner: Owner,
) -> ScoreResult:
    return await service.grade(bank=bank, settings=settings, scorer=scorer, judge=judge, request=body)
