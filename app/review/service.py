"""The review capability's service: versioned rubric drafts, agreement with human grades, the
grading queue and the bank export, each in its own module; keyword-only, no HTTP here.

The YAML bank seeds version 1 of every question; after that the database is the source of truth
for rubrics (`app.rubrics.service.current_question`), and `export_bank` writes it back to YAML for
review in git.
"""

from __future__ import annotations

from app.review.agreement import (
    GoldItem,
    agreement_report,
    agreement_stats,
    check,
    gold_set,
    list_questions,
    whatif,
)
from app.review.drafts import discard_draft, get_draft, publish, revert, save_draft, versions
from app.review.export import export_bank
from app.review.grading import add_grade, gold_csv, queue

__all__ = [
    "GoldItem",
    "add_grade",
    "agreement_report",
    "agreement_stats",
    "check",
    "discard_draft",
    "export_bank",
    "get_draft",
    "gold_csv",
    "gold_set",
    "list_questions",
    "publish",
    "queue",
    "revert",
    "save_draft",
    "versions",
    "whatif",
]
