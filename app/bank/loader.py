"""Load and check the YAML bank; every problem names its file and question."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from app.bank.models import Bank, BankFile, Question
from app.bank.seeds import SeedItem, read_seed_items

__all__ = ["BankError", "check_bank", "coverage", "load_bank", "load_bank_file"]


class BankError(Exception):
    """The bank does not load or does not pass its checks."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _where(path: Path, data: object, loc: tuple[int | str, ...]) -> str:
    """Name the question a pydantic error location points into, if it does."""
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int) and isinstance(data, dict):
        questions = data.get("questions") or []
        if loc[1] < len(questions) and isinstance(questions[loc[1]], dict):
            return f"{path.name}: question {questions[loc[1]].get('id', f'#{loc[1]}')}"
    return path.name


def load_bank_file(path: Path) -> BankFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BankError([f"{path.name}: not valid YAML: {exc}"]) from exc
    try:
        return BankFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc)
            problems.append(f"{_where(path, data, loc)}: {field}: {err['msg']}")
        raise BankError(problems) from exc


def _bank_files(bank_dir: Path) -> list[Path]:
    return sorted(p for p in bank_dir.glob("*.yaml"))


def load_bank(bank_dir: Path) -> Bank:
    """Load every file; raise BankError listing all problems at once."""
    problems: list[str] = []
    questions: dict[str, Question] = {}
    topics: dict[str, str] = {}
    where: dict[str, str] = {}
    files = _bank_files(bank_dir)
    if not files:
        raise BankError([f"no *.yaml files in {bank_dir}"])
    for path in files:
        try:
            bank_file = load_bank_file(path)
        except BankError as exc:
            problems.extend(exc.problems)
            continue
        if bank_file.topic in topics:
            problems.append(f"{path.name}: topic {bank_file.topic!r} is also used by another file")
        topics[bank_file.topic] = bank_file.title
        for q in bank_file.questions:
            if q.id in questions:
                problems.append(f"{path.name}: question {q.id}: duplicate id (also in {where[q.id]})")
                continue
            questions[q.id] = q
            where[q.id] = path.name
    if problems:
        raise BankError(problems)
    return Bank(questions=questions, topics=topics)


def check_bank(bank: Bank) -> list[str]:
    """Checks across questions that the schema cannot express."""
    problems = []
    for q in bank.questions.values():
        for s in q.sample_answers:
            if s.label == "strong" and s.score < 7:
                problems.append(f"question {q.id}: strong sample scored {s.score} (< 7)")
            if s.label == "wrong" and s.score > 2.5:
                problems.append(f"question {q.id}: wrong sample scored {s.score} (> 2.5)")
            if s.label == "partial" and not 2.5 <= s.score <= 7:
                problems.append(f"question {q.id}: partial sample scored {s.score} (not 2.5-7)")
    return problems


def coverage(bank: Bank, seed_dir: Path) -> list[tuple[SeedItem, list[str]]]:
    """Each seed item with the bank question ids whose `sources` name it."""
    by_source: dict[str, list[str]] = {}
    for q in bank.questions.values():
        for src in q.sources:
            by_source.setdefault(src, []).append(q.id)
    return [(item, sorted(by_source.get(item.id, []))) for item in read_seed_items(seed_dir)]


def unknown_sources(bank: Bank, items: Iterable[SeedItem]) -> list[str]:
    """Sources that name no seed item (a typo would otherwise count as coverage of nothing)."""
    known = {i.id for i in items}
    return [
        f"question {q.id}: unknown source {s!r}"
        for q in bank.questions.values()
        for s in q.sources
        if s not in known
    ]
