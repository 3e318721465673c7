"""The interview engine: start, answer (score, coach, maybe follow up, move on), transcript and report.

Every function is keyword-only and takes its collaborators explicitly, so the API, the CLI and the
tests drive the same code. State is read at the start of a turn and written at the end with an
optimistic version check, so two processes on one database never apply one answer twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import UploadFile

from app.auth import OwnerId
from app.bank.models import Bank, FollowUp, Level, Question
from app.config import Settings
from app.errors import (
    AnswerTooLarge,
    DomainError,
    InterviewFinished,
    InterviewNotFound,
    InvalidInput,
    QuestionNotFound,
    TurnMismatch,
)
from app.interviews.models import AnswerReceipt, Interview, InterviewStatus, Turn, TurnKind
from app.interviews.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptOut,
    InterviewCreate,
    InterviewCreated,
    InterviewOut,
    QuestionBrief,
    QuestionReport,
    Report,
    ScoreRequest,
    TopicReport,
    TurnAttempts,
    TurnOut,
)
from app.judge.base import Judge
from app.judge.service import judge_item, judge_score
from app.llm.base import Coaching, LLMProvider, StreamOutcome, TurnContext
from app.rubrics.service import current_question
from app.scoring.schemas import Rubric, RubricPoint, ScoreResult, band_of
from app.scoring.scorer import Scorer
from app.speech.base import Transcriber
from app.speech.correction import Glossary
from app.speech.schemas import SpokenAnswer
from app.speech.service import question_prompt, speech_record, transcribe_upload

__all__ = [
    "PendingTurn",
    "AnswerText",
    "TurnRequest",
    "answer_turn",
    "stream_turn",
    "TurnParts",
    "answer_interview",
    "attempts_of",
    "stored_response",
    "read_answer",
    "replay_events",
    "turn_events",
    "coach_turn",
    "finish_turn",
    "get_interview",
    "grade",
    "interview_out",
    "open_turn",
    "prepare_turn",
    "replay",
    "report",
    "resume_interview",
    "rubric_for",
    "start_interview",
    "check_turn",
]

log = logging.getLogger(__name__)

_FOLLOW_UP_WEIGHT = 0.5  # a follow-up counts half as much as its main question in the report


# -- starting ----------------------------------------------------------------------------------


def _pick_questions(
    *, bank: Bank, topics: Sequence[str] | None, level: Level | None, n: int, rng: random.Random
) -> list[str]:
    """A random sample, interleaved across topics so one topic does not fill the interview."""
    by_topic: dict[str, list[str]] = {}
    for q in bank.questions.values():
        if (topics is None or q.topic in topics) and (level is None or q.level == level):
            by_topic.setdefault(q.topic, []).append(q.id)
    order = list(by_topic)
    rng.shuffle(order)
    for ids in by_topic.values():
        rng.shuffle(ids)
    picked: list[str] = []
    while len(picked) < n and any(by_topic.values()):
        for topic in order:
            if by_topic[topic] and len(picked) < n:
                picked.append(by_topic[topic].pop())
    return picked


def start_interview(
    *,
    session: Session,
    bank: Bank,
    settings: Settings,
    body: InterviewCreate,
    owner: str | None = None,
    rng: random.Random | None = None,
    judge: Judge | None = None,
) -> InterviewCreated:
    topics = sorted(set(body.topics)) if body.topics else None
    if topics is not None:
        unknown = [t for t in topics if t not in bank.topics]
        if unknown:
            raise InvalidInput(
                f"topics: unknown topic(s) {', '.join(unknown)}; known: {', '.join(sorted(bank.topics))}"
            )
    n = body.num_questions or settings.default_num_questions
    if n > settings.max_num_questions:
        raise InvalidInput(f"num_questions: at most {settings.max_num_questions}")
    ids = _pick_questions(bank=bank, topics=topics, level=body.level, n=n, rng=rng or random.SystemRandom())
    if not ids:
        raise InvalidInput("topics/level: no question in the bank matches this selection")
    interview = Interview(
        id=secrets.token_urlsafe(16),
        status=InterviewStatus.in_progress,
        config={"topics": topics, "level": body.level, "num_questions": n},
        question_ids=ids,
        position=0,
        owner=owner,
    )
    session.add(interview)
    session.commit()
    _prime_judge(judge, session=session, bank=bank, interview=interview)
    first = bank.questions[ids[0]]
    return InterviewCreated(
        id=interview.id, status=interview.status, question=_brief(first, turn=1), num_questions=len(ids)
    )


# -- reading -----------------------------------------------------------------------------------


def _may_open(interview: Interview, owner: str | None) -> bool:
    """Local mode (owner None) opens everything; a key opens its own interviews, and an admin key also
    the ownerless ones started before keys were switched on."""
    if owner is None:
        return True
    if interview.owner is None:
        return isinstance(owner, OwnerId) and owner.admin
    return interview.owner == owner


def get_interview(*, session: Session, interview_id: str, owner: str | None = None) -> Interview:
    """The interview, fresh from the database; another owner's interview looks like a missing one."""
    interview = session.get(Interview, interview_id, populate_existing=True)
    if interview is None or not _may_open(interview, owner):
        raise InterviewNotFound(f"no interview with id {interview_id!r}")
    return interview


def question_in_bank(bank: Bank, question_id: str) -> Question:
    q = bank.get(question_id)
    if q is None:  # the bank changed under a running interview
        raise InvalidInput(f"question {question_id!r} of this interview is no longer in the bank")
    return q


def _brief(
    q: Question, follow_up_id: str | None = None, text: str | None = None, *, turn: int
) -> QuestionBrief:
    return QuestionBrief(
        id=q.id, text=text or q.text, topic=q.topic, level=q.level, follow_up_id=follow_up_id, turn=turn
    )


def turn_awaited(interview: Interview) -> int | None:
    """The number the next answer must carry; None once the interview is completed."""
    return None if interview.status == InterviewStatus.completed else len(interview.turns) + 1


def asked_brief(bank: Bank, interview: Interview) -> QuestionBrief | None:
    turn = turn_awaited(interview)
    if turn is None:
        return None
    q = question_in_bank(bank, interview.question_ids[interview.position])
    if interview.current_follow_up_text is not None:
        return _brief(q, interview.current_follow_up_id, interview.current_follow_up_text, turn=turn)
    return _brief(q, turn=turn)


def attempts_of(t: Turn) -> list[AttemptOut]:
    """Every attempt at a turn, the first (stored on the turn itself) first."""
    first = AttemptOut(
        attempt=1,
        answer=t.answer,
        score=ScoreResult.model_validate(t.score),
        feedback=t.feedback,
        created_at=t.created_at,
    )
    return [first, *(AttemptOut.model_validate(r) for r in t.retries or [])]


def _turn_out(t: Turn) -> TurnOut:
    return TurnOut(
        number=t.number,
        question_id=t.question_id,
        follow_up_id=t.follow_up_id,
        is_follow_up=t.is_follow_up,
        question=t.asked_text,
        answer=t.answer,
        score=ScoreResult.model_validate(t.score),
        feedback=t.feedback,
        follow_up=t.follow_up,
        provider=t.provider,
        degraded=t.degraded,
        degraded_reason=t.degraded_reason,
        transcript=t.transcript,
        speech=t.speech,
        created_at=t.created_at,
        kind=TurnKind(t.kind),
        attempts=attempts_of(t),
    )


def interview_out(*, bank: Bank, interview: Interview) -> InterviewOut:
    return InterviewOut(
        id=interview.id,
        status=interview.status,
        config=interview.config,
        question_ids=list(interview.question_ids),
        position=interview.position,
        current_question=asked_brief(bank, interview),
        turns=[_turn_out(t) for t in interview.turns],
        created_at=interview.created_at,
        updated_at=interview.updated_at,
    )


def resume_interview(
    *, session: Session, bank: Bank, interview_id: str, owner: str | None = None, judge: Judge | None = None
) -> InterviewOut:
    """An unfinished interview, to go on answering where it stopped (the judge primes for the
    question it waits on); a finished one is InterviewFinished."""
    interview = get_interview(session=session, interview_id=interview_id, owner=owner)
    if interview.status == InterviewStatus.completed:
        raise InterviewFinished(f"interview {interview_id!r} is completed; start a new one")
    _prime_judge(judge, session=session, bank=bank, interview=interview)
    return interview_out(bank=bank, interview=interview)


# -- answering ---------------------------------------------------------------------------------


def check_turn(*, interview: Interview, turn: int | None) -> None:
    """An answer applies to the turn it names, or to none: a resent or raced answer is a 409 that says
    which turn is current, never the answer to the next question. None (internal callers) skips it."""
    if interview.status == InterviewStatus.completed:
        raise InterviewFinished(f"interview {interview.id!r} is completed; start a new one")
    current = len(interview.turns) + 1
    if turn is not None and turn != current:
        why = "was already answered" if turn < current else "has not been asked yet"
        raise TurnMismatch(
            f"turn: this answer is for turn {turn}, which {why}; the current turn is {current}",
            current_turn=current,
        )


def stored_response(
    *, session: Session, interview_id: str, key: str, turn: int | None, action: str
) -> dict[str, object] | None:
    """The response stored with an Idempotency-Key for this action and turn, or None; the same key
    sent for another turn or another action is the caller's mistake (422)."""
    receipt = session.scalar(
        select(AnswerReceipt).where(AnswerReceipt.interview_id == interview_id, AnswerReceipt.key == key)
    )
    if receipt is None:
        return None
    if turn is not None and receipt.turn != turn:
        raise InvalidInput(
            f"Idempotency-Key: this key was used for turn {receipt.turn}; send a new key with each new answer"
        )
    if receipt.action != action:
        raise InvalidInput(
            f"Idempotency-Key: this key was used for another action ({receipt.action}); send a new key"
        )
    return receipt.response


def keep_receipt(
    session: Session, *, interview_id: str, key: str | None, turn: int, action: str, response: BaseModel
) -> None:
    """Store the response under the request's Idempotency-Key (nothing without one), in the same
    commit as what it applied, so a retried request gets it back instead of a 409."""
    if key is not None:
        session.add(
            AnswerReceipt(
                interview_id=interview_id,
                key=key,
                turn=turn,
                action=action,
                response=response.model_dump(mode="json"),
            )
        )


def _receipt(
    *, session: Session, interview_id: str, key: str, turn: int | None, action: str = TurnKind.answered
) -> AnswerOut | None:
    stored = stored_response(session=session, interview_id=interview_id, key=key, turn=turn, action=action)
    return None if stored is None else AnswerOut.model_validate(stored)


def replay(
    *,
    session: Session,
    interview_id: str,
    owner: str | None,
    key: str,
    turn: int | None,
    action: str = TurnKind.answered,
) -> AnswerOut | None:
    """The stored response to an earlier request with this Idempotency-Key, or None."""
    get_interview(session=session, interview_id=interview_id, owner=owner)  # the owner check
    stored = _receipt(session=session, interview_id=interview_id, key=key, turn=turn, action=action)
    session.rollback()
    return stored


def open_turn(
    *,
    session: Session,
    interview_id: str,
    owner: str | None,
    turn: int | None,
    idempotency_key: str | None,
    action: str = TurnKind.answered,
) -> Interview | AnswerOut:
    """The interview, ready for an answer to `turn`; or the stored response when this request is a
    retry of one already applied. The receipt is read after the interview, so a turn that this read
    sees answered always comes with its receipt (they are committed together)."""
    interview = get_interview(session=session, interview_id=interview_id, owner=owner)
    if idempotency_key is not None:
        stored = _receipt(
            session=session, interview_id=interview_id, key=idempotency_key, turn=turn, action=action
        )
        if stored is not None:
            session.rollback()
            return stored
    check_turn(interview=interview, turn=turn)
    return interview


@dataclass
class PendingTurn:
    """A scored answer not yet written: what `finish_turn` needs, and the context the LLM sees."""

    interview_id: str
    version: int
    number: int
    question: Question
    owner: str | None
    follow_up: FollowUp | None
    is_follow_up: bool
    ctx: TurnContext
    idempotency_key: str | None = None
    kind: TurnKind = TurnKind.answered  # skipped and dont_know come from app.interviews.coaching

    @property
    def score(self) -> ScoreResult:
        return self.ctx.score


async def prepare_turn(
    *,
    session: Session,
    bank: Bank,
    settings: Settings,
    scorer: Scorer,
    llm: LLMProvider,
    judge: Judge | None = None,
    interview_id: str,
    text: str,
    owner: str | None = None,
    turn: int | None = None,
    idempotency_key: str | None = None,
) -> PendingTurn | AnswerOut:
    """Validate and score one answer; the read transaction ends before any slow work starts. A retry
    of an answer already applied (same Idempotency-Key) gets the stored response instead."""
    interview = open_turn(
        session=session, interview_id=interview_id, owner=owner, turn=turn, idempotency_key=idempotency_key
    )
    if isinstance(interview, AnswerOut):
        return interview
    if len(text) > settings.max_answer_chars:
        raise AnswerTooLarge(
            f"text: answer has {len(text)} characters; the limit is {settings.max_answer_chars}"
        )
    qid = question_in_bank(bank, interview.question_ids[interview.position]).id
    # Grade with the published rubric version (issue 8): reviewers may have edited it since start.
    q, rubric_version = current_question(session=session, question_id=qid, bank=bank)
    is_follow_up = interview.current_follow_up_text is not None
    follow_up, rubric = turn_rubric(q, rubric_version, interview.current_follow_up_id)
    asked_text = interview.current_follow_up_text if is_follow_up else q.text
    asked_follow_ups = [t.follow_up_asked_id for t in interview.turns if t.follow_up_asked_id]
    version, number = interview.version, len(interview.turns) + 1
    session.rollback()  # end the read transaction: scoring and the LLM can take seconds

    score = await scorer.score_async(rubric, text)
    score = await judge_score(judge=judge, scorer=scorer, rubric=rubric, answer=text, score=score)
    ctx = TurnContext(
        interview_id=interview_id,
        question=q,
        follow_up_id=follow_up.id if follow_up else None,
        asked_text=asked_text or q.text,
        rubric=rubric,
        answer=text,
        score=score,
        asked_follow_ups=asked_follow_ups,
        allow_follow_up=not is_follow_up,
        turn=number,
    )
    return PendingTurn(
        interview_id=interview_id,
        version=version,
        number=number,
        question=q,
        owner=owner,
        follow_up=follow_up,
        is_follow_up=is_follow_up,
        ctx=ctx,
        idempotency_key=idempotency_key,
    )


async def coach_turn(*, llm: LLMProvider, pending: PendingTurn) -> Coaching:
    return await llm.coach(pending.ctx)


def _chosen_follow_up(pending: PendingTurn, coaching: Coaching) -> tuple[str | None, str | None]:
    """The follow-up to ask next as (bank id or None, text), or (None, None) to move on."""
    if pending.is_follow_up:
        return None, None  # one follow-up per main question
    q = pending.question
    if coaching.follow_up_id is not None:
        try:
            f = q.follow_up(coaching.follow_up_id)
        except KeyError:
            log.warning("provider chose unknown follow-up %r of %s", coaching.follow_up_id, q.id)
        else:
            return f.id, coaching.follow_up or f.text
    if coaching.follow_up:
        return None, coaching.follow_up
    return None, None


def turn_rubric(q: Question, version: int | None, follow_up_id: str | None) -> tuple[FollowUp | None, Rubric]:
    """The rubric the current turn is graded on: a bank follow-up's own, else the question's (a
    generated probe has no rubric of its own, and a follow-up the bank dropped falls back too)."""
    follow_up: FollowUp | None = None
    if follow_up_id is not None:
        with contextlib.suppress(KeyError):
            follow_up = q.follow_up(follow_up_id)
    if follow_up is not None:
        return follow_up, Rubric.from_follow_up(q, follow_up, version=version)
    return None, Rubric.from_question(q, version=version)


def _prime_judge(judge: Judge | None, *, session: Session, bank: Bank, interview: Interview) -> None:
    """Let the judge prepare for the answer to the question just asked: the local judge evaluates
    the rubric's part of its prompt while the candidate types (about 400 tokens; seconds on a
    laptop), so the verdict waits only for the answer's part."""
    if judge is None or interview.status == InterviewStatus.completed:
        return
    qid = question_in_bank(bank, interview.question_ids[interview.position]).id
    q, version = current_question(session=session, question_id=qid, bank=bank)
    _, rubric = turn_rubric(q, version, interview.current_follow_up_id)
    judge.prime(judge_item(rubric, ""))


def finish_turn(
    *,
    session: Session,
    bank: Bank,
    pending: PendingTurn,
    coaching: Coaching,
    feedback: str | None = None,
    transcript: dict[str, object] | None = None,
    speech: dict[str, object] | None = None,
    judge: Judge | None = None,
) -> AnswerOut:
    """Write the turn and move the interview on, if nobody else answered this turn meanwhile; a
    spoken answer's transcript and speaking metrics are stored and returned with it. With an
    Idempotency-Key the response is stored in the same transaction, and a request that lost the race
    to its own retry gets that response back. The judge starts preparing for the next question's
    answer."""
    interview = get_interview(session=session, interview_id=pending.interview_id)
    if interview.version != pending.version:
        session.rollback()
        return _lost_race(session=session, pending=pending)
    follow_up_id, follow_up_text = _chosen_follow_up(pending, coaching)
    feedback_text = coaching.feedback if feedback is None else feedback
    score = pending.score
    turn = Turn(
        number=pending.number,
        question_id=pending.question.id,
        follow_up_id=pending.follow_up.id if pending.follow_up else None,
        is_follow_up=pending.is_follow_up,
        asked_text=pending.ctx.asked_text,
        answer=pending.ctx.answer,
        score=score.model_dump(mode="json"),
        feedback=feedback_text,
        follow_up=follow_up_text,
        follow_up_asked_id=follow_up_id,
        provider=coaching.provider,
        degraded=coaching.degraded,
        degraded_reason=coaching.degraded_reason,
        prompt_version=coaching.prompt_version,
        tokens_in=coaching.tokens_in,
        tokens_out=coaching.tokens_out,
        latency_ms=coaching.latency_ms,
        rubric_version=score.rubric_version,
        transcript=transcript,
        speech=speech,
        kind=pending.kind,
        retries=[],
    )
    interview.turns.append(turn)
    if follow_up_text is not None:
        interview.current_follow_up_id, interview.current_follow_up_text = follow_up_id, follow_up_text
    else:
        interview.current_follow_up_id = interview.current_follow_up_text = None
        interview.position += 1
        if interview.position >= len(interview.question_ids):
            interview.status = InterviewStatus.completed
    out = AnswerOut(
        score=score,
        feedback=feedback_text,
        follow_up=follow_up_text,
        next_question=asked_brief(bank, interview),
        status=interview.status,
        turn=turn.number,
        degraded=coaching.degraded,
        degraded_reason=coaching.degraded_reason,
        transcript=transcript,
        speech=speech,
    )
    keep_receipt(
        session,
        interview_id=interview.id,
        key=pending.idempotency_key,
        turn=pending.number,
        action=pending.kind,
        response=out,
    )
    try:
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        return _lost_race(session=session, pending=pending)
    _prime_judge(judge, session=session, bank=bank, interview=interview)
    return out


def _lost_race(*, session: Session, pending: PendingTurn) -> AnswerOut:
    """Another request answered this turn first: its response if it was this one's retry, else 409."""
    if pending.idempotency_key is not None:
        stored = replay(
            session=session,
            interview_id=pending.interview_id,
            owner=pending.owner,
            key=pending.idempotency_key,
            turn=pending.number,
            action=pending.kind,
        )
        if stored is not None:
            return stored
    interview = get_interview(session=session, interview_id=pending.interview_id)
    current = turn_awaited(interview)
    session.rollback()
    if current == pending.number:  # still open: a Try again of the previous turn landed meanwhile
        raise TurnMismatch(
            f"the interview changed meanwhile (another attempt at turn {pending.number - 1} was stored); "
            f"send this answer again for turn {current}",
            current_turn=current,
        )
    raise TurnMismatch(
        f"turn {pending.number} was answered by another request meanwhile; the current turn is {current}",
        current_turn=current,
    )


async def answer_interview(
    *,
    session: Session,
    bank: Bank,
    settings: Settings,
    scorer: Scorer,
    llm: LLMProvider,
    judge: Judge | None = None,
    interview_id: str,
    text: str,
    owner: str | None = None,
    turn: int | None = None,
    idempotency_key: str | None = None,
    transcript: dict[str, object] | None = None,
    speech: dict[str, object] | None = None,
) -> AnswerOut:
    """One whole turn: score, coach, store, advance (a spoken answer's transcript and speaking
    metrics are stored with it)."""
    pending = await prepare_turn(
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
    if isinstance(pending, AnswerOut):
        return pending
    coaching = await coach_turn(llm=llm, pending=pending)
    return finish_turn(
        session=session,
        bank=bank,
        pending=pending,
        coaching=coaching,
        transcript=transcript,
        speech=speech,
        judge=judge,
    )


# -- one answer, from the route ----------------------------------------------------------------


@dataclass(frozen=True)
class TurnParts:
    """Everything an answer needs, gathered once by the route and handed over whole."""

    session: Session
    sessions: sessionmaker[Session]
    bank: Bank
    settings: Settings
    scorer: Scorer
    llm: LLMProvider
    judge: Judge | None
    transcriber: Transcriber
    glossary: Glossary


@dataclass(frozen=True)
class AnswerText:
    """The answer to grade, and for a spoken one what the turn keeps of its speech."""

    text: str
    transcript: dict[str, object] | None = None
    speech: dict[str, object] | None = None


@dataclass(frozen=True)
class TurnRequest:
    """Which turn an answer is for, and who sends it (with the retry key, if any)."""

    interview_id: str
    owner: str | None
    turn: int
    idempotency_key: str | None = None


async def read_answer(
    parts: TurnParts, request: TurnRequest, body: AnswerIn | UploadFile
) -> AnswerText | AnswerOut:
    """The text to grade: typed, or recorded audio transcribed with the decoder primed with what was
    asked (a wrong turn or a retry is settled before any transcription); a page-transcribed answer
    keeps its transcript. A retry of an applied answer gets the stored response instead."""
    spoken: SpokenAnswer | None = None
    if isinstance(body, UploadFile):
        interview = open_turn(
            session=parts.session,
            interview_id=request.interview_id,
            owner=request.owner,
            turn=request.turn,
            idempotency_key=request.idempotency_key,
        )
        if isinstance(interview, AnswerOut):
            return interview
        asked = parts.bank.get(interview.question_ids[interview.position])
        spoken = await transcribe_upload(
            transcriber=parts.transcriber,
            upload=body,
            filename=body.filename,
            content_type=body.content_type,
            settings=parts.settings,
            bank_question=asked,
            glossary=parts.glossary,
            prompt=question_prompt(
                asked,
                follow_up_id=interview.current_follow_up_id,
                follow_up_text=interview.current_follow_up_text,
            )
            if asked is not None
            else None,
        )
        text = spoken.corrected
    else:
        text, spoken = body.text, body.spoken  # page-transcribed answers come reviewed
    if spoken is None:
        return AnswerText(text)
    transcript, speech = speech_record(spoken, text, limit=parts.settings.max_answer_chars)
    return AnswerText(text, transcript, speech)


async def _prepare(parts: TurnParts, request: TurnRequest, answer: AnswerText) -> PendingTurn | AnswerOut:
    return await prepare_turn(
        session=parts.session,
        bank=parts.bank,
        settings=parts.settings,
        scorer=parts.scorer,
        llm=parts.llm,
        judge=parts.judge,
        interview_id=request.interview_id,
        text=answer.text,
        owner=request.owner,
        turn=request.turn,
        idempotency_key=request.idempotency_key,
    )


async def answer_turn(parts: TurnParts, request: TurnRequest, answer: AnswerText) -> AnswerOut:
    """One whole turn for the route: score, judge, coach, store, advance."""
    pending = await _prepare(parts, request, answer)
    if isinstance(pending, AnswerOut):  # a retry of an answer already applied
        return pending
    coaching = await coach_turn(llm=parts.llm, pending=pending)
    return finish_turn(
        session=parts.session,
        bank=parts.bank,
        pending=pending,
        coaching=coaching,
        transcript=answer.transcript,
        speech=answer.speech,
        judge=parts.judge,
    )


Event = tuple[str, str]  # a Server-Sent Event: (event name, JSON data)


async def stream_turn(parts: TurnParts, request: TurnRequest, answer: AnswerText) -> AsyncIterator[Event]:
    """The turn scored now, so that its errors are ordinary JSON errors before any event; then its
    events (a retry of an applied answer replays the stored ones)."""
    pending = await _prepare(parts, request, answer)
    if isinstance(pending, AnswerOut):
        return replay_events(pending)
    return turn_events(parts, pending, answer)


async def replay_events(out: AnswerOut) -> AsyncIterator[Event]:
    """A stored response as the events a live stream would have sent."""
    yield "score", out.score.model_dump_json()
    yield "feedback", json.dumps({"text": out.feedback})
    yield "done", out.model_dump_json()


async def turn_events(parts: TurnParts, pending: PendingTurn, answer: AnswerText) -> AsyncIterator[Event]:
    """A scored turn streamed: the score, the feedback as the provider writes it (`restart` if it
    fell back mid-stream), then `done` with the stored turn, or `error` in the shared error shape."""
    yield "score", pending.score.model_dump_json()
    outcome = StreamOutcome()
    restarted = False
    async for chunk in parts.llm.stream_feedback(pending.ctx, outcome):
        if outcome.restarted and not restarted:
            restarted = True
            yield "restart", json.dumps({"reason": outcome.degraded_reason})
        yield "feedback", json.dumps({"text": chunk})
    try:
        coaching = outcome.coaching or await coach_turn(llm=parts.llm, pending=pending)
        with parts.sessions() as own:  # the request's session may be closed by now
            result = finish_turn(
                session=own,
                bank=parts.bank,
                pending=pending,
                coaching=coaching,
                transcript=answer.transcript,
                speech=answer.speech,
                judge=parts.judge,
            )
    except DomainError as exc:
        yield "error", json.dumps(exc.body())
        return
    yield "done", result.model_dump_json()


# -- reporting ---------------------------------------------------------------------------------


def _best(t: Turn) -> float:
    """The best value over a turn's attempts."""
    return max(a.score.value for a in attempts_of(t))


def _combined(main: float | None, follow: float | None) -> float | None:
    if main is None:
        return None
    value = main if follow is None else (main + _FOLLOW_UP_WEIGHT * follow) / (1 + _FOLLOW_UP_WEIGHT)
    return round(value, 2)


def report(*, session: Session, bank: Bank, interview_id: str, owner: str | None = None) -> Report:
    """Per question (main and follow-up weighted 2:1), per topic (mean of questions) and overall.
    Each turn counts with its first attempt (a Try again after reading the model answer is practice,
    not the interview); the best attempt is reported beside it. Skipped and "I don't know" turns count
    as 0; questions never asked (after End interview) do not count."""
    interview = get_interview(session=session, interview_id=interview_id, owner=owner)
    main: dict[str, Turn] = {}
    follow: dict[str, Turn] = {}
    by_question: dict[str, list[Turn]] = {}
    for t in interview.turns:
        (follow if t.is_follow_up else main)[t.question_id] = t
        by_question.setdefault(t.question_id, []).append(t)
    questions: list[QuestionReport] = []
    per_topic: dict[str, list[float]] = {}
    for qid in interview.question_ids:
        q = bank.get(qid)
        topic, text = (q.topic, q.text) if q else ("unknown", qid)
        mt, ft = main.get(qid), follow.get(qid)
        m = float(mt.score["value"]) if mt else None  # type: ignore[arg-type]
        f = float(ft.score["value"]) if ft else None  # type: ignore[arg-type]
        value = _combined(m, f)
        if value is not None:
            per_topic.setdefault(topic, []).append(value)
        questions.append(
            QuestionReport(
                question_id=qid,
                topic=topic,
                text=text,
                main=m,
                follow_up=f,
                value=value,
                band=band_of(value) if value is not None else None,
                best_value=_combined(_best(mt) if mt else None, _best(ft) if ft else None),
                turns=[
                    TurnAttempts(
                        turn=t.number,
                        is_follow_up=t.is_follow_up,
                        kind=TurnKind(t.kind),
                        first=float(t.score["value"]),  # type: ignore[arg-type]
                        best=_best(t),
                        attempts=1 + len(t.retries or []),
                    )
                    for t in by_question.get(qid, [])
                ],
            )
        )
    topics = [
        TopicReport(
            topic=topic,
            title=bank.topics.get(topic, topic),
            questions=len(vals),
            value=round(sum(vals) / len(vals), 2),
            band=band_of(sum(vals) / len(vals)),
        )
        for topic, vals in sorted(per_topic.items())
    ]
    answered = [v.value for v in questions if v.value is not None]
    overall = round(sum(answered) / len(answered), 2) if answered else None
    return Report(
        id=interview.id,
        status=interview.status,
        answered=len(answered),
        total=len(interview.question_ids),
        questions=questions,
        topics=topics,
        overall=overall,
        band=band_of(overall) if overall is not None else None,
        ended_early=interview.ended_early,
    )


# -- grading only ------------------------------------------------------------------------------


def rubric_for(*, bank: Bank, request: ScoreRequest) -> Rubric:
    """The bank rubric for a question id, or an ad-hoc one; plain key points get weight 1."""
    if request.question_id is not None:
        q = bank.get(request.question_id)
        if q is None:
            raise QuestionNotFound(f"no question with id {request.question_id!r}")
        return Rubric.from_question(q)
    assert request.question is not None and request.reference_answer is not None  # the schema checked
    refs = (
        [request.reference_answer] if isinstance(request.reference_answer, str) else request.reference_answer
    )
    points = tuple(
        RubricPoint(id=f"kp{i}", text=text, weight=1.0)
        for i, text in enumerate(request.key_points or [], 1)
        if text.strip()
    )
    return Rubric(question=request.question, reference_answers=tuple(refs), key_points=points, persist=False)


def _check_rubric_size(*, settings: Settings, request: ScoreRequest) -> None:
    """An ad-hoc rubric is encoded on every request: its size is bounded (settings, 422)."""
    refs = request.reference_answer
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    points = list(request.key_points or [])
    if len(points) > settings.score_max_key_points:
        raise InvalidInput(f"key_points: at most {settings.score_max_key_points}, got {len(points)}")
    if len(refs) > settings.score_max_reference_answers:
        raise InvalidInput(
            f"reference_answer: at most {settings.score_max_reference_answers} answers, got {len(refs)}"
        )
    for field, texts in (
        ("question", [request.question or ""]),
        ("reference_answer", refs),
        ("key_points", points),
    ):
        longest = max((len(t) for t in texts), default=0)
        if longest > settings.score_max_rubric_chars:
            raise InvalidInput(
                f"{field}: {longest} characters; the limit is {settings.score_max_rubric_chars} per text"
            )


async def grade(
    *, bank: Bank, settings: Settings, scorer: Scorer, judge: Judge | None, request: ScoreRequest
) -> ScoreResult:
    if len(request.answer) > settings.max_answer_chars:
        raise AnswerTooLarge(
            f"answer: {len(request.answer)} characters; the limit is {settings.max_answer_chars}"
        )
    _check_rubric_size(settings=settings, request=request)
    rubric = rubric_for(bank=bank, request=request)
    score = await scorer.score_async(rubric, request.answer)
    return await judge_score(judge=judge, scorer=scorer, rubric=rubric, answer=request.answer, score=score)
