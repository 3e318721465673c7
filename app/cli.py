"""The `mockinterview` console script: serve, chat in the terminal, score one answer, check the bank."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from app.config import Settings
from app.review.cli import register as register_review_commands
from app.scoring import cli as scoring_cli

if TYPE_CHECKING:
    from app.bank.models import Bank, Level
    from app.interviews.schemas import AnswerOut, Report
    from app.scoring.schemas import ScoreResult
    from app.scoring.scorer import Scorer

__all__ = ["app"]

app = typer.Typer(
    help="Practise deep-learning interviews.", no_args_is_help=True, pretty_exceptions_enable=False
)
bank_app = typer.Typer(help="Check the question bank.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
register_review_commands(app, bank_app)  # keys create/list/revoke, bank export, review check|grades

console = Console()
err = Console(stderr=True)


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


# -- serve -------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _settings() -> Settings:
    """Settings from the environment; a setting that fails validation is a clear error, not a trace."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        raise _fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc


def _keys_ever_enabled(settings: Settings) -> bool:
    from app.db import create_db_engine, create_session_factory, upgrade
    from app.review.keys import DbKeys

    engine = create_db_engine(settings.database_url)
    try:
        upgrade(engine)
        return DbKeys(create_session_factory(engine)).ever_enabled()
    finally:
        engine.dispose()


def bind_problem(host: str, settings: Settings, *, keys_ever_enabled: bool) -> str | None:
    """Why serving on `host` would be unsafe, or None: local mode (no keys) stays on loopback."""
    from app.auth import resolve_auth_mode

    if _is_loopback(host) or resolve_auth_mode(settings, keys_ever_enabled=keys_ever_enabled) == "keys":
        return None
    if settings.unsafe_remote_bind_without_keys:
        err.print(
            f"[yellow]warning:[/] serving {host} without API keys: anyone who reaches it is an admin",
            highlight=False,
        )
        return None
    return (
        f"refusing to bind {host} without API keys (local mode: every caller is an admin). Set "
        "MOCKINTERVIEW_AUTH=keys and create an admin key with `mockinterview keys create --role admin` "
        "(or set MOCKINTERVIEW_API_KEYS)"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default from settings: 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from settings: 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (offline defaults: MiniLM scorer, rubric coach, SQLite)."""
    import uvicorn

    from app.main import create_app

    _offline()
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    problem = bind_problem(host, settings, keys_ever_enabled=_keys_ever_enabled(settings))
    if problem is not None:
        raise _fail(problem)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


# -- chat --------------------------------------------------------------------------------------


def _score_table(score: ScoreResult) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("key point")
    table.add_column("similarity", justify="right")
    for kp in score.key_points:
        table.add_row("[green]✓[/]" if kp.covered else "[red]✗[/]", kp.text, f"{kp.similarity:.2f}")
    return table


def _show_score(score: ScoreResult) -> None:
    colour = {"strong": "green", "acceptable": "yellow"}.get(score.band, "red")
    flags = f"  [dim]{', '.join(score.flags)}[/]" if score.flags else ""
    console.print(f"[bold {colour}]{score.value:.1f}/10 · {score.band}[/]{flags}")
    if score.judge is not None:
        console.print(f"[dim]judge: P(correct) {score.judge.p_correct:.2f} ({score.judge.model})[/]")
    for c in score.contradictions:
        console.print(f'[red]rejected:[/] "{c.sentence}"')
    console.print(_score_table(score))


def _show_report(report: Report) -> None:
    table = Table(title="Report", header_style="bold")
    for col in ("question", "topic", "main", "follow-up", "result"):
        table.add_column(col, justify="right" if col in ("main", "follow-up", "result") else "left")

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    for q in report.questions:
        table.add_row(q.question_id, q.topic, fmt(q.main), fmt(q.follow_up), fmt(q.value))
    console.print(table)
    for t in report.topics:
        console.print(f"  {t.title}: [bold]{t.value:.1f}[/] ({t.band})")
    if report.overall is not None:
        console.print(f"[bold]Overall: {report.overall:.1f}/10 · {report.band}[/]")


def _read_answer() -> str | None:
    """One answer: lines until an empty line (a single line is enough); None at end of input or /quit."""
    lines: list[str] = []
    while True:
        try:
            line = console.input("[bold cyan]> [/]" if not lines else "[cyan]. [/]")
        except EOFError:
            break
        if line.strip() in ("/quit", "/exit"):
            return None
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line)
        if not sys.stdin.isatty():
            break  # piped input: one line per answer
    return "\n".join(lines) if lines else None


async def _chat(
    settings: Settings,
    topics: list[str] | None,
    level: Level | None,
    num: int | None,
    *,
    scorer: Scorer | None = None,
) -> int:
    from app.bank.loader import load_bank
    from app.db import create_db_engine, create_session_factory, upgrade
    from app.interviews import service
    from app.interviews.schemas import InterviewCreate
    from app.judge.registry import create_judge
    from app.llm.registry import create_llm_provider
    from app.scoring.service import build_scorer

    engine = create_db_engine(settings.database_url)
    upgrade(engine)
    sessions = create_session_factory(engine)
    bank = load_bank(settings.bank_dir)
    if scorer is None:
        with console.status("Loading the scorer…"):
            scorer = build_scorer(settings, bank)
    llm = create_llm_provider(settings)
    judge = create_judge(settings)
    with sessions() as session:
        created = service.start_interview(
            session=session,
            bank=bank,
            settings=settings,
            body=InterviewCreate(topics=topics, level=level, num_questions=num),
        )
    console.print(
        f"Interview [bold]{created.id}[/] · {created.num_questions} questions. "
        "Answer, then press Enter on an empty line; /quit stops."
    )
    asked = created.question
    number = 1
    while True:
        title = (
            "Follow-up"
            if asked.follow_up_id or asked.text != bank.questions[asked.id].text
            else (f"Question {number}/{created.num_questions} · {asked.topic} · {asked.level}")
        )
        console.print(Panel(asked.text, title=title, title_align="left"))
        text = _read_answer()
        if text is None:
            console.print(f"Stopped. Resume over the API with id {created.id}.")
            break
        with sessions() as session, console.status("Grading…"):
            out: AnswerOut = await service.answer_interview(
                session=session,
                bank=bank,
                settings=settings,
                scorer=scorer,
                llm=llm,
                judge=judge,
                interview_id=created.id,
                text=text,
                turn=asked.turn,  # never lands on another question, even if re-sent
                idempotency_key=uuid.uuid4().hex,
            )
        _show_score(out.score)
        if out.score.degraded:
            console.print(f"[yellow]judge degraded:[/] {out.score.degraded_reason}")
        console.print(Panel(Markdown(out.feedback), title="Feedback", title_align="left"))
        if out.degraded:
            console.print(f"[yellow]coach degraded:[/] {out.degraded_reason}")
        if out.next_question is None:
            break
        if out.follow_up is None:
            number += 1
        asked = out.next_question
    with sessions() as session:
        _show_report(service.report(session=session, bank=bank, interview_id=created.id))
    if judge is not None:
        judge.close()
    engine.dispose()
    return 0


@app.command()
def chat(
    topic: Annotated[list[str] | None, typer.Option("--topic", "-t", help="topic slug (repeatable)")] = None,
    level: Annotated[str | None, typer.Option(help="beginner, intermediate or advanced")] = None,
    questions: Annotated[
        int | None, typer.Option("--questions", "-n", help="number of main questions")
    ] = None,
) -> None:
    """A whole interview in the terminal, on the same engine and database as the API."""
    from app.bank.models import Level
    from app.errors import DomainError

    _offline()
    try:
        lvl = Level(level) if level else None
    except ValueError:
        raise _fail(f"--level must be one of {', '.join(v.value for v in Level)}") from None
    try:
        asyncio.run(_chat(Settings(), topic or None, lvl, questions))
    except DomainError as exc:
        raise _fail(exc.message) from exc


# -- score -------------------------------------------------------------------------------------


@app.command()
def score(
    answer: Annotated[str, typer.Argument(help="the answer text, or - to read it from stdin")],
    question_id: Annotated[str | None, typer.Option("--question-id", "-q", help="a bank question id")] = None,
    question: Annotated[str | None, typer.Option(help="an ad-hoc question (with --reference)")] = None,
    reference: Annotated[list[str] | None, typer.Option(help="reference answer (repeatable)")] = None,
    key_point: Annotated[list[str] | None, typer.Option("--key-point", help="key point (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the score object as JSON")] = False,
) -> None:
    """Grade one answer against a bank question or an ad-hoc rubric."""
    from pydantic import ValidationError

    from app.bank.loader import load_bank
    from app.errors import DomainError
    from app.interviews.schemas import ScoreRequest
    from app.interviews.service import rubric_for
    from app.judge.base import JudgeUnavailable
    from app.judge.registry import create_judge
    from app.judge.service import degraded, judge_scores
    from app.scoring.service import build_scorer

    _offline()
    settings = Settings()
    text = sys.stdin.read() if answer == "-" else answer
    try:
        request = ScoreRequest(
            answer=text,
            question_id=question_id,
            question=question,
            reference_answer=reference or None,
            key_points=key_point or None,
        )
    except ValidationError as exc:
        raise _fail("; ".join(e["msg"] for e in exc.errors())) from exc
    try:
        bank = load_bank(settings.bank_dir) if question_id else None
        rubric = (
            rubric_for(bank=bank, request=request)
            if bank
            else rubric_for(bank=_empty_bank(), request=request)
        )
        scorer = build_scorer(settings, bank)
        result = scorer.score(rubric, text)
        judge = create_judge(settings)
        if judge is not None:
            try:
                [result] = judge_scores(judge=judge, scorer=scorer, items=[(rubric, text, result)])
            except JudgeUnavailable as exc:
                result = degraded(result, exc.message)
            finally:
                judge.close()
    except DomainError as exc:
        raise _fail(exc.message) from exc
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        _show_score(result)


def _empty_bank() -> Bank:
    from app.bank.models import Bank

    return Bank(questions={}, topics={})


# -- bank --------------------------------------------------------------------------------------


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


@bank_app.command("check")
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
        raise _fail(f"{len(exc.problems)} problem(s) in {bank_dir}") from exc
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
        raise _fail(f"{len(problems)} problem(s) in {bank_dir}")
    console.print(f"[green]ok[/]: {len(bank.questions)} questions in {len(bank.topics)} topics")


@bank_app.command("coverage")
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
        raise _fail(f"the bank does not load; run `mockinterview bank check`:\n{exc}") from exc
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
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
        raise _fail(f"{uncovered} of {len(rows)} seed items are not covered ({covered} covered)")
    console.print(f"[green]ok[/]: all {len(rows)} seed items covered")


# -- scorer evaluation -------------------------------------------------------------------------
app.command("eval")(scoring_cli.eval_command)
app.command("calibrate")(scoring_cli.calibrate_command)
