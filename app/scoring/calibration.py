"""How raw signals become a 0-10 score: non-negative signal weights and a monotone map, per mode.

Two modes: `keyed` (a bank rubric with written key points) and `free_form` (only a reference
answer, key points derived from it). Each holds weights over the scorer's signals and a
piecewise-linear, non-decreasing map from the weighted sum to 0-10. `mockinterview calibrate`
refits them and stores a versioned JSON file that the scorer loads at start.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "JUDGED_MODES",
    "JUDGED_SIGNALS",
    "KEYED_JUDGED_SIGNALS",
    "MODES",
    "SIGNALS",
    "Calibration",
    "ModeCalibration",
    "choose_min_slope",
    "fit_map",
    "fit_mode",
]

MODES = ("keyed", "free_form")  # a bank rubric with key points; a reference answer alone
SIGNALS = ("coverage", "token_recall", "reference", "lexical")
# With the correctness judge on, each mode has a judged twin whose weights also cover P(correct).
JUDGED_SIGNALS = (*SIGNALS, "judge")
# A rubric with key points adds the judge's view of them: the weighted mean of P(the answer states
# this point), one Yes/No question per key point.
KEYED_JUDGED_SIGNALS = (*JUDGED_SIGNALS, "judge_points")
JUDGED_MODES = {m: f"{m}_judged" for m in MODES}


@dataclass(frozen=True)
class ModeCalibration:
    weights: dict[str, float]
    xs: tuple[float, ...]
    ys: tuple[float, ...]

    def raw(self, signals: Mapping[str, float]) -> float:
        return float(sum(w * signals.get(k, 0.0) for k, w in self.weights.items()))

    def apply(self, raw: float) -> float:
        return float(np.interp(raw, self.xs, self.ys))


_DEFAULT_WEIGHTS = {"coverage": 0.5, "token_recall": 0.2, "reference": 0.15, "lexical": 0.15}


@dataclass(frozen=True)
class Calibration:
    name: str
    modes: dict[str, ModeCalibration]
    meta: dict[str, Any] = field(default_factory=dict)
    # Per mode, P(correct) below this flags the answer contradicts_reference (none: no judged calibration).
    contradiction_below: dict[str, float] = field(default_factory=dict)

    @classmethod
    def identity(cls) -> Calibration:
        """Uncalibrated: fixed weights, raw 0-1 mapped linearly onto 0-10."""
        mode = ModeCalibration(weights=dict(_DEFAULT_WEIGHTS), xs=(0.0, 1.0), ys=(0.0, 10.0))
        return cls(name="identity", modes=dict.fromkeys(MODES, mode))

    def mode(self, name: str) -> ModeCalibration:
        return self.modes.get(name) or self.modes["keyed"]

    def threshold(self, name: str) -> float | None:
        """The P(correct) below which an answer in this mode contradicts the reference, if fitted."""
        return self.contradiction_below.get(name)

    def judged_mode(self, name: str) -> ModeCalibration | None:
        """The blend of embedding signals and P(correct) for this mode, if one was fitted."""
        return self.modes.get(JUDGED_MODES.get(name, name))

    def refit(self, fresh: Calibration, names: Sequence[str]) -> Calibration:
        """This calibration with the `names` modes replaced by `fresh`'s, the others kept as they
        are, so that one mode's refit does not move the other's scores; the meta says which
        calibration each kept mode comes from."""
        unknown = set(names) - set(fresh.modes)
        if unknown:
            raise ValueError(f"no such calibration mode: {sorted(unknown)}")
        modes = {**self.modes, **{n: fresh.modes[n] for n in names}}
        kept = {n: self.meta.get("kept", {}).get(n, self.name) for n in modes if n not in names}
        meta = {**fresh.meta, "refit": list(names), "kept": kept}
        below = (
            fresh.contradiction_below if fresh.contradiction_below is not None else self.contradiction_below
        )
        return Calibration(name=fresh.name, modes=modes, meta=meta, contradiction_below=below)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name,
            "modes": {
                k: {"weights": m.weights, "xs": list(m.xs), "ys": list(m.ys)} for k, m in self.modes.items()
            },
            "contradiction_below": self.contradiction_below,
            "meta": self.meta,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        modes = {
            k: ModeCalibration(weights=dict(m["weights"]), xs=tuple(m["xs"]), ys=tuple(m["ys"]))
            for k, m in data["modes"].items()
        }
        return cls(
            name=data["name"],
            modes=modes,
            meta=data.get("meta", {}),
            contradiction_below=dict(data.get("contradiction_below") or {}),
        )


def fit_weights(
    features: Sequence[Mapping[str, float]],
    target: Sequence[float],
    *,
    groups: Sequence[Hashable] | None = None,
    signals: Sequence[str] = SIGNALS,
) -> dict[str, float]:
    """Non-negative least squares: every signal can only raise the score, never lower it.

    With `groups` (the question each answer was given to), signals and target are centred within
    each group, so the weights learn how answers to one question differ, not how questions differ.
    Some questions' references are easy to cover whatever the answer says, and a pooled fit lets
    that pass for answer quality: on SemEval's training answers it gave key-point coverage 0.32 of
    the weight, the fit within questions 0.11, and the latter's value follows the human grades
    better on every SemEval test split (README, "Scoring quality")."""
    from scipy.optimize import nnls

    x = np.array([[f.get(k, 0.0) for k in signals] for f in features], dtype=float)
    y = np.asarray(target, dtype=float)
    keys = list(groups) if groups is not None else [0] * len(y)
    if len(keys) != len(y):
        raise ValueError("groups must name one group per example")
    # Centre (per group when given) so the intercept does not leak into the weights.
    xc, yc = x.copy(), y.copy()
    for key in dict.fromkeys(keys):
        rows = np.array([k == key for k in keys])
        xc[rows] -= x[rows].mean(axis=0)
        yc[rows] -= y[rows].mean()
    coef, _ = nnls(xc, yc)
    if coef.sum() == 0:
        coef = np.ones(len(signals))
    coef = coef / coef.sum()
    return {k: round(float(c), 4) for k, c in zip(signals, coef, strict=True)}


def fit_map(
    raw: Sequence[float], target: Sequence[float], *, knots: int = 12, min_slope: float = 0.0
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Isotonic regression of target (0-10) on raw, reduced to a few strictly rising knots.

    With `min_slope`, the map rises at least that many points per unit of raw signal: isotonic
    regression of target - min_slope * raw, plus min_slope * raw. Plain isotonic regression goes
    flat wherever the mean grade does, and a flat stretch throws away the raw signal's ordering of
    the answers that fall in it (see `choose_min_slope`)."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(raw, dtype=float)
    y = np.asarray(target, dtype=float)
    if len(x) < 4:
        raise ValueError("need at least 4 graded examples to calibrate")
    iso = IsotonicRegression(out_of_bounds="clip").fit(x, y - min_slope * x)
    qs = np.unique(np.quantile(x, np.linspace(0, 1, knots)))
    ys = iso.predict(qs) + min_slope * qs
    # Strictly increasing so a better raw signal never maps to a lower (or equal) score.
    ys = np.maximum.accumulate(np.clip(ys, 0, 10) + 0.02 * np.arange(len(ys)))
    span = float(qs[-1] - qs[0]) or 1.0
    xs_out = (float(qs[0]) - 0.25 * span, *map(float, qs), float(qs[-1]) + 0.25 * span)
    ys_out = (0.0, *(min(10.0, float(v)) for v in ys), 10.0)
    return xs_out, ys_out


MIN_SLOPES = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0)


def choose_min_slope(
    raw: Sequence[float],
    target: Sequence[float],
    groups: Sequence[Hashable],
    *,
    finish: Callable[[int, float], float] | None = None,
    slopes: Sequence[float] = MIN_SLOPES,
    folds: int = 5,
) -> tuple[float, dict[str, float]]:
    """The map's minimum slope with the best out-of-fold Pearson between value and target.

    Folds split by group (the question), so a map is always judged on questions it was not
    fitted on; `finish(i, value)` turns row i's mapped value into the scorer's final value (its
    guards' caps). Returns the chosen slope and every slope's Pearson; ties go to the smaller
    slope."""
    from scipy import stats

    x = np.asarray(raw, dtype=float)
    y = np.asarray(target, dtype=float)
    keys = list(groups)
    if len(keys) != len(y):
        raise ValueError("groups must name one group per example")
    names = sorted(dict.fromkeys(keys), key=str)
    random.Random(0).shuffle(names)
    fold_of = {g: i % folds for i, g in enumerate(names)}
    fold = np.array([fold_of[k] for k in keys])
    scores: dict[str, float] = {}
    for slope in slopes:
        out = np.zeros_like(y)
        for f in range(folds):
            held = fold == f
            if not held.any() or held.all():
                continue
            xs, ys = fit_map(x[~held], y[~held], min_slope=slope)
            out[held] = np.interp(x[held], xs, ys)
        if finish is not None:
            out = np.array([finish(i, float(v)) for i, v in enumerate(out)])
        scores[f"{slope:g}"] = round(float(stats.pearsonr(out, y)[0]), 4) if np.std(out) > 0 else -1.0
    best = max(slopes, key=lambda s: (scores[f"{s:g}"], -s))
    return float(best), scores


def fit_mode(
    features: Sequence[Mapping[str, float]],
    target: Sequence[float],
    *,
    weights: dict[str, float] | None = None,
    min_slope: float = 0.0,
) -> ModeCalibration:
    """The monotone map from the calibration rows (target on 0-10), over `weights` when given
    (fitted elsewhere, e.g. on other answers), else over weights fitted on these rows."""
    weights = weights or fit_weights(features, target)
    mode = ModeCalibration(weights=weights, xs=(0.0, 1.0), ys=(0.0, 10.0))
    xs, ys = fit_map([mode.raw(f) for f in features], target, min_slope=min_slope)
    return ModeCalibration(weights=weights, xs=xs, ys=ys)


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
