"""`mockinterview eval` and `mockinterview calibrate`: measure and refit the scorer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import Settings
from app.terminal import err

if TYPE_CHECKING:
    from app.bank.models import Bank
    from app.judge.base import Judge
    from app.runtime import Runtime
    from app.scoring.calibration import Calibration
    from app.scoring.evaluation import Rescore
    from app.scoring.schemas import Rubric, ScoreResult
    from app.scoring.scorer import Scorer

__all__ = ["calibrate_command", "eval_command", "register"]


def register(app: typer.Typer) -> None:
    """Add `eval` and `calibrate` to the console script."""
    app.command("eval")(eval_command)
    app.command("calibrate")(calibrate_command)


def _progress(total: int, label: str) -> Progress:
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    bar.add_task(label, total=total)
    return bar


def eval_command(
    ctx: typer.Context,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="CSV with question, reference_answer, answer, score")
    ] = None,
    scale_max: Annotated[float, typer.Option(help="the human grades' maximum")] = 5.0,
    semeval: Annotated[Path | None, typer.Option(help="SemEval-2013 folder")] = None,
    per_split: Annotated[int | None, typer.Option(help="sample at most N answers per SemEval split")] = None,
    judge_name: Annotated[
        str | None,
        typer.Option("--judge", help="correctness judge: local, openai or off (default: settings)"),
    ] = None,
) -> None:
    """Agreement with human grades: one JSON line on stdout, progress on stderr. With a judge, the
    embedding-only figures and the judged ones ("judged") side by side."""
    from app.runtime import Runtime, handed_in
    from app.scoring.evaluation import evaluate_csv, evaluate_semeval, read_graded_csv

    if (csv_file is None) == (semeval is None):
        raise typer.BadParameter("give exactly one of --csv FILE or --semeval DIR")
    rows = None
    if csv_file is not None:  # bad input fails before any model loads
        try:
            rows = read_graded_csv(csv_file)
        except (OSError, ValueError, KeyError) as exc:
            raise typer.BadParameter(str(exc)) from exc
    settings = Settings()
    if judge_name is not None:
        settings = settings.model_copy(update={"judge": judge_name})
    with Runtime(settings) as runtime:
        with err.status("loading the embedding model"):
            scorer = runtime.build_scorer(handed_in(ctx.obj))
        rescore = _rescorer(scorer, runtime.build_judge())
        if rows is not None:
            with _progress(len(rows), "scoring") as bar:
                task = bar.tasks[0].id
                result = evaluate_csv(
                    scorer,
                    rows,
                    scale_max=scale_max,
                    progress=lambda n: bar.advance(task, n),
                    rescore=rescore,
                )
        else:
            assert semeval is not None
            total = sum(1 for _ in (semeval / "semeval2013_flat.csv").open(encoding="utf-8")) - 1
            total = min(total, per_split * 7) if per_split else total
            with _progress(total, "scoring") as bar:
                task = bar.tasks[0].id
                result = evaluate_semeval(
                    scorer,
                    semeval,
                    progress=lambda n: bar.advance(task, n),
                    per_split=per_split,
                    rescore=rescore,
                )
    typer.echo(json.dumps(result))


def _rescorer(scorer: Scorer, judge: Judge | None) -> Rescore | None:
    """The judge as a batch rescoring step with its own progress bar, or None when it is off."""
    from app.judge.service import judge_scores, needs_judge, wants_points

    if judge is None:
        return None

    def rescore(items: Sequence[tuple[Rubric, str, ScoreResult]]) -> list[ScoreResult]:
        assert judge is not None
        asks = sum(
            1 + (len(r.key_points) if wants_points(scorer.calibration, r) else 0)
            for r, _, s in items
            if needs_judge(s)
        )
        with _progress(asks, "judging") as bar:
            task = bar.tasks[0].id
            return judge_scores(
                judge=judge, scorer=scorer, items=items, progress=lambda n: bar.advance(task, n)
            )

    return rescore


def calibrate_command(
    ctx: typer.Context,
    semeval: Annotated[Path | None, typer.Option(help="SemEval-2013 folder (free-form weights)")] = None,
    semeval_rows: Annotated[
        int | None, typer.Option(help="how many SemEval training answers to use (default: all)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="output file (default: settings)")] = None,
    only: Annotated[
        Literal["keyed", "free_form", "judged", "keyed_judged"] | None,
        typer.Option(
            help="refit this mode only; the others stay as the stored calibration has them "
            "(judged: the blends with the correctness judge and its thresholds; keyed_judged: the "
            "keyed one only, bank rubrics, no SemEval)"
        ),
    ] = None,
    judge_semeval_rows: Annotated[
        int, typer.Option(help="SemEval training answers the judged free-form blend is fitted on")
    ] = 1200,
    judge_bank_questions: Annotated[
        int | None,
        typer.Option(
            help="bank questions whose samples are judged free-form for the judged map (default all)"
        ),
    ] = None,
) -> None:
    """Refit the calibration on the bank's graded sample answers (and SemEval's training answers)
    and store it (versioned). With the judge on, the judged blends and threshold are refitted too."""
    from app.runtime import Runtime, handed_in
    from app.scoring.calibration import Calibration

    settings = Settings()
    target = out or settings.calibration_path
    stored: Calibration | None = None  # what keeps the mode that --only leaves alone
    if only is not None:  # checked first: minutes of refitting must not end in this error
        if not settings.calibration_path.exists():
            raise typer.BadParameter(f"--only keeps the other mode of {settings.calibration_path}: missing")
        stored = Calibration.load(settings.calibration_path)
    with Runtime(settings) as runtime:
        bank = runtime.load_bank()  # first: the scorer checks answers against the other questions
        with err.status("loading the embedding model"):
            scorer = runtime.build_scorer(handed_in(ctx.obj))
        cal = _calibrate(
            runtime,
            scorer,
            bank,
            stored,
            only,
            semeval,
            semeval_rows,
            judge_semeval_rows,
            judge_bank_questions,
            target,
        )
    cal.save(target)
    err.print(f"calibration {cal.name} written to {target}")
    typer.echo(json.dumps({"name": cal.name, "path": str(target), "meta": cal.meta}))


def _calibrate(
    runtime: Runtime,
    scorer: Scorer,
    bank: Bank,
    stored: Calibration | None,
    only: str | None,
    semeval: Path | None,
    semeval_rows: int | None,
    judge_semeval_rows: int,
    judge_bank_questions: int | None,
    target: Path,
) -> Calibration:
    """The new calibration: the modes asked for refitted, the others kept from `stored`."""
    from app.scoring.calibration import MODES
    from app.scoring.evaluation import calibrate, semeval_train_size

    if only in ("judged", "keyed_judged"):
        assert stored is not None
        return _calibrate_judged(
            runtime,
            scorer,
            stored,
            bank,
            semeval,
            judge_semeval_rows,
            judge_bank_questions,
            target,
            keyed_only=only == "keyed_judged",
        )
    modes = [only] if only is not None else list(MODES)
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
    if only is None and runtime.settings.judge.strip().lower() != "off":
        cal = _calibrate_judged(
            runtime, scorer, cal, bank, semeval, judge_semeval_rows, judge_bank_questions, target
        )
    return cal


def _calibrate_judged(
    runtime: Runtime,
    scorer: Scorer,
    base: Calibration,
    bank: Bank,
    semeval: Path | None,
    semeval_rows: int,
    bank_questions: int | None,
    target: Path,
    *,
    keyed_only: bool = False,
) -> Calibration:
    """`base` with the judged modes and the contradiction threshold fitted (judge outputs cached).
    The verdicts shipped beside the stored calibration seed the cache first; the ones this fit used
    are written beside `target`, so a fresh checkout refits without asking the model again."""
    from app.judge.base import read_verdicts
    from app.judge.calibrate import calibrate_judged, judged_work, verdicts_path

    judge = runtime.build_judge()
    if judge is None:
        raise typer.BadParameter("the judged modes need a judge: MOCKINTERVIEW_JUDGE is off")
    source = verdicts_path(runtime.settings.calibration_path)
    stored = read_verdicts(source)
    seeded = judge.seed_cache(stored)
    if seeded:
        err.print(f"{seeded} verdicts from {source}")
    scorer.calibration = base
    judge.recorded = set()
    total = judged_work(bank, semeval_rows if semeval else 0, bank_questions, keyed_only=keyed_only)
    with _progress(total, "judging") as bar:
        task = bar.tasks[0].id
        cal = calibrate_judged(
            scorer,
            judge,
            bank,
            semeval_dir=semeval,
            semeval_rows=semeval_rows,
            bank_questions=bank_questions,
            progress=lambda k: bar.advance(task, k),
            keyed_only=keyed_only,
        )
    # A keyed-only refit keeps the stored free-form blend: keep the verdicts it was fitted on too.
    keys = judge.recorded | set(stored) if keyed_only else judge.recorded
    shipped = verdicts_path(target)
    written = judge.export_cache(shipped, keys)
    err.print(f"{written} verdicts written to {shipped}")
    return cal
