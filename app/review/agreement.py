"""Agreement with human grades: the gold set, per-question and overall agreement, the what-if
re-scoring of a draft, and the CI check that a rubric set got no worse."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bank.models import Bank, Question
from app.errors import Conflict, InvalidInput
from app.interviews.models import Turn
from app.review.models import HumanGrade
from app.review.schemas import (
    AgreementReport,
    AgreementStats,
    CheckResult,
    QuestionAgreement,
    ReviewQuestion,
    WhatIfOut,
    WhatIfRow,
)
from app.rubrics.models import RubricVersion
from app.rubrics.service import (
    current_question,
    draft_questions,
    draft_row,
    published_questions,
    question_of,
)
from app.scoring.evaluation import quadratic_weighted_kappa
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer

__all__ = [
    "GoldItem",
    "agreement_report",
    "agreement_stats",
    "check",
    "gold_digest",
    "gold_set",
    "list_questions",
    "rubric_set",
    "score_gold",
    "whatif",
]

_MAX_STORED = 200  # stored answers a what-if re-scores per question (the newest)


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


def gold_digest(gold: Sequence[GoldItem]) -> str:
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


def rubric_set(questions: dict[str, tuple[Question, int]]) -> dict[str, Rubric]:
    return {qid: Rubric.from_question(q, version=v) for qid, (q, v) in questions.items()}


def score_gold(scorer: Scorer, rubrics: dict[str, Rubric], gold: Sequence[GoldItem]) -> AgreementStats:
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
    rubrics = rubric_set(published)
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
    if stored is not None and stored.get("gold_digest") == gold_digest(gold):
        baseline = AgreementStats.model_validate(stored["overall"])
        baseline_source = f"stored at the publish of {last.question_id} v{last.version}"  # type: ignore[union-attr]
    else:
        baseline = score_gold(scorer, rubric_set(published), gold)
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
    now = score_gold(scorer, rubric_set(proposed), gold)
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
