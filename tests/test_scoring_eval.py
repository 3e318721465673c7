"""`mockinterview eval` and `calibrate` on small real data: the output contract and the fit rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.bank.models import Bank
from app.cli import app as cli
from app.scoring.calibration import Calibration, choose_min_slope, fit_map, fit_mode, fit_weights
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


def test_eval_cli_prints_one_json_line(scorer: Scorer, tmp_path: Path) -> None:
    args = ["eval", "--csv", str(_write(tmp_path / "g.csv")), "--scale-max", "5", "--judge", "off"]
    result = CliRunner().invoke(cli, args, obj=scorer)
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


def test_weights_fitted_within_questions_ignore_what_only_tells_questions_apart() -> None:
    """Coverage here is high for every answer to the easy question and low for every answer to
    the hard one, and says nothing about which answer to a question is better; token recall does.
    Pooled, coverage borrows the questions' difference in grades; within questions it gets none."""
    rows: list[dict[str, float]] = []
    target: list[float] = []
    groups: list[str] = []
    for question, level, base in (("easy", 0.9, 6.0), ("hard", 0.2, 0.0)):
        for recall in (0.1, 0.4, 0.7, 1.0):
            rows.append({"coverage": level, "token_recall": recall})
            target.append(base + 4 * recall)
            groups.append(question)
    pooled = fit_weights(rows, target)
    within = fit_weights(rows, target, groups=groups)
    assert pooled["coverage"] > 0.3
    assert within["coverage"] == 0.0 and within["token_recall"] == 1.0
    with pytest.raises(ValueError, match="one group per example"):
        fit_weights(rows, target, groups=groups[:-1])


def test_a_minimum_slope_keeps_the_map_rising_where_the_mean_grade_is_flat() -> None:
    """Graded like SemEval's labels: every answer above 0.5 raw is "correct", every one below is
    not. Isotonic regression maps each half to one value, so the map is flat in each; with a
    minimum slope every stretch rises at least that steeply until it reaches 10."""
    raw = list(np.linspace(0.0, 1.0, 101))
    target = [8.5 if x > 0.5 else 2.5 for x in raw]
    xs, ys = fit_map(raw, target)
    steps = np.diff(ys[1:-1]) / np.diff(xs[1:-1])
    assert steps.min() < 1.0  # plain isotonic: flat stretches
    xs, ys = fit_map(raw, target, min_slope=10.0)
    _assert_rises_at_least(xs, ys, 10.0)


def _assert_rises_at_least(xs: tuple[float, ...], ys: tuple[float, ...], slope: float) -> None:
    """Between the map's knots (not its two end points), wherever it is off 0 and 10 (at 0 the
    knots still rise 0.02 each, to keep the map strictly increasing)."""
    assert list(ys) == sorted(ys)
    floor = 0.02 * len(ys)
    for i in range(1, len(xs) - 2):
        if ys[i] > floor and ys[i + 1] < 10:
            assert ys[i + 1] - ys[i] >= slope * (xs[i + 1] - xs[i]) - 1e-6, (i, xs, ys)


def test_min_slope_choice_is_the_best_held_out_pearson() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0, 1, 400)
    target = np.where(rng.uniform(0, 1, 400) < raw, 8.5, 2.5)  # P(correct) rises with raw
    groups = [f"q{i % 40}" for i in range(400)]
    slope, table = choose_min_slope(raw, target, groups)
    assert table[f"{slope:g}"] == max(table.values())
    assert set(table) == {"0", "2", "4", "6", "8", "10", "12", "14", "16"}
    # The guards' caps are replayed: a finish that flattens every value leaves nothing to choose.
    flat_slope, flat = choose_min_slope(raw, target, groups, finish=lambda i, v: 5.0)
    assert flat_slope == 0.0 and set(flat.values()) == {-1.0}
    with pytest.raises(ValueError, match="one group per example"):
        choose_min_slope(raw, target, groups[:-1])


def test_the_shipped_free_form_map_never_goes_flat(scorer: Scorer) -> None:
    """Across the raw range most real answers span (SemEval's 10th percentile is 0.16-0.31), one
    more tenth of raw signal is at least one more point (below that the map meets 0). mi-scorer-6's
    map rose 0.37 points from 0.74 to 0.93, where most correct SemEval answers sit, and so ranked
    them all alike. The stored calibration says which slope it chose and why."""
    cal = scorer.calibration
    mode = cal.mode("free_form")
    for x in np.arange(0.2, 0.86, 0.05):
        assert mode.apply(x + 0.1) - mode.apply(x) >= 1.0 - 1e-6, (x, mode.xs, mode.ys)
    table = cal.meta["free_form_min_slope_pearson"]
    assert table[f"{cal.meta['free_form_min_slope']:g}"] == max(table.values())


def test_calibrate_chooses_the_free_form_slope_and_can_keep_the_keyed_mode(
    scorer: Scorer, bank: Bank, tmp_path: Path
) -> None:
    from app.scoring.evaluation import calibrate

    small = Bank(questions={q.id: q for q in list(bank.questions.values())[:6]}, topics=bank.topics)
    fresh = calibrate(scorer, small, semeval_dir=_semeval_dir(tmp_path))
    slope, table = fresh.meta["free_form_min_slope"], fresh.meta["free_form_min_slope_pearson"]
    assert table[f"{slope:g}"] == max(table.values())
    mode = fresh.mode("free_form")
    _assert_rises_at_least(mode.xs, mode.ys, slope)
    # `calibrate --only free_form`: the stored keyed mode stays, and the meta says where from.
    stored = scorer.calibration
    merged = stored.refit(fresh, ["free_form"])
    assert merged.mode("keyed") == stored.mode("keyed") and merged.mode("free_form") == mode
    # every other stored mode (keyed and the judged ones) is kept, each naming where it came from
    assert merged.meta["kept"] == {
        n: stored.meta.get("kept", {}).get(n, stored.name) for n in stored.modes if n != "free_form"
    }
    assert {"keyed", "keyed_judged", "free_form_judged"} <= set(merged.meta["kept"])
    assert merged.meta["refit"] == ["free_form"] and merged.name == fresh.name
    with pytest.raises(ValueError, match="no such calibration mode"):
        stored.refit(fresh, ["keyd"])
    # `--only` fits the one mode and scores nothing for the other: the same free-form mode alone,
    # and a keyed refit that never opens SemEval (a folder that does not exist) and scores each
    # sample once.
    alone = calibrate(scorer, small, semeval_dir=_semeval_dir(tmp_path), modes=["free_form"])
    assert set(alone.modes) == {"free_form"} and alone.mode("free_form") == mode
    scored: list[int] = []
    keyed = calibrate(scorer, small, semeval_dir=tmp_path / "absent", progress=scored.append, modes=["keyed"])
    assert set(keyed.modes) == {"keyed"} and keyed.mode("keyed") == fresh.mode("keyed")
    assert sum(scored) == sum(len(q.sample_answers) for q in small.questions.values())
    with pytest.raises(ValueError, match="calibration modes"):
        calibrate(scorer, small, modes=["keyd"])


SEMEVAL_COLUMNS = [
    "corpus",
    "split",
    "question_id",
    "module",
    "question",
    "n_reference_answers",
    "reference_answers",
    "best_reference_answers",
    "answer_id",
    "student_answer",
    "label_3way",
    "label_2way",
    "label_5way",
]
# (question, reference, [(answer, 5-way label)]): SemEval's shape, our own small content.
SEMEVAL_ITEMS = [
    (
        "Why does the bulb stay dark when the switch is open?",
        "The open switch breaks the closed path, so no current flows through the bulb.",
        [
            ("The switch leaves a gap so current cannot flow in a closed path through the bulb.", "correct"),
            ("Because there is no complete circuit, no current reaches the bulb.", "correct"),
            ("The bulb is dark.", "partially_correct_incomplete"),
            ("The battery is too strong for the bulb.", "contradictory"),
            ("I like the colour of the wires.", "irrelevant"),
        ],
    ),
    (
        "What does a stack do when you pop it?",
        "Pop removes and returns the item on top, the one pushed last.",
        [
            ("It takes off the top item, which was the last one pushed, and gives it back.", "correct"),
            ("Pop returns the most recently pushed element and removes it.", "correct"),
            ("It changes the stack.", "partially_correct_incomplete"),
            ("It removes the oldest item at the bottom.", "contradictory"),
            ("Cats sleep most of the day.", "non_domain"),
        ],
    ),
]


def _semeval_dir(tmp_path: Path) -> Path:
    from app.scoring.evaluation import SEMEVAL_GRADES

    three = {"correct": "correct", "contradictory": "contradictory"}
    rows = []
    for split in ("train", "test-unseen-answers"):
        for qi, (question, ref, answers) in enumerate(SEMEVAL_ITEMS):
            for ai, (answer, label) in enumerate(answers):
                assert label in SEMEVAL_GRADES
                rows.append(
                    {
                        "corpus": "beetle",
                        "split": split,
                        "question_id": f"Q{qi}",
                        "module": "M",
                        "question": question,
                        "n_reference_answers": "1",
                        "reference_answers": ref,
                        "best_reference_answers": ref,
                        "answer_id": f"{split}-{qi}-{ai}",
                        "student_answer": answer,
                        "label_3way": three.get(label, "incorrect"),
                        "label_2way": "correct" if label == "correct" else "incorrect",
                        "label_5way": label,
                    }
                )
    with (tmp_path / "semeval2013_flat.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SEMEVAL_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return tmp_path


def test_semeval_report_per_split_with_the_value_against_the_grade(scorer: Scorer, tmp_path: Path) -> None:
    from app.scoring.evaluation import evaluate_semeval

    report = evaluate_semeval(scorer, _semeval_dir(tmp_path))
    for task in ("2way", "3way"):
        split = report[f"beetle/test-unseen-answers/{task}"]
        assert split["n"] == 10
        assert 0.0 <= split["accuracy"] <= 1.0 and 0.0 <= split["macro_f1"] <= 1.0
    # Nothing is fitted for this one: the 0-10 value against the label on the grade scale.
    assert report["beetle/test-unseen-answers/pearson_value_vs_grade"] > 0.6, report
    assert "beetle/test-unseen-questions/2way" not in report  # no such rows, no made-up numbers
