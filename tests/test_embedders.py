"""MiniLM on its two runtimes: ONNX Runtime (default) and torch give the same vectors and scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.bank.models import Bank
from app.scoring.embedders import EmbeddingCache, MiniLMEmbedder
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer
from tests.support import make_settings

TEXTS = [
    "Dropout zeroes a random subset of activations during training.",
    "ok",
    "Batch normalisation rescales each feature with the statistics of the mini-batch; "
    "at inference it uses running averages instead, so one example's output does not depend on the others.",
    "flarn quibbet zorp waddle-frum",
    # longer than the model's 256-token window: both runtimes must cut it at the same place
    " ".join(["gradient descent follows the negative gradient of the loss"] * 40),
]


@pytest.fixture(scope="module")
def on_torch() -> MiniLMEmbedder:
    return MiniLMEmbedder(make_settings(minilm_backend="torch"))


def test_onnx_export_is_made_once_and_gives_torchs_vectors(on_torch: MiniLMEmbedder, tmp_path: Path) -> None:
    onnx = MiniLMEmbedder(make_settings(cache_dir=tmp_path))
    assert onnx.describe()["backend"] == "onnxruntime" and "degraded" not in onnx.describe()
    exported = list((tmp_path / "onnx").glob("*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    again = MiniLMEmbedder(make_settings(cache_dir=tmp_path))  # a restart reuses the export
    assert again.backend == "onnxruntime" and exported[0].stat().st_mtime_ns == stamp

    vecs, toks = onnx.embed_with_tokens(TEXTS)
    want_vecs, want_toks = on_torch.embed_with_tokens(TEXTS)
    assert np.abs(vecs - want_vecs).max() < 1e-5
    for got, want in zip(toks, want_toks, strict=True):
        assert got.shape == want.shape
        assert np.abs(got - want).max() < 1e-5
    assert np.abs(onnx.embed(TEXTS) - on_torch.embed(TEXTS)).max() < 1e-5
    assert [onnx.word_pieces(t) for t in TEXTS] == [on_torch.word_pieces(t) for t in TEXTS]


def test_both_runtimes_score_alike(
    scorer: Scorer, on_torch: MiniLMEmbedder, bank: Bank, tmp_path: Path
) -> None:
    assert scorer.embedder.describe()["backend"] == "onnxruntime"  # the default
    torch_scorer = Scorer(EmbeddingCache(on_torch, tmp_path), scorer.calibration)
    items = [
        (Rubric.from_question(q), s.text)
        for q in sorted(bank.questions.values(), key=lambda q: q.id)[:8]
        for s in q.sample_answers
    ]
    for a, b in zip(scorer.score_many(items), torch_scorer.score_many(items), strict=True):
        assert abs(a.value - b.value) <= 0.02
        assert a.flags == b.flags


def test_a_failed_export_falls_back_to_torch_and_says_so(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    embedder = MiniLMEmbedder(make_settings(cache_dir=blocked))
    described = embedder.describe()
    assert described["backend"] == "torch"
    assert "onnxruntime unavailable" in described["degraded"]
    assert embedder.embed(["dropout"]).shape == (1, 384)
