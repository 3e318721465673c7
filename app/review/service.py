"""Versioned rubrics, what-if re-scoring, human grades and agreement; keyword-only, no HTTP here.

The YAML bank seeds version 1 of every question; after that the database is the source of truth
for rubrics (`app.rubrics.service.current_question`), and `export_bank` writes it back to YAML for
review in git.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bank.models import Bank, Question
from app.db.base import utcnow
from app.errors import Conflict, InvalidInput, NotFound, QuestionNotFound
from app.interviews.models import Turn
from app.review.models import HumanGrade
from app.review.schemas import (
    AgreementReport,
    AgreementStats,
    CheckResult,
    DraftIn,
    GradeOut,
    QuestionAgreement,
    QueueItem,
    ReviewQuestion,
    RubricOut,
    VersionOut,
    WhatIfOut,
    WhatIfRow,
)
from app.rubrics.models import RubricStatus, RubricVersion
from app.rubrics.service import (
    current_question,
    current_row,
    draft_questions,
    draft_row,
    dump_question,
    published_questions,
    question_of,
)
from app.scoring.evaluation import quadratic_weighted_kappa
from app.scoring.schemas import BAND_CUTOFFS, Rubric, ScoreResult
from app.scoring.scorer import Params, Scorer

__all__ = [
    "GoldItem",
    "add_grade",
    "agreement_report",
    "agreement_stats",
    "check",
    "export_bank",
    "get_draft",
    "gold_csv",
    "gold_set",
    "list_questions",
    "publish",
    "queue",
    "revert",
    "save_draft",
    "versions",
    "whatif",
]

log = logging.getLogger(__name__)

_BOUNDARIES = tuple(BAND_CUTOFFS.values())  # values near the band cut-offs are the least certain
_MAX_STORED = 200  # stored answers a what-if re-scores per question (the newest)
_QUEUE_SCAN = 2000  # ungraded turns the queue ranks (the newest)


# -- versions ----------------------------------------------------------------------------------


def _out(row: RubricVersion) -> RubricOut:
    return RubricOut(
        question_id=row.question_id,
        version=row.version,
        status=row.status,
        is_draft=row.status == RubricStatus.draft,
        based_on=row.based_on,
        note=row.note,
        author=row.author,
        created_at=row.created_at,
        published_at=row.published_at,
        question=question_of(row),
    )


def _require_current(session: Session, question_id: str) -> RubricVersion:
    row = current_row(session, question_id)
    if row is None:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    return row


def get_draft(*, session: Session, question_id: str) -> RubricOut:
    """The open draft, or the current version (is_draft false) to start one from."""
    row = draft_row(session, question_id) or _require_current(session, question_id)
    return _out(row)


def _next_version(session: Session, question_id: str) -> int:
    top = session.scalar(
        select(func.max(RubricVersion.version)).where(RubricVersion.question_id == question_id)
    )
    return int(top or 0) + 1


def _validated(content: dict[str, Any]) -> Question:
    try:
        return Question.model_validate(content)
    except ValidationError as exc:
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'question'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(message) from exc


def save_draft(*, session: Session, question_id: str, edit: DraftIn, author: str | None) -> RubricOut:
    """Apply an edit to the open draft (or open one from the current version)."""
    current = _require_current(session, question_id)
    draft = draft_row(session, question_id)
    base = dict((draft or current).content)
    changes = edit.model_dump(mode="json", exclude_unset=True, exclude={"note"})
    question = _validated({**base, **changes, "id": current.question_id})
    if draft is None:
        draft = RubricVersion(
            question_id=question_id,
            version=_next_version(session, question_id),
            status=RubricStatus.draft,
            content=dump_question(question),
            based_on=current.version,
        )
        session.add(draft)
    draft.content = dump_question(question)
    draft.note = edit.note or draft.note
    draft.author = author
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("another reviewer opened a draft of this question at the same moment; retry") from exc
    return _out(draft)


def discard_draft(*, session: Session, question_id: str) -> None:
    draft = draft_row(session, question_id)
    if draft is None:
        raise NotFound(f"question {question_id!r} has no draft")
    session.delete(draft)
    session.commit()


def _yaml(content: dict[str, object]) -> list[str]:
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100).splitlines()


def versions(*, session: Session, question_id: str) -> list[VersionOut]:
    """Every version, newest first, each with a unified diff against the one before it."""
    rows = session.scalars(
        select(RubricVersion).where(RubricVersion.question_id == question_id).order_by(RubricVersion.version)
    ).all()
    if not rows:
        raise QuestionNotFound(f"no question with id {question_id!r}")
    out: list[VersionOut] = []
    previous: list[str] = []
    for row in rows:
        lines = _yaml(row.content)
        diff = "\n".join(
            difflib.unified_diff(
                previous,
                lines,
                fromfile=f"v{row.version - 1}" if previous else "empty",
                tofile=f"v{row.version}",
                lineterm="",
            )
        )
        out.append(
            VersionOut(
                version=row.version,
                status=row.status,
                note=row.note,
                author=row.author,
                based_on=row.based_on,
                created_at=row.created_at,
                published_at=row.published_at,
                agreement=row.agreement,
                diff=diff,
            )
        )
        previous = lines
    return out[::-1]


def revert(
    *, session: Session, scorer: Scorer, question_id: str, version: int, publish_now: bool, author: str | None
) -> RubricOut:
    """A new version with an old version's content: a draft, or published at once."""
    old = session.scalars(
        select(RubricVersion).where(
            RubricVersion.question_id == question_id, RubricVersion.version == version
        )
    ).first()
    if old is None:
        raise NotFound(f"question {question_id!r} has no version {version}")
    draft = draft_row(session, question_id)
    if draft is not None:
        session.delete(draft)
        session.flush()
    current = _require_current(session, question_id)
    row = RubricVersion(
        question_id=question_id,
        version=_next_version(session, question_id),
        status=RubricStatus.draft,
        content=dict(old.content),
        based_on=current.version,
        note=f"revert to v{version}",
        author=author,
    )
    session.add(row)
    session.commit()
    if publish_now:
        return publish(session=session, scorer=scorer, question_id=question_id, author=author)
    return _out(row)


def publish(*, session: Session, scorer: Scorer, question_id: str, author: str | None) -> RubricOut:
    """Make the draft current, and store the agreement it and the whole set now have with the gold set."""
    draft = draft_row(session, question_id)
    if draft is None:
        raise Conflict(f"question {question_id!r} has no draft to publish")
    for row in session.scalars(
        select(RubricVersion).where(
            RubricVersion.question_id == question_id, RubricVersion.status == RubricStatus.published
        )
    ):
        row.status = RubricStatus.superseded
    draft.status = RubricStatus.published
    draft.published_at = utcnow()
    if author is not None:
        draft.author = author
    session.flush()
    gold = gold_set(session=session)
    rubrics = _rubric_set(published_questions(session))
    overall = _score_gold(scorer, rubrics, gold)
    mine = [g for g in gold if g.question_id == question_id]
    draft.agreement = {
        "question": _score_gold(scorer, rubrics, mine).model_dump(),
        "overall": overall.model_dump(),
        "gold_digest": _gold_digest(gold),
    }
    session.commit()
    return _out(draft)


# -- agreement ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldItem:
    """One human-graded answer; several reviewers' grades of one answer are averaged."""

    question_id: str
    answer: str
    score: float
    turn_id: int | None


def gold_set(*, session: Session, question_id: str | None = None) -> list[GoldItem]:
    stmt = select(HumanGrade).order_by(HumanGrade.id)
    if question_id is not None:
        stmt = stmt.where(HumanGrade.question_id == question_id)
    grouped: dict[tuple[str, str], list[HumanGrade]] = {}
    for g in session.scalars(stmt):
        grouped.setdefault((g.question_id, g.answer), []).append(g)
    return [
        GoldItem(
            question_id=qid,
            answer=answer,
            score=round(sum(g.score for g in grades) / len(grades), 3),
            turn_id=grades[0].turn_id,
        )
        for (qid, answer), grades in grouped.items()
    ]


def _gold_digest(gold: Sequence[GoldItem]) -> str:
    h = hashlib.sha256()
    for g in sorted(gold, key=lambda g: (g.question_id, g.answer)):
        h.update(f"{g.question_id}\0{g.answer}\0{g.score}\n".encode())
    return h.hexdigest()[:16]


def agreement_stats(predicted: Sequence[float], human: Sequence[float]) -> AgreementStats:
    """Pearson, QWK (on rounded 0-10 values), MAE and bias; raw values, nothing fitted."""
    n = len(predicted)
    if n == 0:
        return AgreementStats(n=0)
    p = np.asarray(predicted, dtype=float)
    h = np.asarray(human, dtype=float)
    pearson = float(np.corrcoef(p, h)[0, 1]) if n >= 2 and p.std() > 0 and h.std() > 0 else None
    qwk = (
        quadratic_weighted_kappa(
            np.clip(np.rint(p), 0, 10).astype(int), np.clip(np.rint(h), 0, 10).astype(int), 0, 10
        )
        if n >= 2
        else None
    )
    return AgreementStats(
        n=n,
        pearson=None if pearson is None else round(pearson, 4),
        qwk=None if qwk is None else round(qwk, 4),
        mae=round(float(np.abs(p - h).mean()), 4),
        bias=round(float((p - h).mean()), 4),
    )


def _rubric_set(questions: dict[str, tuple[Question, int]]) -> dict[str, Rubric]:
    return {qid: Rubric.from_question(q, version=v) for qid, (q, v) in questions.items()}


def _score_gold(scorer: Scorer, rubrics: dict[str, Rubric], gold: Sequence[GoldItem]) -> AgreementStats:
    items = [g for g in gold if g.question_id in rubrics]
    scores = scorer.score_many([(rubrics[g.question_id], g.answer) for g in items]) if items else []
    return agreement_stats([s.value for s in scores], [g.score for g in items])


def _needs_work(stats: AgreementStats) -> float:
    """Worse agreement ranks higher: mean absolute error plus what QWK lacks of 1, weighted by evidence."""
    if stats.n == 0:
        return 0.0
    qwk = stats.qwk if stats.qwk is not None else 0.0
    return round(((stats.mae or 0.0) / 10 + (1 - qwk)) * min(1.0, stats.n / 5), 4)


def agreement_report(*, session: Session, scorer: Scorer) -> AgreementReport:
    published = published_questions(session)
    rubrics = _rubric_set(published)
    gold = [g for g in gold_set(session=session) if g.question_id in rubrics]
    scores = scorer.score_many([(rubrics[g.question_id], g.answer) for g in gold]) if gold else []
    by_q: dict[str, tuple[list[float], list[float]]] = {}
    for g, s in zip(gold, scores, strict=True):
        pred, human = by_q.setdefault(g.question_id, ([], []))
        pred.append(s.value)
        human.append(g.score)
    questions = []
    for qid, (pred, human) in by_q.items():
        q = published[qid][0]
        stats = agreement_stats(pred, human)
        questions.append(
            QuestionAgreement(
                question_id=qid, topic=q.topic, text=q.text, stats=stats, needs_work=_needs_work(stats)
            )
        )
    questions.sort(key=lambda a: (-a.needs_work, a.question_id))
    overall = agreement_stats([s.value for s in scores], [g.score for g in gold])
    return AgreementReport(overall=overall, questions=questions)


def list_questions(*, session: Session, scorer: Scorer) -> list[ReviewQuestion]:
    """Every question with its version, draft state, answer counts and agreement; worst agreement first."""
    published = published_questions(session)
    drafts = set(draft_questions(session))
    report = {a.question_id: a for a in agreement_report(session=session, scorer=scorer).questions}
    graded = dict(
        session.execute(select(HumanGrade.question_id, func.count()).group_by(HumanGrade.question_id)).all()
    )
    answers = dict(
        session.execute(
            select(Turn.question_id, func.count())
            .where(Turn.is_follow_up.is_(False))
            .group_by(Turn.question_id)
        ).all()
    )
    out = [
        ReviewQuestion(
            id=qid,
            topic=q.topic,
            level=q.level.value,
            text=q.text,
            version=v,
            has_draft=qid in drafts,
            graded=int(graded.get(qid, 0)),
            answers=int(answers.get(qid, 0)),
            stats=report[qid].stats if qid in report else None,
            needs_work=report[qid].needs_work if qid in report else None,
        )
        for qid, (q, v) in published.items()
    ]
    out.sort(key=lambda r: (-(r.needs_work or -1.0), r.topic, r.id))
    return out


# -- what-if -----------------------------------------------------------------------------------


def whatif(*, session: Session, scorer: Scorer, question_id: str) -> WhatIfOut:
    """Score the samples, the stored answers and the graded answers with the current rubric and the draft."""
    started = time.perf_counter()
    draft = draft_row(session, question_id)
    if draft is None:
        raise Conflict(f"question {question_id!r} has no draft: PUT one first")
    current_q, current_v = current_question(session=session, question_id=question_id)
    current = Rubric.from_question(current_q, version=current_v)
    proposed = Rubric.from_question(question_of(draft), version=draft.version)

    rows: list[dict[str, Any]] = [
        {"kind": "sample", "label": s.label.value, "answer": s.text, "human": s.score}
        for s in current_q.sample_answers
    ]
    gold = {g.answer: g for g in gold_set(session=session, question_id=question_id)}
    seen: set[str] = set()
    stored = session.scalars(
        select(Turn)
        .where(Turn.question_id == question_id, Turn.is_follow_up.is_(False))
        .order_by(Turn.id.desc())
        .limit(_MAX_STORED)
    ).all()
    for t in stored:
        if t.answer in seen:
            continue
        seen.add(t.answer)
        g = gold.get(t.answer)
        rows.append(
            {
                "kind": "graded" if g else "answer",
                "turn_id": t.id,
                "answer": t.answer,
                "human": g.score if g else None,
            }
        )
    for answer, g in gold.items():
        if answer not in seen:
            rows.append({"kind": "graded", "turn_id": g.turn_id, "answer": answer, "human": g.score})

    before = scorer.cache.encoded
    scores = scorer.score_many([(r, row["answer"]) for row in rows for r in (current, proposed)])
    encoded = scorer.cache.encoded - before
    table: list[WhatIfRow] = []
    for i, row in enumerate(rows):
        old, new = scores[2 * i], scores[2 * i + 1]
        table.append(
            WhatIfRow(
                **row,
                current=old.value,
                draft=new.value,
                delta=round(new.value - old.value, 3),
                current_band=old.band,
                draft_band=new.band,
            )
        )

    def stats(kind: str) -> dict[str, AgreementStats]:
        picked = [r for r in table if r.kind == kind and r.human is not None]
        human = [r.human for r in picked if r.human is not None]
        return {
            "current": agreement_stats([r.current for r in picked], human),
            "draft": agreement_stats([r.draft for r in picked], human),
        }

    graded = stats("graded")
    change: dict[str, float | None] = {}
    for metric in ("pearson", "qwk", "mae", "bias"):
        a, b = getattr(graded["current"], metric), getattr(graded["draft"], metric)
        change[metric] = None if a is None or b is None else round(b - a, 4)
    return WhatIfOut(
        question_id=question_id,
        current_version=current_v,
        draft_version=draft.version,
        rows=table,
        graded=graded,
        samples=stats("sample"),
        change=change,
        encoded=encoded,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )


# -- grading queue and grades ------------------------------------------------------------------


def _uncertainty(score: ScoreResult) -> tuple[float, list[str]]:
    """How unsure the scorer is: near a band cut-off, key points on the coverage threshold, or
    coverage and whole-answer similarity telling different stories."""
    reasons: list[str] = []
    nearest = min(abs(score.value - b) for b in _BOUNDARIES)
    boundary = max(0.0, 1.0 - nearest / 1.5)
    if boundary > 0.5:
        reasons.append(f"{score.value:.1f} is near a band boundary")
    covered_at = Params().covered_at
    points = score.key_points
    borderline = sum(abs(k.similarity - covered_at) < 0.06 for k in points) / len(points) if points else 0.0
    if borderline >= 0.25:
        reasons.append(f"{borderline:.0%} of key points sit on the coverage threshold")
    disagreement = abs(score.coverage - score.similarity)
    if disagreement > 0.35:
        reasons.append(f"coverage {score.coverage:.2f} vs reference similarity {score.similarity:.2f}")
    if score.flags:
        reasons.append("flags: " + ", ".join(score.flags))
    return round(boundary + borderline + disagreement + 0.2 * bool(score.flags), 4), reasons


def queue(*, session: Session, limit: int = 20, question_id: str | None = None) -> list[QueueItem]:
    """Ungraded answers to main questions, the ones the scorer is least sure about first."""
    graded = select(HumanGrade.turn_id).where(HumanGrade.turn_id.is_not(None))
    stmt = (
        select(Turn)
        .where(Turn.is_follow_up.is_(False), Turn.id.not_in(graded))
        .order_by(Turn.id.desc())
        .limit(_QUEUE_SCAN)
    )
    if question_id is not None:
        stmt = stmt.where(Turn.question_id == question_id)
    items: list[QueueItem] = []
    for t in session.scalars(stmt):
        try:
            score = ScoreResult.model_validate(t.score)
        except ValidationError:
            continue  # a score from an older scorer shape: nothing to rank it by
        priority, reasons = _uncertainty(score)
        items.append(
            QueueItem(
                turn_id=t.id,
                question_id=t.question_id,
                question=t.asked_text,
                answer=t.answer,
                value=score.value,
                band=score.band.value,
                priority=priority,
                reasons=reasons,
                created_at=t.created_at,
            )
        )
    items.sort(key=lambda i: (-i.priority, -i.turn_id))
    return items[:limit]


def _grade_out(g: HumanGrade) -> GradeOut:
    return GradeOut(
        id=g.id,
        turn_id=g.turn_id,
        question_id=g.question_id,
        answer=g.answer,
        score=g.score,
        note=g.note,
        grader=g.grader,
        created_at=g.created_at,
    )


def add_grade(*, session: Session, turn_id: int, score: float, note: str, grader: str) -> GradeOut:
    """Grade a stored answer; grading it again (same reviewer) replaces the earlier grade."""
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise NotFound(f"no stored answer with turn id {turn_id}")
    if turn.is_follow_up:
        raise InvalidInput(
            "turn_id: only answers to main questions are graded (follow-ups have their own rubric)"
        )
    row = session.scalars(
        select(HumanGrade).where(HumanGrade.turn_id == turn_id, HumanGrade.grader == grader)
    ).first()
    if row is None:
        row = HumanGrade(turn_id=turn_id, question_id=turn.question_id, answer=turn.answer, grader=grader)
        session.add(row)
    row.score = score
    row.note = note
    row.created_at = utcnow()
    session.commit()
    return _grade_out(row)


def gold_csv(*, session: Session) -> str:
    """The gold set in the `eval` CSV format: question, reference_answer, answer, score."""
    published = published_questions(session)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["question", "reference_answer", "answer", "score", "question_id"])
    for g in gold_set(session=session):
        q = published.get(g.question_id)
        if q is None:
            continue
        writer.writerow([q[0].text, q[0].reference_answer, g.answer, g.score, g.question_id])
    return buf.getvalue()


# -- CI check ----------------------------------------------------------------------------------


def check(
    *,
    session: Session,
    scorer: Scorer,
    candidate: Bank | None = None,
    use_drafts: bool = False,
    metric: str = "qwk",
    margin: float = 0.02,
) -> CheckResult:
    """Does a rubric set agree with the gold set at least as well as the last published state did?

    The candidate is the given bank (e.g. the YAML files in a pull request), or the published set
    with open drafts applied. The baseline is the agreement stored at the last publish, recomputed
    from the published set when the gold set changed since.
    """
    if metric not in ("qwk", "pearson", "mae"):
        raise InvalidInput("metric: one of qwk, pearson, mae")
    gold = gold_set(session=session)
    if not gold:
        raise InvalidInput("the gold set is empty: grade some answers first (GET /v1/review/queue)")
    published = published_questions(session)
    last = session.scalars(
        select(RubricVersion)
        .where(RubricVersion.published_at.is_not(None), RubricVersion.agreement.is_not(None))
        .order_by(RubricVersion.published_at.desc(), RubricVersion.id.desc())
        .limit(1)
    ).first()
    stored = last.agreement if last is not None else None
    if stored is not None and stored.get("gold_digest") == _gold_digest(gold):
        baseline = AgreementStats.model_validate(stored["overall"])
        baseline_source = f"stored at the publish of {last.question_id} v{last.version}"  # type: ignore[union-attr]
    else:
        baseline = _score_gold(scorer, _rubric_set(published), gold)
        baseline_source = "published rubrics, recomputed (the gold set changed since the last publish)"
    proposed = dict(published)
    sources = ["published rubrics"]
    if candidate is not None:
        proposed.update({qid: (q, 0) for qid, q in candidate.questions.items()})
        sources = ["bank files"]
    if use_drafts:
        proposed.update(draft_questions(session))
        sources.append("open drafts")
    candidate_source = " + ".join(sources)
    now = _score_gold(scorer, _rubric_set(proposed), gold)
    a, b = getattr(baseline, metric), getattr(now, metric)
    if a is None or b is None:
        ok = True
    elif metric == "mae":
        ok = b <= a + margin
    else:
        ok = b >= a - margin
    return CheckResult(
        ok=ok,
        metric=metric,
        margin=margin,
        baseline=baseline,
        baseline_source=baseline_source,
        candidate=now,
        candidate_source=candidate_source,
    )


# -- export ------------------------------------------------------------------------------------


class _BankDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """YAML the way the bank is written: long prose folded, short lists inline."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:  # the C dumper takes the same nodes
    if len(value) > 80 and "\n" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BankDumper.add_representer(str, _str)


def _clean(q: Question) -> dict[str, Any]:
    data = q.model_dump(mode="json", exclude_defaults=True)
    return {k: data[k] for k in Question.model_fields if k in data}


def export_bank(*, session: Session, bank: Bank, out_dir: Path) -> list[Path]:
    """Write the current version of every question to <topic>.yaml files in out_dir."""
    published = published_questions(session)
    by_topic: dict[str, list[Question]] = {}
    for qid, q in bank.questions.items():
        by_topic.setdefault(q.topic, []).append(published.get(qid, (q, 0))[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, questions in sorted(by_topic.items()):
        doc = {
            "topic": topic,
            "title": bank.topics.get(topic, topic),
            "questions": [_clean(q) for q in questions],
        }
        path = out_dir / f"{topic}.yaml"
        path.write_text(
            yaml.dump(doc, Dumper=_BankDumper, sort_keys=False, allow_unicode=True, width=96),
            encoding="utf-8",
        )
        written.append(path)
    return written
