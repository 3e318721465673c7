"""Measure the scorer against human grades: any CSV of graded answers, and SemEval-2013 Task 7."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from app.bank.models import Bank, Question, SampleAnswer
from app.scoring.calibration import (
    MODES,
    Calibration,
    ModeCalibration,
    choose_min_slope,
    fit_mode,
    fit_weights,
    stamp,
)
from app.scoring.schemas import Rubric, ScoreResult
from app.scoring.scorer import Scorer

__all__ = [
    "GradedAnswer",
    "calibrate",
    "agreement",
    "evaluate_csv",
    "evaluate_semeval",
    "quadratic_weighted_kappa",
    "read_graded_csv",
    "score_free_form",
    "semeval_rows",
    "semeval_train_size",
]

Progress = Callable[[int], None]


@dataclass(frozen=True)
class GradedAnswer:
    question: str
    reference_answer: str
    answer: str
    score: float


def read_graded_csv(path: Path) -> list[GradedAnswer]:
    """Rows with columns question, reference_answer, answer, score (extra columns are ignored)."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"question", "reference_answer", "answer", "score"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [
            GradedAnswer(r["question"], r["reference_answer"], r["answer"] or "", float(r["score"]))
            for r in reader
            if (r.get("score") or "").strip()
        ]


def free_form_rubric(question: str, reference_answers: str | Sequence[str]) -> Rubric:
    """The rubric POST /v1/score builds when given only a question and reference answer(s)."""
    refs = (reference_answers,) if isinstance(reference_answers, str) else tuple(reference_answers)
    return Rubric(question=question, reference_answers=refs)


def score_free_form(
    scorer: Scorer,
    items: Sequence[tuple[str, str | Sequence[str], str]],
    *,
    batch: int = 32,
    progress: Progress | None = None,
) -> list[ScoreResult]:
    """Score (question, reference(s), answer) triples through the same path as POST /v1/score."""
    out: list[ScoreResult] = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        out.extend(scorer.score_many([(free_form_rubric(q, r), a) for q, r, a in chunk]))
        if progress:
            progress(len(chunk))
    return out


def quadratic_weighted_kappa(a: Iterable[int], b: Iterable[int], lo: int, hi: int) -> float:
    x = np.asarray(list(a), dtype=int) - lo
    y = np.asarray(list(b), dtype=int) - lo
    n = hi - lo + 1
    observed = np.zeros((n, n))
    for i, j in zip(x, y, strict=True):
        observed[i, j] += 1
    hist_x, hist_y = observed.sum(axis=1), observed.sum(axis=0)
    expected = np.outer(hist_x, hist_y) / max(1, observed.sum())
    weights = (
        np.array([[(i - j) ** 2 / (n - 1) ** 2 for j in range(n)] for i in range(n)])
        if n > 1
        else np.zeros((1, 1))
    )
    denom = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denom) if denom else 1.0


def agreement(predicted: Sequence[float], human: Sequence[float], *, scale_max: float) -> dict[str, Any]:
    """Pearson and Spearman on the raw 0-10 values (nothing fitted); RMSE and QWK after a
    least-squares linear map onto the human scale, fitted on these same rows."""
    p = np.asarray(predicted, dtype=float)
    h = np.asarray(human, dtype=float)
    if len(p) < 3 or np.std(p) == 0 or np.std(h) == 0:
        pearson = spearman = float("nan")
    else:
        pearson = float(stats.pearsonr(p, h)[0])
        spearman = float(stats.spearmanr(p, h)[0])
    slope, intercept = np.polyfit(p, h, 1) if len(p) >= 2 and np.std(p) > 0 else (0.0, float(h.mean()))
    mapped = np.clip(slope * p + intercept, 0, scale_max)
    rmse = float(np.sqrt(np.mean((mapped - h) ** 2)))
    hi = int(round(scale_max))
    qwk = quadratic_weighted_kappa(np.rint(mapped).astype(int), np.clip(np.rint(h), 0, hi).astype(int), 0, hi)
    return {
        "n": len(p),
        "pearson": round(pearson, 4),
        "spearman": round(spearman, 4),
        "rmse": round(rmse, 4),
        "qwk": round(qwk, 4),
    }


# Rescores embedding results (the correctness judge): (rubric, answer, score) in, scores out.
Rescore = Callable[[Sequence[tuple[Rubric, str, ScoreResult]]], list[ScoreResult]]


def evaluate_csv(
    scorer: Scorer,
    rows: Sequence[GradedAnswer],
    *,
    scale_max: float,
    progress: Progress | None = None,
    rescore: Rescore | None = None,
) -> dict[str, Any]:
    """Agreement of the value with the grades; with `rescore` (the judge), of the judged value too,
    under "judged", beside the embedding-only figures."""
    start = time.perf_counter()
    results = score_free_form(
        scorer, [(r.question, r.reference_answer, r.answer) for r in rows], progress=progress
    )
    out = agreement([s.value for s in results], [r.score for r in rows], scale_max=scale_max)
    out["seconds"] = round(time.perf_counter() - start, 2)
    out["fit"] = "linear-in-sample"
    if rescore is not None:
        judged = rescore(
            [
                (free_form_rubric(r.question, r.reference_answer), r.answer, s)
                for r, s in zip(rows, results, strict=True)
            ]
        )
        out["judged"] = agreement([s.value for s in judged], [r.score for r in rows], scale_max=scale_max)
        out["judged"]["flagged_contradicts_reference"] = sum(
            "contradicts_reference" in s.flags for s in judged
        )
        out["seconds"] = round(time.perf_counter() - start, 2)
    return out


# --- SemEval-2013 Task 7 -------------------------------------------------------------------------

_SPLITS = ("test-unseen-answers", "test-unseen-questions", "test-unseen-domains")
_FEATURES = (
    "value",
    "coverage",
    "token_recall",
    "reference",
    "lexical",
    "question",
    "misconception",
    "judge_p_correct",
)


def _features(res: ScoreResult) -> list[float]:
    c = res.components
    return [
        res.value / 10,
        c.get("coverage", 0.0),
        c.get("token_recall", 0.0),
        c.get("reference", 0.0),
        c.get("lexical", 0.0),
        c.get("question", 0.0),
        float(bool(res.misconceptions)),
        res.judge.p_correct if res.judge is not None else 0.0,
    ]


# SemEval labels on the bank's 0-10 sample scale (its strong, partial and wrong samples average
# 8.6, 4.0 and 1.0), for fitting the free-form map: a correct answer scores like a strong sample,
# a partial one like a partial sample, a wrong one like a wrong one ("incorrect" in the 3-way
# task lumps partial, irrelevant and off-domain answers together).
SEMEVAL_GRADES = {
    "correct": 8.5,
    "partially_correct_incomplete": 4.0,
    "incorrect": 2.5,
    "contradictory": 1.0,
    "irrelevant": 0.0,
    "non_domain": 0.0,
}


def _pearson(values: Sequence[float], target: Sequence[float]) -> float | None:
    """Rounded Pearson, or None where it is undefined (too few rows, or constant values)."""
    if len(values) < 3 or np.std(values) == 0:
        return None
    return round(float(stats.pearsonr(values, target)[0]), 4)


def _grade(row: dict[str, str]) -> float:
    """A SemEval answer's label on the 0-10 grade scale (the 5-way label where the corpus has one)."""
    return SEMEVAL_GRADES[row["label_5way"] or row["label_3way"]]


def _read_semeval(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def semeval_train_size(data_dir: Path) -> int:
    """How many answers SemEval's training split holds."""
    return sum(r["split"] == "train" for r in _read_semeval(data_dir / "semeval2013_flat.csv"))


def semeval_rows(data_dir: Path, per_split: int | None = None) -> list[dict[str, str]]:
    """SemEval's answers, or a seeded sample of at most `per_split` from each corpus and split."""
    rows = _read_semeval(data_dir / "semeval2013_flat.csv")
    if per_split:
        import random

        groups: dict[tuple[str, str], list[dict[str, str]]] = {}
        for r in rows:
            groups.setdefault((r["corpus"], r["split"]), []).append(r)
        rng = random.Random(7)
        rows = [
            r for key in sorted(groups) for r in rng.sample(groups[key], min(per_split, len(groups[key])))
        ]
    return rows


def evaluate_semeval(
    scorer: Scorer,
    data_dir: Path,
    *,
    progress: Progress | None = None,
    per_split: int | None = None,
    rescore: Rescore | None = None,
) -> dict[str, Any]:
    """Accuracy, macro-F1 and weighted-F1 per corpus and test split, 2-way and 3-way; Pearson of
    the value with the graded label. With `rescore` (the judge), the same for the judged value
    under "judged".

    The scorer is used as is; only a small logistic-regression decision layer over its
    outputs (value and components) is fitted, on the training split of each corpus."""
    rows = semeval_rows(data_dir, per_split)
    start = time.perf_counter()
    items = [(r["question"], r["reference_answers"].split(" || "), r["student_answer"]) for r in rows]
    results = score_free_form(scorer, items, progress=progress)
    report: dict[str, Any] = {
        "features": list(_FEATURES),
        "fit": "logistic regression on training split",
        "per_split": per_split or "all",
        **_semeval_report(rows, results),
    }
    if rescore is not None:
        judged = rescore(
            [(free_form_rubric(q, r), a, res) for (q, r, a), res in zip(items, results, strict=True)]
        )
        report["judged"] = _semeval_report(rows, judged)
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def _semeval_report(rows: Sequence[dict[str, str]], results: Sequence[ScoreResult]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    report: dict[str, Any] = {}
    for corpus in sorted({r["corpus"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["corpus"] == corpus]
        train = [i for i in idx if rows[i]["split"] == "train"]
        if not train:
            continue
        tests = {split: [i for i in idx if rows[i]["split"] == split] for split in _SPLITS}
        for task, col in (("2way", "label_2way"), ("3way", "label_3way")):
            x_train = np.array([_features(results[i]) for i in train])
            y_train = [rows[i][col] for i in train]
            if len(set(y_train)) < 2:
                continue
            clf = LogisticRegression(max_iter=2000, class_weight=None).fit(x_train, y_train)
            for split, test in tests.items():
                if not test:
                    continue
                y_true = [rows[i][col] for i in test]
                y_pred = clf.predict(np.array([_features(results[i]) for i in test]))
                report[f"{corpus}/{split}/{task}"] = {
                    "n": len(test),
                    "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
                    "macro_f1": round(float(f1_score(y_true, y_pred, average="macro")), 4),
                    "weighted_f1": round(float(f1_score(y_true, y_pred, average="weighted")), 4),
                }
        # The 0-10 value against the human label on a grade scale, per split (nothing fitted): the
        # measure closest to a graded CSV's Pearson.
        for split, test in tests.items():
            pearson = _pearson([results[i].value for i in test], [_grade(rows[i]) for i in test])
            if pearson is not None:
                report[f"{corpus}/{split}/pearson_value_vs_grade"] = pearson
        # How far the raw 0-10 value alone tracks correctness (no fitting at all).
        test = [i for i in idx if rows[i]["split"] != "train"]
        correct = [float(rows[i]["label_2way"] == "correct") for i in test]
        pearson = _pearson([results[i].value for i in test], correct)
        if pearson is not None:
            report[f"{corpus}/test/pearson_value_vs_correct"] = pearson
    return report


# --- calibration -------------------------------------------------------------------------------


def calibrate(
    scorer: Scorer,
    bank: Bank,
    *,
    semeval_dir: Path | None = None,
    semeval_rows: int | None = None,
    progress: Progress | None = None,
    modes: Collection[str] = MODES,
) -> Calibration:
    """Refit the `modes` (both by default) on the bank's graded sample answers; a mode not asked
    for is neither scored nor fitted, and the result holds only those asked for.

    keyed: weights and map from the sample answers scored against their full rubrics.
    free_form: the weights from SemEval's training split when given (human correct/incorrect
    labels on a different domain, so the weights do not fit our own samples twice), fitted within
    each question, on all its answers unless `semeval_rows` says how many; else from the samples.
    The map from the same answers scored against the reference answer alone, plus, when given,
    those SemEval answers graded by SEMEVAL_GRADES (short references reach higher raw values than
    the bank's long ones, and a map fitted on long ones alone saturates there). The free-form map
    rises at least as steeply as `choose_min_slope` finds best on questions held out of the fit;
    the meta records every slope's Pearson."""
    unknown = set(modes) - set(MODES)
    if unknown or not modes:
        raise ValueError(f"calibration modes are {list(MODES)}, not {sorted(unknown) or 'none'}")
    samples = [(q, s) for q in bank.questions.values() for s in q.sample_answers]
    targets = [s.score for _, s in samples]
    meta: dict[str, Any] = {"bank_samples": len(samples), "scorer_version": scorer.version}
    fitted: dict[str, ModeCalibration] = {}
    if "keyed" in modes:
        keyed = scorer.score_many([(Rubric.from_question(q), s.text) for q, s in samples])
        if progress:
            progress(len(samples))
        # Plain isotonic: on the bank samples, leave-topic-out Pearson was 0.857-0.858 for every
        # minimum slope from 0 to 12 (README, Scoring quality): nothing argues for one.
        ki = [i for i, r in enumerate(keyed) if r.components]
        fitted["keyed"] = fit_mode([keyed[i].components for i in ki], [targets[i] for i in ki])
    if "free_form" in modes:
        fitted["free_form"] = _fit_free_form(scorer, samples, semeval_dir, semeval_rows, progress, meta)
    return Calibration(name=f"{scorer.version}-{stamp()}", modes=fitted, meta=meta)


def _fit_free_form(
    scorer: Scorer,
    samples: Sequence[tuple[Question, SampleAnswer]],
    semeval_dir: Path | None,
    semeval_rows: int | None,
    progress: Progress | None,
    meta: dict[str, Any],
) -> ModeCalibration:
    """The free-form mode (see `calibrate`); records where it came from in `meta`."""
    targets = [s.score for _, s in samples]
    free = score_free_form(scorer, [(q.text, q.reference_answer, s.text) for q, s in samples])
    if progress:
        progress(len(samples))
    fi = [i for i, r in enumerate(free) if r.components]
    weight_rows: list[dict[str, float]] | None = None
    weight_target: list[float] | None = None
    weight_groups: list[tuple[str, str]] | None = None
    map_rows: list[dict[str, float]] = []
    map_target: list[float] = []
    map_flags: list[list[str]] = []
    map_groups: list[tuple[str, str]] = []
    if semeval_dir is not None:
        import random

        rows = [r for r in _read_semeval(semeval_dir / "semeval2013_flat.csv") if r["split"] == "train"]
        if semeval_rows is not None:
            rows = random.Random(13).sample(rows, min(semeval_rows, len(rows)))
        res = score_free_form(
            scorer,
            [(r["question"], r["reference_answers"].split(" || "), r["student_answer"]) for r in rows],
            progress=progress,
        )
        graded = [(r, x) for r, x in zip(rows, res, strict=True) if x.components]
        weight_rows = [dict(x.components) for _, x in graded]
        weight_target = [10.0 * (r["label_2way"] == "correct") for r, _ in graded]
        weight_groups = [(r["corpus"], r["question_id"]) for r, _ in graded]
        # The map also sees these short-reference answers, graded by their labels, so that it
        # spans the raw range of short references instead of saturating where long ones end.
        map_rows = weight_rows
        map_target = [_grade(r) for r, _ in graded]
        map_flags = [x.flags for _, x in graded]
        map_groups = weight_groups
        meta["free_form_weights_from"] = f"semeval2013 train, {len(graded)} answers, within each question"
        meta["free_form_map_from"] = f"bank samples and semeval2013 train graded {SEMEVAL_GRADES}"
    free_rows = [*(free[i].components for i in fi), *map_rows]
    free_target = [*(targets[i] for i in fi), *map_target]
    free_flags = [*(free[i].flags for i in fi), *map_flags]
    free_groups = [*(("bank", samples[i][0].id) for i in fi), *map_groups]
    weights = fit_weights(weight_rows or free_rows, weight_target or free_target, groups=weight_groups)
    # Free-form answers are what a graded CSV holds: their map keeps a minimum slope, chosen by
    # Pearson on questions held out of the fit, with the guards' caps replayed.
    unmapped = ModeCalibration(weights=weights, xs=(0.0, 1.0), ys=(0.0, 10.0))
    slope, by_slope = choose_min_slope(
        [unmapped.raw(f) for f in free_rows],
        free_target,
        free_groups,
        finish=lambda i, v: scorer.capped(v, free_flags[i]),
    )
    meta["free_form_min_slope"] = slope
    meta["free_form_min_slope_pearson"] = by_slope
    return fit_mode(free_rows, free_target, weights=weights, min_slope=slope)
