"""`mockinterview keys create|list|revoke`, `bank export`, `review check|grades` (added by app/cli.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from app.auth import Role
from app.config import Settings
from app.terminal import console, err, fail, offline

__all__ = ["register"]


keys_app = typer.Typer(help="Manage API keys (stored hashed in the database).", no_args_is_help=True)
review_app = typer.Typer(help="Rubric review: agreement with human grades.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `keys`, `review` and `bank export` to the console script (after the bank's own group)."""
    from app.bank.cli import bank_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(review_app, name="review")
    bank_app.command("export")(bank_export)


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from app.runtime import Runtime

    with Runtime(settings) as runtime, runtime.open_database()() as session:
        yield session


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="candidate, reviewer or admin")] = Role.candidate,
    label: Annotated[str, typer.Option(help="who or what the key is for")] = "",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from app.review.keys import create_key

    with _session(Settings()) as session:
        made = create_key(session=session, role=role, label=label)
    err.print(f"created key {made.id} ({made.role}); it is shown only now:")
    typer.echo(made.key)  # stdout carries only the secret: KEY=$(mockinterview keys create ...)


@keys_app.command("list")
def keys_list() -> None:
    """Every key without its secret."""
    from app.review.keys import list_keys

    with _session(Settings()) as session:
        rows = list_keys(session=session)
    table = Table(header_style="bold")
    for col in ("id", "prefix", "role", "label", "created", "revoked"):
        table.add_column(col)
    for k in rows:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else ""
        created = k.created_at.isoformat(timespec="seconds")
        table.add_row(str(k.id), k.prefix + "…", k.role, k.label, created, revoked)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the id from `keys list`")]) -> None:
    """Revoke a key at once (running servers see it on the next request)."""
    from app.errors import DomainError
    from app.review.keys import revoke_key

    with _session(Settings()) as session:
        try:
            revoke_key(session=session, key_id=key_id)
        except DomainError as exc:
            raise fail(exc.message) from exc
    console.print(f"revoked key {key_id}")


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
    with _session(settings) as session:
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

    with _session(Settings()) as session:
        out.write_text(gold_csv(session=session), encoding="utf-8")
    console.print(f"wrote {out}")
