"""Read the seed documents into a checklist of items the bank must cover.

Each seed has its own layout, so each has a small parser; ids are stable and short:
``000:B3`` (beginner 3), ``000:I1``, ``000:A10``; ``001:7`` (the 7th answer);
``002:45`` and ``003:12`` (question numbers); ``004:<slug of the heading>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SeedItem", "read_seed_items"]

_NUMBERED = re.compile(r"^(\d+)\.\s+(.*)$")
_QA_003 = re.compile(r"^(\d+)\.\s+\*\*Q:\s*(.*?)\*\*\s*$")
# 004 lines that look like headings but are not topics: intro, part titles, a formula, the end.
_NOT_TOPICS_004 = {
    "introduction-to-deep-learning-and-interview-preparation",
    "technical-deep-learning-interview-questions-and-key-concepts",
    "advanced-deep-learning-interview-insights-for-experienced-professionals",
    "conclusion",
}


@dataclass(frozen=True)
class SeedItem:
    id: str
    file: str
    line: int
    text: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _seed_000(name: str, lines: list[str]) -> list[SeedItem]:
    items, section = [], ""
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if s in ("Beginner", "Intermediate", "Advanced"):
            section = s[0]
        elif (m := _NUMBERED.match(s)) and section:
            items.append(SeedItem(f"000:{section}{m[1]}", name, n, m[2]))
    return items


def _seed_001(name: str, lines: list[str]) -> list[SeedItem]:
    items: list[SeedItem] = []
    for n, line in enumerate(lines, 1):
        if line.strip() == "Answer:":
            body = next((x.strip() for x in lines[n:] if x.strip()), "")
            items.append(SeedItem(f"001:{len(items) + 1}", name, n, f"(answer) {body}"))
    return items


def _seed_002(name: str, lines: list[str]) -> list[SeedItem]:
    return [
        SeedItem(f"002:{m[1]}", name, n, m[2])
        for n, line in enumerate(lines, 1)
        if (m := _NUMBERED.match(line.strip()))
    ]


def _seed_003(name: str, lines: list[str]) -> list[SeedItem]:
    return [
        SeedItem(f"003:{m[1]}", name, n, m[2])
        for n, line in enumerate(lines, 1)
        if (m := _QA_003.match(line.strip()))
    ]


def _seed_004(name: str, lines: list[str]) -> list[SeedItem]:
    items = []
    for n, line in enumerate(lines, 1):
        s = line.strip()
        heading = (
            s
            and len(s) < 110
            and not s.startswith("-")
            and not s.endswith((".", ":", ","))
            and s[0].isupper()
            and "=" not in s
        )
        if heading and _slug(s) not in _NOT_TOPICS_004:
            items.append(SeedItem(f"004:{_slug(s)}", name, n, s))
    return items


_PARSERS = {"000": _seed_000, "001": _seed_001, "002": _seed_002, "003": _seed_003, "004": _seed_004}


def read_seed_items(seed_dir: Path) -> list[SeedItem]:
    """Every question or topic in the seed documents, in file order."""
    items: list[SeedItem] = []
    for prefix, parse in _PARSERS.items():
        matches = sorted(seed_dir.glob(f"{prefix}_*.txt"))
        if not matches:
            raise FileNotFoundError(f"no seed file {prefix}_*.txt in {seed_dir}")
        path = matches[0]
        items.extend(parse(path.name, path.read_text(encoding="utf-8").splitlines()))
    return items
