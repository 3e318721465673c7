"""Coaching actions around a scored turn (issue 21): read the model answer, Try again, Skip,
"I don't know" and End interview.

The rules a candidate sees:
- The model answer of a turn opens once that turn is closed (answered, skipped or "I don't know");
  before that the rubric stays hidden (409 naming the current turn).
- Try again applies to the most recently closed turn, until the next question is answered (or the
  interview is ended with End interview). Each attempt is kept; the interview's score counts the
  first one (a second try after reading the model answer is practice), the report shows the best
  beside it.
- Skip and "I don't know" close the current turn with 0 (both count as 0 in the overall score) and
  move on to the next main question without a follow-up; "I don't know" gets a short note on what a
  good answer covers, from the offline rubric provider.
- End interview completes the interview now; the report covers the questions asked so far.

Every action names the turn it applies to, and takes an Idempotency-Key, like an answer.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.bank.models import Bank
from app.config import Settings
from app.db.base import utcnow
from app.errors import AnswerTooLarge, Conflict, InterviewFinished, TurnMismatch
from app.interviews.models import Interview, InterviewStatus, Turn, TurnKind
from app.interviews.schemas import (
    AnswerOut,
    AttemptBrief,
    AttemptOut,
    ModelAnswer,
    ModelKeyPoint,
    Report,
    RetryOut,
)
from app.interviews.service import (
    PendingTurn,
    TurnRequest,
    asked_brief,
    attempts_of,
    check_turn,
    finish_turn,
    get_interview,
    keep_receipt,
    open_turn,
    question_in_bank,
    report,
    stored_response,
    turn_awaited,
    turn_rubric,
)
from app.judge.base import Judge
from app.judge.service import judge_score
from app.llm.base import Coaching, LLMProvider, TurnContext
from app.llm.rubric import RUBRIC_VERSION, RubricProvider, rubric_feedback
from app.rubrics.service import current_question
from app.scoring.schemas import Band, KeyPointScore, Rubric, ScoreResult
from app.scoring.scorer import Scorer

__all__ = ["close_turn", "end_interview", "model_answer", "retry_turn"]

_SKIPPED_FEEDBACK = (
    "Skipped. The model answer is there if you want to read it, and Try again works until you "
    "answer the next question."
)


def _now_phrase(current: int | None) -> str:
    return "the interview is completed" if current is None else f"the current turn is {current}"


# -- the model answer --------------------------------------------------------------------------


def model_answer(
    *, session: Session, bank: Bank, interview_id: str, owner: str | None, turn: int
) -> ModelAnswer:
    """The reference answer of a closed turn, each key point marked as the latest attempt covered it."""
    interview = get_interview(session=session, interview_id=interview_id, owner=owner)
    if turn > len(interview.turns):
        current = turn_awaited(interview)
        raise TurnMismatch(
            f"turn: turn {turn} has not been answered yet; its model answer opens once it is answered, "
            f"skipped or marked I don't know ({_now_phrase(current)})",
            current_turn=current,
        )
    t = interview.turns[turn - 1]
    q, version = current_question(session=session, question_id=t.question_id, bank=bank)
    _, rubric = turn_rubric(q, version, t.follow_up_id)
    latest = attempts_of(t)[-1]
    session.rollback()
    seen = {k.id: k for k in latest.score.key_points}
    points = []
    for k in rubric.key_points:
        status = seen[k.id].status if k.id in seen else "missing"
        points.append(
            ModelKeyPoint(id=k.id, text=k.text, weight=k.weight, status=status, covered=status == "covered")
        )
    return ModelAnswer(
        turn=t.number,
        question_id=t.question_id,
        follow_up_id=t.follow_up_id,
        question=t.asked_text,
        reference_answer=rubric.reference_answers[0],
        key_points=points,
        attempt=latest.attempt,
        kind=TurnKind(t.kind),
    )


# -- Try again ---------------------------------------------------------------------------------


def _retriable(*, interview: Interview, turn: int, settings: Settings) -> Turn:
    """The turn a Try again may apply to: the most recently closed one, under the attempt cap."""
    if interview.ended_early:
        raise InterviewFinished(f"interview {interview.id!r} was ended; start a new one to practise more")
    last, current = len(interview.turns), turn_awaited(interview)
    if last == 0:
        raise TurnMismatch(
            f"turn: nothing to try again yet; answer turn {current} first", current_turn=current
        )
    if turn != last:
        raise TurnMismatch(
            f"turn: only the most recently answered turn ({last}) can be tried again, until the next "
            f"question is answered; not turn {turn} ({_now_phrase(current)})",
            current_turn=current,
        )
    t = interview.turns[-1]
    if 1 + len(t.retries or []) >= settings.max_attempts_per_turn:
        raise Conflict(f"turn {turn} already has {settings.max_attempts_per_turn} attempts, the most allowed")
    return t


def _brief(a: AttemptOut) -> AttemptBrief:
    return AttemptBrief(attempt=a.attempt, value=a.score.value)


async def retry_turn(
    *,
    session: Session,
    bank: Bank,
    settings: Settings,
    scorer: Scorer,
    llm: LLMProvider,
    judge: Judge | None = None,
    request: TurnRequest,
    text: str,
) -> RetryOut:
    """Grade a new attempt at the most recently closed turn and keep it beside the earlier ones; the
    interview does not move. A retried request with the same Idempotency-Key gets its stored response."""
    interview = get_interview(session=session, interview_id=request.interview_id, owner=request.owner)
    replayed = _stored_retry(session=session, interview_id=interview.id, request=request)
    if replayed is not None:
        return replayed
    t = _retriable(interview=interview, turn=request.turn, settings=settings)
    if len(text) > settings.max_answer_chars:
        raise AnswerTooLarge(
            f"text: answer has {len(text)} characters; the limit is {settings.max_answer_chars}"
        )
    q, version = current_question(session=session, question_id=t.question_id, bank=bank)
    follow_up, rubric = turn_rubric(q, version, t.follow_up_id)
    earlier, asked_text, seen_version = attempts_of(t), t.asked_text, interview.version
    session.rollback()  # scoring and coaching take time: no transaction stays open meanwhile

    score = await scorer.score_async(rubric, text)
    score = await judge_score(judge=judge, scorer=scorer, rubric=rubric, answer=text, score=score)
    ctx = TurnContext(
        interview_id=request.interview_id,
        question=q,
        follow_up_id=follow_up.id if follow_up else None,
        asked_text=asked_text,
        rubric=rubric,
        answer=text,
        score=score,
        allow_follow_up=False,  # the follow-up, if one was asked, is already waiting
        turn=request.turn,
    )
    coaching = await llm.coach(ctx)

    interview = get_interview(session=session, interview_id=request.interview_id)
    if interview.version != seen_version:
        session.rollback()
        return _retry_lost(session=session, request=request)
    t = interview.turns[request.turn - 1]
    attempt = AttemptOut(
        attempt=len(earlier) + 1, answer=text, score=score, feedback=coaching.feedback, created_at=utcnow()
    )
    record = {
        **attempt.model_dump(mode="json"),
        "provider": coaching.provider,
        "degraded": coaching.degraded,
        "degraded_reason": coaching.degraded_reason,
    }
    t.retries = [*(t.retries or []), record]  # a new list: SQLAlchemy sees the JSON column change
    interview.updated_at = utcnow()  # the interview's version moves: racing writes are refused
    attempts = [*earlier, attempt]
    previous = earlier[-1]
    out = RetryOut(
        turn=request.turn,
        attempt=attempt.attempt,
        score=score,
        feedback=coaching.feedback,
        previous=_brief(previous),
        change=round(score.value - previous.score.value, 2),
        first=_brief(attempts[0]),
        best=_brief(max(attempts, key=lambda a: (a.score.value, -a.attempt))),
        status=interview.status,
        next_question=asked_brief(bank, interview),
        degraded=coaching.degraded,
        degraded_reason=coaching.degraded_reason,
    )
    keep_receipt(
        session,
        interview_id=interview.id,
        key=request.idempotency_key,
        turn=request.turn,
        action="retry",
        response=out,
    )
    try:
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        return _retry_lost(session=session, request=request)
    return out


def _stored_retry(*, session: Session, interview_id: str, request: TurnRequest) -> RetryOut | None:
    """The response stored for this retry's Idempotency-Key, if it was applied before."""
    if request.idempotency_key is None:
        return None
    stored = stored_response(
        session=session,
        interview_id=interview_id,
        key=request.idempotency_key,
        turn=request.turn,
        action="retry",
    )
    if stored is None:
        return None
    session.rollback()
    return RetryOut.model_validate(stored)


def _retry_lost(*, session: Session, request: TurnRequest) -> RetryOut:
    """Another request changed the interview while this attempt was graded: its response if it was
    this one's retry, else a 409 that says what changed."""
    interview = get_interview(session=session, interview_id=request.interview_id, owner=request.owner)
    replayed = _stored_retry(session=session, interview_id=interview.id, request=request)
    if replayed is not None:
        return replayed
    current = turn_awaited(interview)
    session.rollback()
    raise TurnMismatch(
        f"the interview changed while this attempt was graded; {_now_phrase(current)}, send it again "
        f"if turn {request.turn} can still be tried again",
        current_turn=current,
    )


# -- Skip and I don't know ---------------------------------------------------------------------


def _zero_score(rubric: Rubric, flag: str) -> ScoreResult:
    """A non-answer's score: 0, every key point missing, off topic like the scorer's other non-answers."""
    return ScoreResult(
        value=0.0,
        band=Band.off_topic,
        key_points=[
            KeyPointScore(id=k.id, text=k.text, weight=k.weight, covered=False, similarity=0.0, evidence=None)
            for k in rubric.key_points
        ],
        flags=[flag],
        similarity=0.0,
        coverage=0.0,
        scorer_version=Scorer.version,
        rubric_version=rubric.version,
    )


def close_turn(
    *,
    session: Session,
    bank: Bank,
    judge: Judge | None = None,
    request: TurnRequest,
    kind: TurnKind,
) -> AnswerOut:
    """Skip or "I don't know": the current turn is stored with 0 and the interview moves on to the
    next main question; no scoring, judge or LLM call."""
    interview = open_turn(
        session=session,
        interview_id=request.interview_id,
        owner=request.owner,
        turn=request.turn,
        idempotency_key=request.idempotency_key,
        action=kind,
    )
    if isinstance(interview, AnswerOut):
        return interview
    qid = question_in_bank(bank, interview.question_ids[interview.position]).id
    q, version = current_question(session=session, question_id=qid, bank=bank)
    is_follow_up = interview.current_follow_up_text is not None
    follow_up, rubric = turn_rubric(q, version, interview.current_follow_up_id)
    ctx = TurnContext(
        interview_id=interview.id,
        question=q,
        follow_up_id=follow_up.id if follow_up else None,
        asked_text=interview.current_follow_up_text or q.text,
        rubric=rubric,
        answer="",
        score=_zero_score(rubric, "dont_know" if kind == TurnKind.dont_know else "skipped"),
        allow_follow_up=False,
        turn=len(interview.turns) + 1,
    )
    pending = PendingTurn(
        interview_id=interview.id,
        version=interview.version,
        number=len(interview.turns) + 1,
        question=q,
        owner=request.owner,
        follow_up=follow_up,
        is_follow_up=is_follow_up,
        ctx=ctx,
        idempotency_key=request.idempotency_key,
        kind=kind,
    )
    session.rollback()
    feedback = rubric_feedback(ctx) if kind == TurnKind.dont_know else _SKIPPED_FEEDBACK
    coaching = Coaching(
        feedback=feedback, provider=RubricProvider.name, prompt_version=RUBRIC_VERSION, latency_ms=0.0
    )
    return finish_turn(session=session, bank=bank, pending=pending, coaching=coaching, judge=judge)


# -- End interview -----------------------------------------------------------------------------


def end_interview(*, session: Session, bank: Bank, request: TurnRequest) -> Report:
    """Complete the interview now, at the turn it waits on; the report covers what was answered."""

    def stored() -> Report | None:
        if request.idempotency_key is None:
            return None
        found = stored_response(
            session=session,
            interview_id=request.interview_id,
            key=request.idempotency_key,
            turn=request.turn,
            action="end",
        )
        return None if found is None else Report.model_validate(found)

    interview = get_interview(session=session, interview_id=request.interview_id, owner=request.owner)
    earlier = stored()
    if earlier is not None:
        session.rollback()
        return earlier
    check_turn(interview=interview, turn=request.turn)
    interview.status = InterviewStatus.completed
    interview.ended_early = True
    interview.current_follow_up_id = interview.current_follow_up_text = None
    try:
        session.flush()  # the version check; the report below reads the ended interview
        out = report(session=session, bank=bank, interview_id=interview.id, owner=request.owner)
        keep_receipt(
            session,
            interview_id=interview.id,
            key=request.idempotency_key,
            turn=request.turn,
            action="end",
            response=out,
        )
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        get_interview(session=session, interview_id=request.interview_id, owner=request.owner)
        earlier = stored()
        if earlier is not None:
            session.rollback()
            return earlier
        check_turn(
            interview=get_interview(session=session, interview_id=request.interview_id), turn=request.turn
        )
        raise Conflict("the interview changed meanwhile; send End interview again") from None
    return out
