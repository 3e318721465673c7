"""`mockinterview chat` (a whole interview in the terminal) and `mockinterview score` (one answer)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from app.config import Settings
from app.terminal import console, fail, offline

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.bank.models import Bank, Level
    from app.interviews.schemas import (
        AnswerOut,
        InterviewCreate,
        ModelAnswer,
        QuestionReport,
        Report,
        RetryOut,
    )
    from app.judge.base import Judge
    from app.llm.base import LLMProvider
    from app.scoring.schemas import ScoreResult
    from app.scoring.scorer import Scorer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add these commands to the console script."""
    app.command()(chat)
    app.command()(score)


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

    def marks(q: QuestionReport) -> str:
        notes = []
        for t in q.turns:
            if t.kind != "answered":
                notes.append("skipped" if t.kind == "skipped" else "don't know")
            if t.attempts > 1:
                notes.append(f"best of {t.attempts}: {t.best:.1f}")
        return f" [dim]({'; '.join(notes)})[/]" if notes else ""

    for q in report.questions:
        table.add_row(q.question_id, q.topic, fmt(q.main), fmt(q.follow_up), fmt(q.value) + marks(q))
    console.print(table)
    if report.ended_early:
        console.print(f"Ended early: {report.answered} of {report.total} questions answered.")
    for t in report.topics:
        console.print(f"  {t.title}: [bold]{t.value:.1f}[/] ({t.band})")
    if report.overall is not None:
        console.print(f"[bold]Overall: {report.overall:.1f}/10 · {report.band}[/]")


_COMMANDS = {
    "/model": "show the model answer of the last answered turn, with the key points you covered",
    "/retry": "try the last answered turn again (until you answer the next question)",
    "/skip": "skip this question (counts as 0)",
    "/idk": "I don't know: scored 0, with a note on what a good answer covers",
    "/end": "end the interview now; the report covers what you answered",
    "/quit": "stop for now (go on later with --resume)",
    "/help": "list these commands",
}


def _show_help() -> None:
    for name, what in _COMMANDS.items():
        console.print(f"  [bold]{name}[/]  {what}")


def _show_model_answer(shown: ModelAnswer) -> None:
    marks = {"covered": "[green]✓[/]", "unclear": "[yellow]~[/]", "missing": "[red]✗[/]"}
    console.print(
        Panel(shown.reference_answer, title=f"Model answer · turn {shown.turn}", title_align="left")
    )
    console.print(f"Key points ([green]✓[/] covered in attempt {shown.attempt}):")
    for k in shown.key_points:
        console.print(f"  {marks.get(k.status, '')} {k.text}")


def _show_retry(out: RetryOut) -> None:
    _show_score(out.score)
    sign = "+" if out.change > 0 else ""
    console.print(
        f"Attempt {out.attempt}: [bold]{sign}{out.change:.1f}[/] against attempt {out.previous.attempt} "
        f"({out.previous.value:.1f} → {out.score.value:.1f}); best so far {out.best.value:.1f}"
    )
    console.print(Panel(Markdown(out.feedback), title="Feedback", title_align="left"))


def _read_answer() -> str | None:
    """One answer or command: lines until an empty line (a single line is enough); None at end of
    input or /quit. A command (/retry, /skip, ...) is returned alone as soon as it is typed."""
    lines: list[str] = []
    while True:
        try:
            line = console.input("[bold cyan]> [/]" if not lines else "[cyan]. [/]")
        except EOFError:
            break
        if line.strip() in ("/quit", "/exit"):
            return None
        if not lines and line.strip().lower() in _COMMANDS:
            return line.strip().lower()
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
    resume: str | None = None,
) -> int:
    from app.interviews.schemas import InterviewCreate
    from app.runtime import Runtime

    with Runtime(settings) as runtime:
        sessions = runtime.open_database()
        bank = runtime.load_bank()
        with console.status("Loading the scorer…"):
            scorer = runtime.build_scorer(scorer)
        llm = runtime.build_llm()
        judge = runtime.build_judge()
        return await _interview(
            settings,
            sessions,
            bank,
            scorer,
            llm,
            judge,
            InterviewCreate(topics=topics, level=level, num_questions=num),
            resume,
        )


async def _interview(
    settings: Settings,
    sessions: sessionmaker[Session],
    bank: Bank,
    scorer: Scorer,
    llm: LLMProvider,
    judge: Judge | None,
    body: InterviewCreate,
    resume: str | None = None,
) -> int:
    from app.interviews import coaching, service
    from app.interviews.models import TurnKind

    with sessions() as session:
        if resume is None:
            created = service.start_interview(
                session=session,
                bank=bank,
                settings=settings,
                body=body,
                judge=judge,
            )
            iid, total, asked, number = created.id, created.num_questions, created.question, 1
            last: int | None = None  # the turn /model and /retry apply to: the last one closed
            console.print(
                f"Interview [bold]{iid}[/] · {total} questions. "
                "Answer, then press Enter on an empty line; /help lists the commands."
            )
        else:
            state = service.resume_interview(session=session, bank=bank, interview_id=resume, judge=judge)
            assert state.current_question is not None  # an unfinished interview waits on a question
            iid, total, asked = state.id, len(state.question_ids), state.current_question
            number = state.position + 1
            last = len(state.turns) or None
            console.print(
                f"Interview [bold]{iid}[/] resumed · question {number} of {total}, "
                f"{len(state.turns)} answer(s) so far. /help lists the commands."
            )
    show_question = hint = True
    while True:
        if show_question:
            title = (
                "Follow-up"
                if asked.follow_up_id or asked.text != bank.questions[asked.id].text
                else (f"Question {number}/{total} · {asked.topic} · {asked.level}")
            )
            console.print(Panel(asked.text, title=title, title_align="left"))
            show_question = False
        text = _read_answer()
        if text is None:
            console.print(f"Stopped. Go on later with: mockinterview chat --resume {iid}")
            break
        if text == "/help":
            _show_help()
            continue
        if text in ("/model", "/retry") and last is None:
            console.print("Answer (or /skip, /idk) first; then /model and /retry apply to that turn.")
            continue
        if text == "/model":
            assert last is not None
            with sessions() as session:
                shown = coaching.model_answer(
                    session=session, bank=bank, interview_id=iid, owner=None, turn=last
                )
            _show_model_answer(shown)
            continue
        if text == "/retry":
            assert last is not None
            console.print(f"Try again: your new answer to turn {last}.")
            again = _read_answer()
            if again is None or again in _COMMANDS:
                console.print("No new attempt.")
                continue
            with sessions() as session, console.status("Grading…"):
                retried = await coaching.retry_turn(
                    session=session,
                    bank=bank,
                    settings=settings,
                    scorer=scorer,
                    llm=llm,
                    judge=judge,
                    request=service.TurnRequest(iid, None, last, uuid.uuid4().hex),
                    text=again,
                )
            _show_retry(retried)
            continue
        if text == "/end":
            with sessions() as session:
                coaching.end_interview(
                    session=session,
                    bank=bank,
                    request=service.TurnRequest(iid, None, asked.turn, uuid.uuid4().hex),
                )
            console.print("Interview ended.")
            break
        with sessions() as session, console.status("Grading…"):
            if text in ("/skip", "/idk"):
                out: AnswerOut = coaching.close_turn(
                    session=session,
                    bank=bank,
                    judge=judge,
                    request=service.TurnRequest(iid, None, asked.turn, uuid.uuid4().hex),
                    kind=TurnKind.skipped if text == "/skip" else TurnKind.dont_know,
                )
            else:
                out = await service.answer_interview(
                    session=session,
                    bank=bank,
                    settings=settings,
                    scorer=scorer,
                    llm=llm,
                    judge=judge,
                    interview_id=iid,
                    text=text,
                    turn=asked.turn,  # never lands on another question, even if re-sent
                    idempotency_key=uuid.uuid4().hex,
                )
        last = out.turn
        if text != "/skip":
            _show_score(out.score)
        if out.score.degraded:
            console.print(f"[yellow]judge degraded:[/] {out.score.degraded_reason}")
        console.print(Panel(Markdown(out.feedback), title="Feedback", title_align="left"))
        if out.degraded:
            console.print(f"[yellow]coach degraded:[/] {out.degraded_reason}")
        if out.next_question is None:
            break
        if hint:
            console.print(
                "[dim]/model shows the model answer, /retry tries that turn again; /help lists all.[/]"
            )
            hint = False
        if out.follow_up is None:
            number += 1
        asked, show_question = out.next_question, True
    with sessions() as session:
        _show_report(service.report(session=session, bank=bank, interview_id=iid))
    return 0


def chat(
    ctx: typer.Context,
    topic: Annotated[list[str] | None, typer.Option("--topic", "-t", help="topic slug (repeatable)")] = None,
    level: Annotated[str | None, typer.Option(help="beginner, intermediate or advanced")] = None,
    questions: Annotated[
        int | None, typer.Option("--questions", "-n", help="number of main questions")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="go on with an unfinished interview (its id)")
    ] = None,
) -> None:
    """A whole interview in the terminal, on the same engine and database as the API."""
    from app.bank.models import Level
    from app.errors import DomainError
    from app.runtime import handed_in

    offline()
    try:
        lvl = Level(level) if level else None
    except ValueError:
        raise fail(f"--level must be one of {', '.join(v.value for v in Level)}") from None
    try:
        asyncio.run(
            _chat(Settings(), topic or None, lvl, questions, scorer=handed_in(ctx.obj), resume=resume)
        )
    except DomainError as exc:
        raise fail(exc.message) from exc


def score(
    ctx: typer.Context,
    answer: Annotated[str, typer.Argument(help="the answer text, or - to read it from stdin")],
    question_id: Annotated[str | None, typer.Option("--question-id", "-q", help="a bank question id")] = None,
    question: Annotated[str | None, typer.Option(help="an ad-hoc question (with --reference)")] = None,
    reference: Annotated[list[str] | None, typer.Option(help="reference answer (repeatable)")] = None,
    key_point: Annotated[list[str] | None, typer.Option("--key-point", help="key point (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the score object as JSON")] = False,
) -> None:
    """Grade one answer against a bank question or an ad-hoc rubric."""
    from pydantic import ValidationError

    from app.errors import DomainError
    from app.interviews.schemas import ScoreRequest
    from app.interviews.service import rubric_for
    from app.judge.base import JudgeUnavailable
    from app.judge.service import degraded, judge_scores
    from app.runtime import Runtime, handed_in

    offline()
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
        raise fail("; ".join(e["msg"] for e in exc.errors())) from exc
    try:
        with Runtime(settings) as runtime:
            bank = runtime.load_bank() if question_id else _empty_bank()
            rubric = rubric_for(bank=bank, request=request)
            scorer = runtime.build_scorer(handed_in(ctx.obj))
            result = scorer.score(rubric, text)
            judge = runtime.build_judge()
            if judge is not None:
                try:
                    [result] = judge_scores(judge=judge, scorer=scorer, items=[(rubric, text, result)])
                except JudgeUnavailable as exc:
                    result = degraded(result, exc.message)
    except DomainError as exc:
        raise fail(exc.message) from exc
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        _show_score(result)


def _empty_bank() -> Bank:
    from app.bank.models import Bank

    return Bank(questions={}, topics={})
