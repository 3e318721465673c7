"""The console script: bank check / coverage on a bank and seeds written here, and a whole chat."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support import make_settings, write_bank_file
from typer.testing import CliRunner

from app import cli
from app.bank.models import Bank
from app.interviews import cli as interviews_cli
from app.scoring.scorer import Scorer

runner = CliRunner()

SEEDS = {
    "000_a.txt": "Beginner\n1. What is a neuron?\n2. What is a layer?\n",
    "001_a.txt": "What is a tensor?\nAnswer:\nAn n-dimensional array.\n",
    "002_a.txt": "1. What is backpropagation?\n",
    "003_a.txt": "1. **Q: What is dropout?**\n",
    "004_a.txt": "Convolutional Networks\n",
}


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    d = tmp_path / "seeds"
    d.mkdir()
    for name, text in SEEDS.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def _sources(*sources: str) -> Any:
    def edit(d: dict[str, Any]) -> None:
        d["sources"] = list(sources)

    return edit


def _run(*args: str) -> Any:
    return runner.invoke(cli.app, list(args))


def test_bank_check_ok(tmp_path: Path, seeds: Path, bank: Bank) -> None:
    write_bank_file(tmp_path / "bank", bank, edit=_sources("000:B1"))
    r = _run("bank", "check", "--bank-dir", str(tmp_path / "bank"), "--seeds-dir", str(seeds))
    assert r.exit_code == 0, r.output
    assert "ok" in r.output


def test_bank_check_names_file_and_question(tmp_path: Path, seeds: Path, bank: Bank) -> None:
    [qid] = write_bank_file(tmp_path / "bank", bank, edit=_sources("000:B9"))
    r = _run("bank", "check", "--bank-dir", str(tmp_path / "bank"), "--seeds-dir", str(seeds))
    assert r.exit_code == 1
    assert "sample.yaml" in r.output and qid in r.output and "000:B9" in r.output


def test_bank_check_reports_schema_errors(tmp_path: Path, seeds: Path, bank: Bank) -> None:
    def broken(d: dict[str, Any]) -> None:
        d["key_points"] = d["key_points"][:1]  # fewer than the schema's minimum

    [qid] = write_bank_file(tmp_path / "bank", bank, edit=broken)
    (tmp_path / "bank" / "zz-bad.yaml").write_text("topic: [unclosed\n", encoding="utf-8")
    r = _run("bank", "check", "--bank-dir", str(tmp_path / "bank"), "--seeds-dir", str(seeds))
    assert r.exit_code == 1
    assert f"sample.yaml: question {qid}" in r.output
    assert "zz-bad.yaml" in r.output


def test_bank_coverage(tmp_path: Path, seeds: Path, bank: Bank) -> None:
    write_bank_file(tmp_path / "partial", bank, edit=_sources("000:B1", "002:1"))
    r = _run("bank", "coverage", "--bank-dir", str(tmp_path / "partial"), "--seeds-dir", str(seeds))
    assert r.exit_code == 1, r.output
    assert "MISSING" in r.output and "000:B2" in r.output and "004:convolutional-networks" in r.output
    assert "not covered" in r.output

    everything = ["000:B1", "000:B2", "001:1", "002:1", "003:1", "004:convolutional-networks"]
    write_bank_file(tmp_path / "full", bank, edit=_sources(*everything))
    r = _run("bank", "coverage", "--bank-dir", str(tmp_path / "full"), "--seeds-dir", str(seeds))
    assert r.exit_code == 0, r.output
    assert "MISSING" not in r.output and "all 6 seed items covered" in r.output


def test_chat_runs_a_whole_interview(
    tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'chat.db'}")
    answers = "Gradients flow backwards through the network.\n" * 4
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    screen = Console(file=io.StringIO(), width=120, force_terminal=False)
    monkeypatch.setattr(interviews_cli, "console", screen)
    assert asyncio.run(interviews_cli._chat(settings, None, None, 2, scorer=scorer)) == 0
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "Question 1/2" in out and "Question 2/2" in out
    assert "Feedback" in out and "Report" in out and "Overall" in out


def test_help_lists_commands() -> None:
    r = _run("--help")
    assert r.exit_code == 0
    for name in ("serve", "chat", "score", "bank"):
        assert name in r.output


def test_chat_stops_and_resumes(tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    """/quit says how to go on; `chat --resume ID` asks the question the interview waits on and
    finishes it; a finished interview cannot be resumed."""
    import re

    url = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = make_settings(database_url=url)
    screen = Console(file=io.StringIO(), width=200, force_terminal=False)
    monkeypatch.setattr(interviews_cli, "console", screen)
    monkeypatch.setattr("sys.stdin", io.StringIO("Gradients flow backwards through the network.\n/quit\n"))
    assert asyncio.run(interviews_cli._chat(settings, None, None, 2, scorer=scorer)) == 0
    stopped = screen.file.getvalue()  # type: ignore[attr-defined]
    match = re.search(r"mockinterview chat --resume (\S+)", stopped)
    assert match, stopped
    iid = match.group(1)

    monkeypatch.setattr("sys.stdin", io.StringIO("Weights are updated by the optimizer.\n" * 6))
    assert asyncio.run(interviews_cli._chat(settings, None, None, None, scorer=scorer, resume=iid)) == 0
    resumed = screen.file.getvalue()[len(stopped) :]  # type: ignore[attr-defined]
    assert f"Interview {iid} resumed" in resumed and "1 answer(s) so far" in resumed
    assert "Report" in resumed and "Overall" in resumed

    from app.db import create_db_engine, create_session_factory
    from app.interviews.service import get_interview

    engine = create_db_engine(url)
    with create_session_factory(engine)() as session:
        interview = get_interview(session=session, interview_id=iid)
        assert interview.status == "completed"
        assert interview.turns[0].answer.startswith("Gradients flow backwards")
        assert all(t.answer.startswith("Weights are updated") for t in interview.turns[1:])
    engine.dispose()

    again = runner.invoke(
        cli.app,
        ["chat", "--resume", iid],
        obj=scorer,
        env={"MOCKINTERVIEW_DATABASE_URL": url, "MOCKINTERVIEW_JUDGE": "off"},
    )
    assert again.exit_code == 1 and "completed" in again.output


def test_chat_coaching_commands(tmp_path: Path, scorer: Scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    """/help lists the commands; /model and /retry apply to the last answered turn (a new attempt is
    stored beside the first), /skip stores a skipped turn, /end finishes early with a report."""
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    settings = make_settings(database_url=url)
    screen = Console(file=io.StringIO(), width=200, force_terminal=False)
    monkeypatch.setattr(interviews_cli, "console", screen)
    lines = [
        "/help",
        "/model",  # nothing answered yet
        "It has something to do with computers.",
        "/model",
        "/retry",
        "The loss gradient is computed with the chain rule and every weight moves against it.",
        "/skip",
        "/end",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert asyncio.run(interviews_cli._chat(settings, None, None, 3, scorer=scorer)) == 0
    out = screen.file.getvalue()  # type: ignore[attr-defined]
    for command in ("/model", "/retry", "/skip", "/idk", "/end", "/quit"):
        assert command in out
    assert "Answer (or /skip, /idk) first" in out
    assert "Model answer · turn 1" in out and "Key points" in out
    assert "Attempt 2:" in out and "against attempt 1" in out
    assert "Interview ended." in out and "of 3 questions answered" in out and "skipped" in out

    from app.db import create_db_engine, create_session_factory
    from app.interviews.service import get_interview

    engine = create_db_engine(url)
    with create_session_factory(engine)() as session:
        interview = get_interview(session=session, interview_id=_only_id(session))
        assert interview.status == "completed" and interview.ended_early
        first, second = interview.turns
        assert first.answer.startswith("It has something") and len(first.retries) == 1
        assert first.retries[0]["answer"].startswith("The loss gradient")
        assert second.kind == "skipped"
    engine.dispose()


def _only_id(session: Any) -> str:
    from sqlalchemy import select

    from app.interviews.models import Interview

    [iid] = session.scalars(select(Interview.id)).all()
    return str(iid)
