"""`mockinterview bank export` and `review check|grades` (registered by app/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.config import Settings
from app.terminal import console, fail, offline

__all__ = ["register"]


review_app = typer.Typer(help="Rubric review: agreement with human grades.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `review` and `bank export` to the console script (after the bank's own group)."""
    from app.bank.cli import bank_app

    app.add_typer(review_app, name="review")
    bank_app.command("export")(bank_export)


def bank_export(
    out: Annotated[Path | None, typer.Option(help="folder to write (default: settings.bank_dir)")] = None,
) -> None:
    """Write the current (published) rubric versions back to YAML in the bank's format."""
    from app.bank.loader import BankError, load_bank
    from app.review.service import export_bank
    from app.rubrics.service import seed_rubrics

    settings = Settings()
    try:
        bank = load_bank(settings.bank_dir)
    except BankError as exc:
        raise fail(f"the bank does not load:\n{exc}") from exc
    from app.runtime import database_session

    with database_session(settings) as session:
        seed_rubrics(session=session, bank=bank)
        written = export_bank(session=session, bank=bank, out_dir=out or settings.bank_dir)
    console.print(f"wrote {len(written)} files to {out or settings.bank_dir}")


@review_app.command("check")
def review_check(
    ctx: typer.Context,
    margin: Annotated[
        float, typer.Option(help="how much worse than the last published state is tolerated")
    ] = 0.02,
    metric: Annotated[str, typer.Option(help="qwk, pearson or mae")] = "qwk",
    bank_dir: Annotated[
        Path | None, typer.Option(help="the rubric set to check (default: settings.bank_dir)")
    ] = None,
    drafts: Annotated[
        bool, typer.Option("--drafts", help="check published rubrics plus open drafts")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Non-zero exit when the rubric set agrees with the gold set less than the last published state did."""
    from app.errors import DomainError
    from app.review.service import check
    from app.runtime import Runtime, handed_in

    offline()
    settings = Settings()
    with Runtime(settings) as runtime:
        try:
            bank = runtime.load_bank(None if drafts else bank_dir)
            scorer = runtime.build_scorer(handed_in(ctx.obj))
            with runtime.open_database()() as session:
                result = check(
                    session=session,
                    scorer=scorer,
                    candidate=None if drafts else bank,
                    use_drafts=drafts,
                    metric=metric,
                    margin=margin,
                )
        except DomainError as exc:
            raise fail(exc.message) from exc
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json")))
    else:
        console.print(
            f"baseline  ({result.baseline_source}): {result.baseline.model_dump()}", highlight=False
        )
        console.print(
            f"candidate ({result.candidate_source}): {result.candidate.model_dump()}", highlight=False
        )
    if not result.ok:
        raise fail(f"{metric} got worse by more than {margin}")
    console.print("[green]ok[/]")


@review_app.command("grades")
def review_grades(out: Annotated[Path, typer.Option(help="CSV file to write")] = Path("gold.csv")) -> None:
    """Export the human grades as an `eval` CSV: question, reference_answer, answer, score."""
    from app.review.service import gold_csv
    from app.runtime import database_session

    with database_session(Settings()) as session:
        out.write_text(gold_csv(session=session), encoding="utf-8")
    console.print(f"wrote {out}")
