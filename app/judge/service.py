"""How the judge's verdict enters the score: a calibrated blend, a contradiction cap, named sentences.

The embedding scorer measures how much of the rubric an answer covers; the judge says whether what
it says is right. The judged calibration modes map the embedding signals plus P(correct) to 0-10
(monotone in each); below the calibration's threshold the answer is flagged `contradicts_reference`,
capped (weak band), its rejected sentences are named and the key points they "covered" are not
shown as covered. The guards stay: an answer they capped (off topic, echo, keyword list, another
question's answer) is not judged at all, and an answer that talks to the grader is never lifted.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from app.judge.base import Judge, JudgeItem, JudgeUnavailable, Progress
from app.llm.judge import addresses_grader
from app.scoring.calibration import Calibration
from app.scoring.schemas import Contradiction, JudgeInfo, Rubric, ScoreResult
from app.scoring.scorer import Scorer

__all__ = [
    "NOT_JUDGED",
    "apply_verdict",
    "degraded",
    "judge_item",
    "judge_score",
    "judge_scores",
    "lift_bound",
    "needs_judge",
    "point_items",
    "points_value",
    "sentences_of",
    "verdicts",
    "wants_points",
]

log = logging.getLogger(__name__)

# Answers the guards already hold down, or that say nothing: the judge is not asked.
NOT_JUDGED = frozenset({"empty", "dont_know", "off_topic", "echo", "keyword_list", "other_question"})
_MAX_SENTENCES = 8


def judge_item(rubric: Rubric, answer: str) -> JudgeItem:
    """What the judge sees: the question, the first reference, the written key points, the answer."""
    return JudgeItem(
        question=rubric.question,
        reference_answer=rubric.reference_answers[0],
        answer=answer,
        key_points=tuple(k.text for k in rubric.key_points),
    )


def point_items(rubric: Rubric, answer: str) -> list[JudgeItem]:
    """One question per key point: does the answer state it? (in the rubric's order)"""
    item = judge_item(rubric, answer)
    return [dataclasses.replace(item, point=k.text) for k in rubric.key_points]


def verdicts(
    judge: Judge, asks: Sequence[tuple[Rubric, str, bool]], *, progress: Progress | None = None
) -> list[tuple[float, list[float]]]:
    """For each (rubric, answer, with key points): P(correct) and, when asked, P(stated) per key point,
    all in one pass (each answer's key-point questions right after its verdict)."""
    flat = [it for r, a, pts in asks for it in (judge_item(r, a), *(point_items(r, a) if pts else ()))]
    values = iter(judge.p_correct_many(flat, progress=progress))
    return [(next(values), [next(values) for _ in (r.key_points if pts else ())]) for r, _, pts in asks]


def points_value(rubric: Rubric, points: Sequence[float]) -> float | None:
    """The key points' P(stated), weighted as the rubric weighs them; None without them."""
    if not points or len(points) != len(rubric.key_points):
        return None
    weights = [k.weight for k in rubric.key_points]
    return sum(w * p for w, p in zip(weights, points, strict=True)) / sum(weights)


def wants_points(calibration: Calibration, rubric: Rubric) -> bool:
    """Ask about each key point only where the judged blend weighs the answers to those questions."""
    mode = calibration.judged_mode(Scorer.mode_name(rubric))
    return bool(rubric.key_points) and mode is not None and mode.weights.get("judge_points", 0.0) > 0


def sentences_of(text: str) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n+", text) if s.strip()]
    return [s for s in parts if len(s.split()) >= 3][:_MAX_SENTENCES]


def judged_value(
    calibration: Calibration, rubric: Rubric, score: ScoreResult, p: float, points: Sequence[float] = ()
) -> float | None:
    """The blend's value before caps, or None when the calibration has no judged mode."""
    mode = calibration.judged_mode(Scorer.mode_name(rubric))
    if mode is None:
        return None
    features = {**score.components, "judge": p}
    stated = points_value(rubric, points)
    if stated is not None:
        features["judge_points"] = stated
    return mode.apply(mode.raw(features))


def lift_bound(scorer: Scorer, score: ScoreResult, *, guard_looked: bool) -> float:
    """The most the judge may lift an answer to: one the embedding scores at or under the
    other-question cap stays there when that guard could not look at it (no bank question); where
    it looked and passed the answer, the judge may lift it."""
    cap = scorer.params.other_question_cap
    return cap if score.value <= cap and not guard_looked else 10.0


def apply_verdict(
    *,
    scorer: Scorer,
    rubric: Rubric,
    answer: str,
    score: ScoreResult,
    p: float,
    model: str,
    version: str,
    sentence_p: Sequence[tuple[str, float]] = (),
    points: Sequence[float] = (),
) -> ScoreResult:
    """The score with the judge's verdict in it (pure: evaluation and calibration replay it);
    `points` are P(the answer states it) for the rubric's key points, when they were asked."""
    calibration = scorer.calibration
    flags = list(score.flags)
    blended = judged_value(calibration, rubric, score, p, points)
    value = score.value if blended is None else scorer.capped(blended, flags)
    value = min(value, lift_bound(scorer, score, guard_looked=scorer.checks_other_questions(rubric)))
    if "injection" in flags or addresses_grader(answer):
        value = min(value, score.value)  # talk aimed at the grader never gains from the judge
    threshold = calibration.threshold(Scorer.mode_name(rubric))
    key_points = list(score.key_points)
    stated = points_value(rubric, points)
    if stated is not None:
        p_of = {k.id: q for k, q in zip(rubric.key_points, points, strict=True)}
        key_points = [
            k.model_copy(update={"judge_p": round(p_of[k.id], 4)}) if k.id in p_of else k for k in key_points
        ]
    contradictions: list[Contradiction] = []
    if threshold is not None and p < threshold:
        flags.append("contradicts_reference")
        value = scorer.capped(min(value, score.value), flags)  # a rejected answer never gains
        rejected = [(s, q) for s, q in sentence_p if q < threshold]
        if not rejected and sentence_p:
            rejected = [min(sentence_p, key=lambda sq: sq[1])]
        contradictions = [Contradiction(sentence=s, p_correct=round(q, 4)) for s, q in rejected]
        bad = [c.sentence for c in contradictions] or [answer]
        key_points = [
            k.model_copy(update={"covered": False, "status": "missing"})
            if k.evidence and any(k.evidence in s or s in k.evidence for s in bad)
            else k
            for k in key_points
        ]
    value = round(min(10.0, max(0.0, value)), 2)
    components = {**score.components, "embedding_value": score.value, "judge_p_correct": round(p, 4)}
    if stated is not None:
        components["judge_points"] = round(stated, 4)
    return score.model_copy(
        update={
            "value": value,
            "band": Scorer.band_for(value, flags),
            "flags": flags,
            "key_points": key_points,
            "judge": JudgeInfo(p_correct=round(p, 4), model=model, version=version),
            "contradictions": contradictions,
            "components": components,
        }
    )


def degraded(score: ScoreResult, reason: str) -> ScoreResult:
    """The embedding score unchanged in value, marked so the caller sees the judge did not run."""
    return score.model_copy(
        update={
            "flags": [*score.flags, "judge_degraded"],
            "degraded": True,
            "degraded_reason": reason,
        }
    )


def needs_judge(score: ScoreResult) -> bool:
    return not (set(score.flags) & NOT_JUDGED) and bool(score.components)


async def judge_score(
    *, judge: Judge | None, scorer: Scorer, rubric: Rubric, answer: str, score: ScoreResult
) -> ScoreResult:
    """The judged score; with no judge, the score as it is; with a failing one, degraded."""
    if judge is None or not needs_judge(score):
        return score
    if judge.uses_key_points:
        return await judge.key_point_score(rubric, answer, score)
    text = scorer.clean_text(answer)
    asked = point_items(rubric, text) if wants_points(scorer.calibration, rubric) else []
    try:
        [p, *points] = await judge.p_correct([judge_item(rubric, text), *asked])
        sentence_p: list[tuple[str, float]] = []
        threshold = scorer.calibration.threshold(Scorer.mode_name(rubric))
        if threshold is not None and p < threshold:
            sentences = sentences_of(text)
            if len(sentences) > 1:
                values = await judge.p_correct([judge_item(rubric, s) for s in sentences])
                sentence_p = list(zip(sentences, values, strict=True))
            elif sentences:
                sentence_p = [(sentences[0], p)]
    except JudgeUnavailable as exc:
        if judge.uses_key_points:  # learned just now: the server gives no logprobs
            return await judge.key_point_score(rubric, answer, score)
        log.warning("judge degraded, keeping the embedding score: %s", exc.message)
        return degraded(score, exc.message)
    return apply_verdict(
        scorer=scorer,
        rubric=rubric,
        answer=answer,
        score=score,
        p=p,
        model=judge.model_id,
        version=judge.prompt_version,
        sentence_p=sentence_p,
        points=points,
    )


def judge_scores(
    *,
    judge: Judge,
    scorer: Scorer,
    items: Sequence[tuple[Rubric, str, ScoreResult]],
    progress: Progress | None = None,
    sentences: bool = True,
) -> list[ScoreResult]:
    """Synchronous and batched, for evaluation and calibration: every answer that needs it judged
    in one pass (grouped by rubric), then the sentences of those below the threshold."""
    todo = [i for i, (_, _, s) in enumerate(items) if needs_judge(s)]
    texts = {i: scorer.clean_text(items[i][1]) for i in todo}
    wanted = [(items[i][0], texts[i], wants_points(scorer.calibration, items[i][0])) for i in todo]
    found = dict(zip(todo, verdicts(judge, wanted, progress=progress), strict=True))
    p_of = {i: p for i, (p, _) in found.items()}
    points_of = {i: points for i, (_, points) in found.items()}
    per_sentence: dict[int, list[tuple[str, float]]] = {}
    if sentences:
        thresholds = {i: scorer.calibration.threshold(Scorer.mode_name(items[i][0])) for i in todo}
        flagged = {
            i: sentences_of(texts[i]) for i in todo if (t := thresholds[i]) is not None and p_of[i] < t
        }
        asks = [(i, s) for i, ss in flagged.items() if len(ss) > 1 for s in ss]
        values = judge.p_correct_many([judge_item(items[i][0], s) for i, s in asks])
        for (i, s), v in zip(asks, values, strict=True):
            per_sentence.setdefault(i, []).append((s, v))
        for i, ss in flagged.items():
            if len(ss) == 1:
                per_sentence[i] = [(ss[0], p_of[i])]
    out = [s for _, _, s in items]
    for i in todo:
        rubric, answer, score = items[i]
        out[i] = apply_verdict(
            scorer=scorer,
            rubric=rubric,
            answer=answer,
            score=score,
            p=p_of[i],
            model=judge.model_id,
            version=judge.prompt_version,
            sentence_p=per_sentence.get(i, ()),
            points=points_of[i],
        )
    return out
