"""Browse the question bank: filter, search and page through questions without exposing internals."""

from __future__ import annotations

from app.bank.models import Bank, Level, Question
from app.bank.schemas import FollowUpOut, QuestionDetail, QuestionPage, QuestionSummary, TopicOut
from app.errors import QuestionNotFound

__all__ = [
    "get_question",
    "list_questions",
    "list_topics",
]


def _summary(q: Question) -> QuestionSummary:
    return QuestionSummary(id=q.id, topic=q.topic, level=q.level, kind=q.kind, text=q.text)


def _matches(q: Question, needle: str) -> bool:
    hay = " ".join([q.id, q.text, q.reference_answer, *(k.text for k in q.key_points)]).lower()
    return all(word in hay for word in needle.lower().split())


def list_questions(
    *,
    bank: Bank,
    topic: str | None = None,
    level: Level | None = None,
    q: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> QuestionPage:
    """Questions in a stable order (topic, then id); `q` matches every word in text, answer or key points."""
    found = [
        question
        for question in sorted(bank.questions.values(), key=lambda x: (x.topic, x.id))
        if (topic is None or question.topic == topic)
        and (level is None or question.level == level)
        and (not q or _matches(question, q))
    ]
    return QuestionPage(
        items=[_summary(x) for x in found[offset : offset + limit]],
        total=len(found),
        limit=limit,
        offset=offset,
    )


def get_question(
    *, bank: Bank, question_id: str, with_rubric: bool = True
) -> QuestionDetail | QuestionSummary:
    """The question; its rubric (reference answer, key points, follow-ups) only `with_rubric`."""
    question = bank.get(question_id)
    if question is None:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    if not with_rubric:
        return _summary(question)
    return QuestionDetail(
        **_summary(question).model_dump(),
        reference_answer=question.reference_answer,
        key_points=[k.text for k in question.key_points],
        follow_ups=[FollowUpOut(id=f.id, text=f.text) for f in question.follow_ups],
        sources=list(question.sources),
    )


def list_topics(*, bank: Bank) -> list[TopicOut]:
    counts: dict[str, int] = {}
    for question in bank.questions.values():
        counts[question.topic] = counts.get(question.topic, 0) + 1
    return [
        TopicOut(topic=t, title=title, questions=counts.get(t, 0)) for t, title in sorted(bank.topics.items())
    ]
