"""A monotone map from the scorer's raw signal to 0-10, fitted on graded examples and stored as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Calibration", "fit_calibration"]


@dataclass(frozen=True)
class Calibration:
    """Piecewise-linear and non-decreasing: raw knots `xs` map to scores `ys`, clamped at the ends."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    name: str = "identity"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def identity(cls) -> Calibration:
        return cls(xs=(0.0, 1.0), ys=(0.0, 10.0), name="identity")

    def apply(self, raw: float) -> float:
        return float(np.interp(raw, self.xs, self.ys))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"name": self.name, "xs": list(self.xs), "ys": list(self.ys), "meta": self.meta}
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(xs=tuple(data["xs"]), ys=tuple(data["ys"]), name=data["name"], meta=data.get("meta", {}))


def fit_calibration(raw: Sequence[float], target: Sequence[float], *, knots: int = 12, name: str = "") -> Calibration:
    """Isotonic regression of target on raw, smoothed to a few knots so near ties stay ordered."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(raw, dtype=float)
    y = np.asarray(target, dtype=float)
    if len(x) < 4:
        raise ValueError("need at least 4 graded examples to calibrate")
    iso = IsotonicRegression(y_min=0.0, y_max=10.0, out_of_bounds="clip").fit(x, y)
    qs = np.unique(np.quantile(x, np.linspace(0, 1, knots)))
    ys = iso.predict(qs)
    # Strictly increasing, so a better raw signal never maps to a lower score.
    eps = 1e-3
    ys = np.maximum.accumulate(ys + eps * np.arange(len(ys)))
    xs_out = [float(qs[0]) - 0.2, *map(float, qs), float(qs[-1]) + 0.2]
    ys_out = [0.0, *map(float, ys), 10.0]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return Calibration(
        xs=tuple(xs_out),
        ys=tuple(min(10.0, v) for v in ys_out),
        name=name or f"isotonic-{stamp}",
        meta={"n": len(x), "fitted_at": stamp},
    )
