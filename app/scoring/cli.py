"""`mockinterview eval` and `mockinterview calibrate`: measure and refit the scorer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import Settings

__all__ = ["calibrate_command", "eval_command"]

_err = Console(stderr=True)


def _progress(total: int, label: str) -> Progress:
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )
    bar.add_task(label, total=total)
    return bar


def eval_command(
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="CSV with question, reference_answer, answer, score")
    ] = None,
    scale_max: Annotated[float, typer.Option(help="the human grades' maximum")] = 5.0,
    semeval: Annotated[Path | None, typer.Option(help="SemEval-2013 folder")] = None,
    per_split: Annotated[int | None, typer.Option(help="sample at most N answers per SemEval split")] = None,
) -> None:
    """Agreement with human grades: one JSON line on stdout, progress on stderr."""
    from app.scoring.evaluation import evaluate_csv, evaluate_semeval, read_graded_csv
    from app.scoring.service import build_scorer

    if (csv_file is None) == (semeval is None):
        raise typer.BadParameter("give exactly one of --csv FILE or --semeval DIR")
    settings = Settings()
    with _err.status("loading the embedding model"):
        scorer = build_scorer(settings)
    if csv_file is not None:
        try:
            rows = read_graded_csv(csv_file)
        except (OSError, ValueError, KeyError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        with _progress(len(rows), "scoring") as bar:
            task = bar.tasks[0].id
            result = evaluate_csv(scorer, rows, scale_max=scale_max, progress=lambda n: bar.advance(task, n))
    else:
        assert semeval is not None
        total = sum(1 for _ in (semeval / "semeval2013_flat.csv").open(encoding="utf-8")) - 1
        total = min(total, per_split * 7) if per_split else total
        with _progress(total, "scoring") as bar:
            task = bar.tasks[0].id
            result = evaluate_semeval(
                scorer, semeval, progress=lambda n: bar.advance(task, n), per_split=per_split
            )
    typer.echo(json.dumps(result))


def calibrate_command(
    semeval: Annotated[Path | None, typer.Option(help="SemEval-2013 folder (free-form weights)")] = None,
    semeval_rows: Annotated[
        int | None, typer.Option(help="how many SemEval training answers to use (default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output file (default: settings)")] = None,
    only: Annotated[
        Literal["keyed", "free_form"] | None,
        typer.Option(help="refit this mode only; the other stays as the stored calibration has it"),
    ] = None,
) -> None:
    """Refit the calibration on the bank's graded sample answers and store it (versioned)."""
    from app.bank.loader import load_bank
    from app.scoring.calibration import MODES, Calibration
    from app.scoring.evaluation import calibrate, semeval_train_size
    from app.scoring.service import build_scorer

    settings = Settings()
    target = out or settings.calibration_path
    stored: Calibration | None = None  # what keeps the mode that --only leaves alone
    if only is not None:  # checked first: minutes of refitting must not end in this error
        if not settings.calibration_path.exists():
            raise typer.BadParameter(f"--only keeps the other mode of {settings.calibration_path}: missing")
        stored = Calibration.load(settings.calibration_path)
    modes = [only] if only is not None else list(MODES)
    with _err.status("loading the embedding model"):
        scorer = build_scorer(settings)
    bank = load_bank(settings.bank_dir)
    n = len(modes) * sum(len(q.sample_answers) for q in bank.questions.values())
    if semeval and "free_form" in modes:
        train = semeval_train_size(semeval)
        n += train if semeval_rows is None else min(semeval_rows, train)
    with _progress(n, "calibrating") as bar:
        task = bar.tasks[0].id
        cal = calibrate(
            scorer,
            bank,
            semeval_dir=semeval,
            semeval_rows=semeval_rows,
            progress=lambda k: bar.advance(task, k),
            modes=modes,
        )
    if stored is not None:
        cal = stored.refit(cal, modes)
    cal.save(target)
    _err.print(f"calibration {cal.name} written to {target}")
    typer.echo(json.dumps({"name": cal.name, "path": str(target), "meta": cal.meta}))
