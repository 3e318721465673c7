"""Scoring one answer in process (no HTTP, no batcher) beside the bare model on the same texts.

Run: .venv/bin/python benchmarks/bench_scorer_inprocess.py [--answers 64]
Separates the scorer's own cost from the server's: for each of two fresh sets of bank sample
answers it times the bare model on exactly the texts a scoring encodes (the answer with its token
vectors, then its spans), then `Scorer.score` on the same answers, and prints the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_scoring import encode_as_scoring  # its sibling: a script run puts this folder on sys.path

from app.bank.loader import load_bank
from app.config import Settings
from app.scoring.schemas import Rubric
from app.scoring.service import build_scorer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=64)
    args = parser.parse_args()
    settings = Settings()
    bank = load_bank(settings.bank_dir)
    scorer = build_scorer(settings, bank)
    model = scorer.embedder
    pool = [(Rubric.from_question(q), s.text) for q in bank.questions.values() for s in q.sample_answers]
    for rubric, answer in pool[:4]:  # warm-up
        scorer.score(rubric, answer)
    print("| answers | bare p50 ms | scorer p50 ms | scorer / bare |")
    print("|---|---|---|---|")
    for start in (300, 300 + 2 * args.answers):
        items = pool[start : start + args.answers]
        bare, scored = [], []
        for _, answer in items:
            t0 = time.perf_counter()
            encode_as_scoring(model, [answer])
            bare.append(time.perf_counter() - t0)
        for rubric, answer in items:
            t0 = time.perf_counter()
            scorer.score(rubric, answer)
            scored.append(time.perf_counter() - t0)
        b, s = statistics.median(bare), statistics.median(scored)
        print(f"| {len(items)} | {b * 1000:.0f} | {s * 1000:.0f} | {s / b:.2f} |")


if __name__ == "__main__":
    main()
