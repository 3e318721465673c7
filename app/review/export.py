"""Write the database's published rubrics back to the YAML bank, for review in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from app.bank.models import Bank, Question
from app.rubrics.service import published_questions

__all__ = ["export_bank"]


class _BankDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """YAML the way the bank is written: long prose folded, short lists inline."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:  # the C dumper takes the same nodes
    if len(value) > 80 and "\n" not in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BankDumper.add_representer(str, _str)


def _clean(q: Question) -> dict[str, Any]:
    data = q.model_dump(mode="json", exclude_defaults=True)
    return {k: data[k] for k in Question.model_fields if k in data}


def export_bank(*, session: Session, bank: Bank, out_dir: Path) -> list[Path]:
    """Write the current version of every question to <topic>.yaml files in out_dir."""
    published = published_questions(session)
    by_topic: dict[str, list[Question]] = {}
    for qid, q in bank.questions.items():
        by_topic.setdefault(q.topic, []).append(published.get(qid, (q, 0))[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, questions in sorted(by_topic.items()):
        doc = {
            "topic": topic,
            "title": bank.topics.get(topic, topic),
            "questions": [_clean(q) for q in questions],
        }
        path = out_dir / f"{topic}.yaml"
        path.write_text(
            yaml.dump(doc, Dumper=_BankDumper, sort_keys=False, allow_unicode=True, width=96),
            encoding="utf-8",
        )
        written.append(path)
    return written
