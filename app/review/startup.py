"""What the review capability needs at start: rubric versions seeded, database keys consulted."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from app.bank.models import Bank
from app.keys.service import DbKeys
from app.rubrics.service import current_bank, seed_rubrics

__all__ = ["start_review"]

log = logging.getLogger(__name__)


def start_review(app: FastAPI, bank: Bank) -> Bank:
    """Seed version 1 of new bank questions; returns the bank with every question's published version."""
    sessions: sessionmaker[Session] = app.state.session_factory
    app.state.key_lookup = DbKeys(sessions)
    with sessions() as session:
        added = seed_rubrics(session=session, bank=bank)
        if added:
            log.info("seeded %d rubric versions from the bank", added)
        return current_bank(session=session, bank=bank)
