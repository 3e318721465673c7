"""Builds the scorer the app and the CLI share."""

from __future__ import annotations

import logging

from app.config import Settings
from app.scoring.calibration import Calibration
from app.scoring.embedders import EmbeddingCache, create_embedder
from app.scoring.scorer import Scorer

__all__ = ["build_scorer"]

log = logging.getLogger(__name__)


def build_scorer(settings: Settings) -> Scorer:
    """Embedder from settings, rubric-vector cache on disk, stored calibration if there is one."""
    embedder = create_embedder(settings)
    cache = EmbeddingCache(embedder, settings.cache_dir)
    calibration = (
        Calibration.load(settings.calibration_path)
        if settings.calibration_path.exists()
        else Calibration.identity()
    )
    log.info("scorer ready: embedder=%s calibration=%s", embedder.model_id, calibration.name)
    return Scorer(cache, calibration)
