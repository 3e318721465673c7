"""`mockinterview eval` and `calibrate` on small real data: the output contract and the fit rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from app.bank.models import Bank
from app.cli import app as cli
from app.scoring.calibration import Calibration, fit_mode
from app.scoring.evaluation import agreement, evaluate_csv, read_graded_csv
from app.scoring.scorer import Scorer

ROWS = [
    (
        "What does a stack do?",
        "A stack stores items last-in first-out: push adds on top, pop removes the top.",
        a,
        g,
    )
    for a, g in [
        ("It is last in first out; push puts an item on top and pop takes the top one off.", 5),
        ("Items go in and come out in reverse order of insertion.", 4),
        ("A stack is a kind of list.", 2),
        ("First in first out, like a queue at a shop.", 1),
        ("I like turtles.", 0),
    ]
]


def _write(path: Path) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "reference_answer", "answer", "score"])
        w.writerows(ROWS)
    return path


def test_eval_orders_answers_like_the_grades(scorer: Scorer, tmp_path: Path) -> None:
    rows = read_graded_csv(_write(tmp_path / "g.csv"))
    result = evaluate_csv(scorer, rows, scale_max=5)
    assert set(result) == {"n", "pearson", "spearman", "rmse", "qwk", "seconds", "fit"}
    assert result["n"] == 5
    assert result["fit"] == "linear-in-sample"
    assert result["spearman"] > 0.6, result


def test_agreement_fits_nothing_for_correlations() -> None:
    human = [0, 1, 2, 3, 4, 5]
    shifted = [v * 2 + 1 for v in human]  # a different scale, same order
    out = agreement(shifted, human, scale_max=5)
    assert out["pearson"] == 1.0 and out["spearman"] == 1.0
    assert out["rmse"] == 0.0 and out["qwk"] == 1.0  # after the in-sample linear map


def test_eval_cli_prints_one_json_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "--csv", str(_write(tmp_path / "g.csv")), "--scale-max", "5"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    assert json.loads(lines[0])["n"] == 5


def test_eval_cli_rejects_a_csv_without_the_columns(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("q,a\nx,y\n")
    result = CliRunner().invoke(cli, ["eval", "--csv", str(bad)])
    assert result.exit_code != 0
    assert "missing columns" in result.output


def test_calibration_is_monotone_and_round_trips(scorer: Scorer, bank: Bank, tmp_path: Path) -> None:
    from app.scoring.schemas import Rubric

    samples = [(q, s) for q in list(bank.questions.values())[:12] for s in q.sample_answers]
    results = scorer.score_many([(Rubric.from_question(q), s.text) for q, s in samples])
    pairs = [(r.components, s.score) for (q, s), r in zip(samples, results, strict=True) if r.components]
    mode = fit_mode([c for c, _ in pairs], [t for _, t in pairs])
    assert all(w >= 0 for w in mode.weights.values())
    assert list(mode.xs) == sorted(mode.xs) and list(mode.ys) == sorted(mode.ys)
    cal = Calibration(name="test", modes={"keyed": mode, "free_form": mode})
    cal.save(tmp_path / "c.json")
    again = Calibration.load(tmp_path / "c.json")
    assert again.mode("keyed") == mode
    assert again.mode("keyed").apply(0.2) <= again.mode("keyed").apply(0.6)
