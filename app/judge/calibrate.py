"""Fit the judged calibration: the blend of embedding signals and P(correct), and the threshold.

Fitted on the bank's graded samples and SemEval's training answers only (never on anything else):
- keyed_judged: weights (non-negative, within each question) and a monotone map on the bank's
  samples scored against their full rubrics;
- free_form_judged: weights from SemEval training answers within each question (correct or not),
  the map on the bank samples scored free-form plus those SemEval answers by their labels, with the
  minimum slope chosen on held-out questions, as for the embedding-only free-form mode;
- contradiction_below: the highest P(correct) threshold that flags at most `max_flagged_right` of
  the right answers (bank strong samples, SemEval "correct") while it flags wrong ones.
`bank_folds` reports the bank targets on questions held out of the keyed fit.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.bank.models import Bank, Question, SampleAnswer, SampleLabel
from app.judge.base import Judge, Progress
from app.judge.service import lift_bound, needs_judge, points_value, verdicts
from app.scoring.calibration import (
    JUDGED_MODES,
    JUDGED_SIGNALS,
    KEYED_JUDGED_SIGNALS,
    Calibration,
    ModeCalibration,
    choose_min_slope,
    fit_map,
    fit_weights,
)
from app.scoring.evaluation import SEMEVAL_GRADES, _read_semeval, score_free_form
from app.scoring.schemas import Rubric, ScoreResult
from app.scoring.scorer import Scorer

__all__ = [
    "JudgedRow",
    "bank_folds",
    "calibrate_judged",
    "choose_threshold",
    "judged_rows",
    "judged_work",
    "verdicts_path",
]


def verdicts_path(calibration_path: Path) -> Path:
    """Where the verdicts a calibration was fitted on are kept: beside it (gzipped JSON lines)."""
    return calibration_path.with_name("verdicts.jsonl.gz")


THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.02, 0.62, 0.02))
FREE_FORM_FLAG_RATES = (0.01, 0.02, 0.03, 0.05)


@dataclass
class JudgedRow:
    """One graded answer: its embedding score, the judge's P(correct) (None: not judged) and grade."""

    group: tuple[str, str]  # (source, question id): folds and within-question weights split by it
    score: ScoreResult
    p: float | None
    target: float  # 0-10
    right: bool  # a strong sample, or SemEval "correct"
    wrong: bool  # a wrong sample, or SemEval "contradictory"/"incorrect"
    label: str = ""
    points: float | None = None  # the key points' weighted P(stated) (keyed rubrics only)
    other_question_checked: bool = False  # the other-question guard looked at the answer

    def features(self) -> dict[str, float]:
        out = {**self.score.components, "judge": self.p if self.p is not None else 0.0}
        if self.points is not None:
            out["judge_points"] = self.points
        return out


def judged_rows(
    scorer: Scorer,
    judge: Judge,
    items: Sequence[tuple[Rubric, str]],
    meta: Sequence[tuple[tuple[str, str], float, bool, bool, str]],
    *,
    free_form: bool = False,
    progress: Progress | None = None,
) -> list[JudgedRow]:
    scores = (
        score_free_form(scorer, [(r.question, r.reference_answers, a) for r, a in items])
        if free_form
        else scorer.score_many(list(items))
    )
    todo = [i for i, s in enumerate(scores) if needs_judge(s)]
    texts = {i: scorer.clean_text(items[i][1]) for i in todo}
    # Keyed rubrics: also one question per key point (asked right after the answer's verdict, so the
    # answer's evaluation is reused).
    found = verdicts(judge, [(items[i][0], texts[i], not free_form) for i in todo], progress=progress)
    p_of = {i: p for i, (p, _) in zip(todo, found, strict=True)}
    points_of = {i: points_value(items[i][0], points) for i, (_, points) in zip(todo, found, strict=True)}
    return [
        JudgedRow(
            group=g,
            score=s,
            p=p_of.get(i),
            target=t,
            right=right,
            wrong=wrong,
            label=label,
            points=points_of.get(i),
            other_question_checked=scorer.checks_other_questions(items[i][0]),
        )
        for i, (s, (g, t, right, wrong, label)) in enumerate(zip(scores, meta, strict=True))
    ]


def _bank_questions(bank: Bank, questions: int | None) -> list[Question]:
    """All questions, or a seeded sample of `questions` of them."""
    if questions is None:
        return list(bank.questions.values())
    ids = sorted(bank.questions)
    random.Random(5).shuffle(ids)
    keep = set(ids[:questions])
    return [q for q in bank.questions.values() if q.id in keep]


def judged_work(
    bank: Bank, semeval_rows: int, bank_questions: int | None, *, keyed_only: bool = False
) -> int:
    """How many questions `calibrate_judged` asks the judge at most (for a progress bar): each keyed
    answer's verdict and one per key point."""
    keyed = sum(len(q.sample_answers) * (1 + len(q.key_points)) for q in bank.questions.values())
    if keyed_only:
        return keyed
    free = sum(len(q.sample_answers) for q in _bank_questions(bank, bank_questions))
    return keyed + free + semeval_rows


def _bank_items(
    bank: Bank, *, free_form: bool, questions: int | None = None
) -> tuple[list[tuple[Rubric, str]], list[tuple[tuple[str, str], float, bool, bool, str]]]:
    samples: list[tuple[Question, SampleAnswer]] = [
        (q, s) for q in _bank_questions(bank, questions) for s in q.sample_answers
    ]
    items = [
        (
            Rubric(question=q.text, reference_answers=(q.reference_answer,))
            if free_form
            else Rubric.from_question(q),
            s.text,
        )
        for q, s in samples
    ]
    meta = [
        (
            ("bank", q.id),
            s.score,
            s.label is SampleLabel.strong,
            s.label is SampleLabel.wrong,
            s.label.value,
        )
        for q, s in samples
    ]
    return items, meta


def _semeval_items(
    semeval_dir: Path, rows: int
) -> tuple[list[tuple[Rubric, str]], list[tuple[tuple[str, str], float, bool, bool, str]]]:
    train = [r for r in _read_semeval(semeval_dir / "semeval2013_flat.csv") if r["split"] == "train"]
    picked = random.Random(13).sample(train, min(rows, len(train)))
    items = [
        (
            Rubric(question=r["question"], reference_answers=tuple(r["reference_answers"].split(" || "))),
            r["student_answer"],
        )
        for r in picked
    ]
    meta = []
    for r in picked:
        label = r["label_5way"] or r["label_3way"]
        meta.append(
            (
                (r["corpus"], r["question_id"]),
                SEMEVAL_GRADES[label],
                r["label_2way"] == "correct",
                label in ("contradictory", "incorrect"),
                label,
            )
        )
    return items, meta


def _judged(rows: Sequence[JudgedRow]) -> list[JudgedRow]:
    return [r for r in rows if r.p is not None]


def fit_judged_mode(
    rows: Sequence[JudgedRow],
    *,
    weight_rows: Sequence[JudgedRow] | None = None,
    binary_weights: bool = False,
    min_slope: float = 0.0,
    signals: Sequence[str] = JUDGED_SIGNALS,
) -> ModeCalibration:
    """Weights over the embedding signals and P(correct), fitted within each question on
    `weight_rows` (default: `rows`), then the monotone map on `rows`."""
    wr = _judged(weight_rows if weight_rows is not None else rows)
    target = [10.0 * r.right if binary_weights else r.target for r in wr]
    weights = fit_weights([r.features() for r in wr], target, groups=[r.group for r in wr], signals=signals)
    mode = ModeCalibration(weights=weights, xs=(0.0, 1.0), ys=(0.0, 10.0))
    mr = _judged(rows)
    xs, ys = fit_map([mode.raw(r.features()) for r in mr], [r.target for r in mr], min_slope=min_slope)
    return ModeCalibration(weights=weights, xs=xs, ys=ys)


def choose_threshold(rows: Sequence[JudgedRow], *, max_flagged_right: float) -> tuple[float, dict[str, Any]]:
    """The highest threshold on P(correct) that flags at most `max_flagged_right` of right answers;
    with it, the share of right and wrong answers flagged, per source."""
    jr = _judged(rows)
    right = np.array([r.p for r in jr if r.right], dtype=float)
    best = 0.0
    for t in THRESHOLDS:
        if right.size and float((right < t).mean()) <= max_flagged_right:
            best = t
    report: dict[str, Any] = {"max_flagged_right": max_flagged_right, "threshold": best}
    for source in sorted({r.group[0] if r.group[0] == "bank" else "semeval" for r in jr}):
        sub = [r for r in jr if (r.group[0] == "bank") == (source == "bank")]
        for kind in ("right", "wrong"):
            ps = [r.p for r in sub if getattr(r, kind) and r.p is not None]
            if ps:
                report[f"{source}_{kind}_flagged"] = round(float(np.mean([p < best for p in ps])), 4)
    return best, report


def _finish(scorer: Scorer, row: JudgedRow, value: float, threshold: float) -> float:
    """The judged value after the guards' caps and the contradiction cap, as `apply_verdict` gives it
    (a low answer the other-question guard could not look at is held at that guard's cap)."""
    flags = list(row.score.flags)
    value = min(value, lift_bound(scorer, row.score, guard_looked=row.other_question_checked))
    if row.p is not None and row.p < threshold:
        flags.append("contradicts_reference")
        value = min(value, row.score.value)
    return scorer.capped(value, flags)


def _finish_row(scorer: Scorer, rows: Sequence[JudgedRow], threshold: float, i: int, value: float) -> float:
    return _finish(scorer, rows[i], value, threshold)


def _bank_targets(bank: Bank, values: dict[tuple[str, int], float]) -> dict[str, Any]:
    strong = [
        values[(q.id, i)]
        for q in bank.questions.values()
        for i, s in enumerate(q.sample_answers)
        if s.label is SampleLabel.strong
    ]
    partial_over_wrong = ordered = 0
    for q in bank.questions.values():
        by: dict[str, list[float]] = {}
        for i, s in enumerate(q.sample_answers):
            by.setdefault(s.label.value, []).append(values[(q.id, i)])
        st, pa, wr = (float(np.mean(by[k])) for k in ("strong", "partial", "wrong"))
        partial_over_wrong += pa > wr
        ordered += st > pa > wr
    return {
        "strong_at_least_7": round(sum(v >= 7 for v in strong) / len(strong), 4),
        "partial_above_wrong": partial_over_wrong,
        "strong_partial_wrong_ordered": ordered,
        "questions": len(bank.questions),
    }


def bank_folds(
    scorer: Scorer, bank: Bank, rows: Sequence[JudgedRow], threshold: float, *, folds: int = 5
) -> dict[str, Any]:
    """Bank targets with the keyed blend fitted on the other folds' questions (held-out figures),
    beside the embedding-only value (its keyed map fitted the same way, for a like comparison)."""
    ids = sorted(bank.questions)
    random.Random(0).shuffle(ids)
    fold_of = {q: i % folds for i, q in enumerate(ids)}
    index = [(q.id, i) for q in bank.questions.values() for i in range(len(q.sample_answers))]
    judged: dict[tuple[str, int], float] = {}
    plain: dict[tuple[str, int], float] = {}
    for f in range(folds):
        train = [r for r in rows if fold_of[r.group[1]] != f]
        mode = fit_judged_mode(train, signals=KEYED_JUDGED_SIGNALS)
        emb = [r for r in train if r.score.components]
        emb_w = fit_weights([r.score.components for r in emb], [r.target for r in emb])
        emb_mode = ModeCalibration(weights=emb_w, xs=(0.0, 1.0), ys=(0.0, 10.0))
        emb_xs, emb_ys = fit_map([emb_mode.raw(r.score.components) for r in emb], [r.target for r in emb])
        for key, r in zip(index, rows, strict=True):
            if fold_of[r.group[1]] != f:
                continue
            if not r.score.components:
                judged[key] = plain[key] = r.score.value
                continue
            e = float(np.interp(emb_mode.raw(r.score.components), emb_xs, emb_ys))
            plain[key] = scorer.capped(e, r.score.flags)
            if r.p is None:
                judged[key] = plain[key]
            else:
                judged[key] = _finish(scorer, r, mode.apply(mode.raw(r.features())), threshold)
    return {
        "folds": folds,
        "judged": _bank_targets(bank, judged),
        "embedding": _bank_targets(bank, plain),
        "in_sample_embedding": _bank_targets(
            bank, {k: r.score.value for k, r in zip(index, rows, strict=True)}
        ),
    }


def _refit_keyed(
    scorer: Scorer,
    judge: Judge,
    bank: Bank,
    keyed: Sequence[JudgedRow],
    *,
    max_flagged_right: float,
    log: Callable[[str], None] | None,
) -> Calibration:
    base = scorer.calibration
    if JUDGED_MODES["free_form"] not in base.modes or "free_form" not in base.contradiction_below:
        raise ValueError("the keyed judged refit keeps a stored free-form judged mode: there is none")
    keyed_t, keyed_flagged = choose_threshold(keyed, max_flagged_right=max_flagged_right)
    modes = dict(base.modes)
    modes[JUDGED_MODES["keyed"]] = fit_judged_mode(keyed, signals=KEYED_JUDGED_SIGNALS)
    judge_meta = dict(base.meta.get("judge", {}))
    judge_meta.update(
        {
            "model": judge.model_id,
            "prompt_version": judge.prompt_version,
            "bank_samples": len(keyed),
            "keyed_threshold": keyed_flagged,
            "keyed_refit_alone": True,
            "bank_held_out": bank_folds(scorer, bank, keyed, keyed_t),
        }
    )
    cal = Calibration(
        name=base.name,
        modes=modes,
        meta={**base.meta, "judge": judge_meta},
        contradiction_below={**base.contradiction_below, "keyed": keyed_t},
    )
    if log:
        log(f"thresholds {cal.contradiction_below}")
    return cal


def calibrate_judged(
    scorer: Scorer,
    judge: Judge,
    bank: Bank,
    *,
    semeval_dir: Path | None,
    semeval_rows: int = 1200,
    bank_questions: int | None = None,
    max_flagged_right: float = 0.01,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    keyed_only: bool = False,
) -> Calibration:
    """The scorer's calibration with the judged modes and threshold added (its own modes kept);
    `keyed_only` refits the keyed blend and threshold and keeps the stored free-form ones."""
    items, item_meta = _bank_items(bank, free_form=False)
    keyed = judged_rows(scorer, judge, items, item_meta, progress=progress)
    if keyed_only:
        return _refit_keyed(scorer, judge, bank, keyed, max_flagged_right=max_flagged_right, log=log)
    ff_items, ff_meta = _bank_items(bank, free_form=True, questions=bank_questions)
    free = judged_rows(scorer, judge, ff_items, ff_meta, free_form=True, progress=progress)
    sem: list[JudgedRow] = []
    if semeval_dir is not None:
        s_items, s_meta = _semeval_items(semeval_dir, semeval_rows)
        sem = judged_rows(scorer, judge, s_items, s_meta, free_form=True, progress=progress)
    # Keyed (bank rubrics): the flag says "wrong", so it may hit at most 1% of the strong samples.
    keyed_t, keyed_flagged = choose_threshold(keyed, max_flagged_right=max_flagged_right)
    modes = dict(scorer.calibration.modes)
    modes[JUDGED_MODES["keyed"]] = fit_judged_mode(keyed, signals=KEYED_JUDGED_SIGNALS)
    # Free form: short references and school answers leave the judge less sure of right answers; the
    # share of right answers the flag may hit (1-5%) and the map's minimum slope are chosen together,
    # by Pearson on questions held out of the fit.
    ff_rows = [*free, *sem]
    ff_weights_from = sem or free
    mode0 = fit_judged_mode(ff_rows, weight_rows=ff_weights_from, binary_weights=bool(sem))
    jr = _judged(ff_rows)
    unmapped = ModeCalibration(weights=mode0.weights, xs=(0.0, 1.0), ys=(0.0, 10.0))
    tried: dict[str, Any] = {}
    best: tuple[float, float, float, dict[str, Any]] | None = None  # pearson, threshold, slope, flagged
    for rate in FREE_FORM_FLAG_RATES:
        t, flagged = choose_threshold(ff_rows, max_flagged_right=rate)
        slope, by_slope = choose_min_slope(
            [unmapped.raw(r.features()) for r in jr],
            [r.target for r in jr],
            [r.group for r in jr],
            finish=functools.partial(_finish_row, scorer, jr, t),
        )
        pearson = by_slope[f"{slope:g}"]
        tried[f"{rate:g}"] = {"threshold": t, "min_slope": slope, "pearson": pearson}
        if best is None or pearson > best[0]:
            best = (pearson, t, slope, flagged)
    assert best is not None
    _, free_t, slope, free_flagged = best
    modes[JUDGED_MODES["free_form"]] = fit_judged_mode(
        ff_rows, weight_rows=ff_weights_from, binary_weights=bool(sem), min_slope=slope
    )
    threshold = keyed_t
    base = scorer.calibration
    meta: dict[str, Any] = {
        **base.meta,
        "judge": {
            "model": judge.model_id,
            "prompt_version": judge.prompt_version,
            "bank_samples": len(keyed),
            "bank_free_form_samples": len(free),
            "semeval_train_answers": len(sem),
            "semeval_seed": 13,
            "free_form_min_slope": slope,
            "free_form_flag_rates_tried": tried,
            "keyed_threshold": keyed_flagged,
            "free_form_threshold": free_flagged,
        },
    }
    cal = Calibration(
        name=base.name,
        modes=modes,
        meta=meta,
        contradiction_below={"keyed": keyed_t, "free_form": free_t},
    )
    meta["judge"]["bank_held_out"] = bank_folds(scorer, bank, keyed, threshold)
    if log:
        log(f"thresholds {cal.contradiction_below}")
    return cal
