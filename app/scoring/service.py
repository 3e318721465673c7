"""Builds the scorer the app and the CLI share."""

from __future__ import annotations

import logging

from app.bank.models import Bank
from app.config import Settings
from app.scoring.calibration import Calibration
from app.scoring.embedders import EmbeddingCache
from app.scoring.registry import create_embedder
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer

__all__ = ["build_scorer", "use_bank"]

log = logging.getLogger(__name__)


def build_scorer(settings: Settings, bank: Bank | None = None) -> Scorer:
    """Embedder from settings, rubric-vector cache on disk, stored calibration if there is one;
    with a bank, its rubrics become the neighbours an answer to one of them is checked against."""
    embedder = create_embedder(settings)
    cache = EmbeddingCache(embedder, settings.cache_dir)
    calibration = (
        Calibration.load(settings.calibration_path)
        if settings.calibration_path.exists()
        else Calibration.identity()
    )
    log.info("scorer ready: embedder=%s calibration=%s", embedder.model_id, calibration.name)
    scorer = Scorer(cache, calibration)
    if bank is not None:
        use_bank(scorer, bank)
    return scorer


def use_bank(scorer: Scorer, bank: Bank) -> None:
    """Tell the scorer which other questions exist (for the `other_question` guard)."""
    scorer.set_neighbours([Rubric.from_question(q) for q in bank.questions.values()])
