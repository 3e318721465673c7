"""Helpers for the tests: a unique module name, so it never collides with another folder's conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.bank.models import Bank
from app.config import Settings

__all__ = ["AppFactory", "make_settings", "write_bank_file"]

AppFactory = Callable[..., TestClient]


def make_settings(**overrides: Any) -> Settings:
    """Settings for a test: no .env file, local mode unless the test sets keys."""
    # Tests send many wrong keys on purpose; tests/test_rate_limit.py sets its own limit.
    values: dict[str, Any] = {
        "api_keys": [],
        "llm": "rubric",
        "judge": "off",
        "auth_failure_limit": "10000/minute",
        "score_rate_limit": "100000/minute",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def write_bank_file(
    directory: Path, bank: Bank, *, count: int = 1, edit: Callable[[dict[str, Any]], None] | None = None
) -> list[str]:
    """Copy a few real questions into a one-topic YAML file in `directory`; returns their ids."""
    import yaml

    questions = sorted(bank.questions.values(), key=lambda q: q.id)[:count]
    data = [q.model_dump(mode="json", exclude_defaults=False) for q in questions]
    for d in data:
        d["topic"] = "sample"
        if edit is not None:
            edit(d)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sample.yaml").write_text(
        yaml.safe_dump({"topic": "sample", "title": "Sample", "questions": data}, sort_keys=False),
        encoding="utf-8",
    )
    return [d["id"] for d in data]
