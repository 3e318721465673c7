"""`mockinterview bank check` and `bank coverage`: the question bank's own checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.config import Settings
from app.terminal import console, err, fail

__all__ = ["bank_app", "register"]

bank_app = typer.Typer(help="Check the question bank.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `bank` group (check, coverage) to the console script; review adds `bank export`."""
    bank_app.command("check")(bank_check)
    bank_app.command("coverage")(bank_coverage)
    app.add_typer(bank_app, name="bank")


def _file_of_ids(bank_dir: Path) -> dict[str, str]:
    """Question id -> the YAML file defining it, so every problem can name its file."""
    from app.bank.loader import BankError, load_bank_file

    where: dict[str, str] = {}
    for path in sorted(bank_dir.glob("*.yaml")):
        try:
            for q in load_bank_file(path).questions:
                where.setdefault(q.id, path.name)
        except BankError:
            continue
    return where


_QUESTION_IN = re.compile(r"^question (\S+?):")


def bank_check(
    bank_dir: Annotated[Path | None, typer.Option(help="default: settings.bank_dir")] = None,
    seeds_dir: Annotated[Path | None, typer.Option(help="default: settings.seeds_dir")] = None,
) -> None:
    """Load every file, run the cross-question checks and validate sources; non-zero exit on any problem."""
    from app.bank.loader import BankError, check_bank, load_bank, unknown_sources
    from app.bank.seeds import read_seed_items

    settings = Settings()
    bank_dir = bank_dir or settings.bank_dir
    seeds_dir = seeds_dir or settings.seeds_dir
    try:
        bank = load_bank(bank_dir)
    except BankError as exc:
        for problem in exc.problems:
            err.print(problem, highlight=False, markup=False)
        raise fail(f"{len(exc.problems)} problem(s) in {bank_dir}") from exc
    problems = check_bank(bank)
    try:
        problems += unknown_sources(bank, read_seed_items(seeds_dir))
    except FileNotFoundError as exc:
        problems.append(f"seeds: {exc}")
    where = _file_of_ids(bank_dir)
    for problem in problems:
        m = _QUESTION_IN.match(problem)
        prefix = f"{where.get(m[1], '?')}: " if m else ""
        err.print(prefix + problem, highlight=False, markup=False)
    if problems:
        raise fail(f"{len(problems)} problem(s) in {bank_dir}")
    console.print(f"[green]ok[/]: {len(bank.questions)} questions in {len(bank.topics)} topics")


def bank_coverage(
    bank_dir: Annotated[Path | None, typer.Option(help="default: settings.bank_dir")] = None,
    seeds_dir: Annotated[Path | None, typer.Option(help="default: settings.seeds_dir")] = None,
    missing_only: Annotated[bool, typer.Option("--missing", help="list only uncovered items")] = False,
) -> None:
    """Each seed item with the questions covering it; non-zero exit while any item is uncovered."""
    from app.bank.loader import BankError, coverage, load_bank

    settings = Settings()
    bank_dir = bank_dir or settings.bank_dir
    seeds_dir = seeds_dir or settings.seeds_dir
    try:
        rows = coverage(load_bank(bank_dir), seeds_dir)
    except BankError as exc:
        raise fail(f"the bank does not load; run `mockinterview bank check`:\n{exc}") from exc
    except FileNotFoundError as exc:
        raise fail(str(exc)) from exc
    table = Table(header_style="bold", title=f"Seed coverage ({seeds_dir})")
    table.add_column("item")
    table.add_column("where")
    table.add_column("text", overflow="fold", max_width=60)
    table.add_column("covered by", overflow="fold")
    uncovered = 0
    for item, ids in rows:
        uncovered += not ids
        if missing_only and ids:
            continue
        table.add_row(
            item.id, f"{item.file}:{item.line}", item.text[:120], ", ".join(ids) or "[red]MISSING[/]"
        )
    console.print(table)
    for item, ids in rows:  # plain lines too: greppable, and readable in narrow CI logs
        if not ids:
            err.print(
                f"{item.file}:{item.line}: {item.id} not covered",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
    covered = len(rows) - uncovered
    if uncovered:
        raise fail(f"{uncovered} of {len(rows)} seed items are not covered ({covered} covered)")
    console.print(f"[green]ok[/]: all {len(rows)} seed items covered")
