"""The correctness judge's latency per answer, and a typed turn's end-to-end time with it.

Run: .venv/bin/python benchmarks/bench_judge.py [--questions 10] [--turns 10]
Uses a fresh verdict cache (every verdict comes from the model). For each of `--questions` bank
questions (a seeded pick) it judges the first sample answer (the cold call: the rubric prefix is
evaluated too), then times each further sample answer alone, as a server request does (a warm
prefix): the verdict and, where the calibration weighs them, one question per key point. Then it
plays `--turns` typed turns through the API (TestClient, the real scorer and judge,
SQLite in a temp folder) and times each POST of an answer: once sent the moment the question is
asked, once after the judge has primed the question's prefix (as while a candidate types).
Prints p50/p95/max.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fastapi.testclient import TestClient

from app.bank.loader import load_bank
from app.config import Settings
from app.judge.local import LocalJudge
from app.judge.service import judge_item, point_items, wants_points
from app.main import create_app
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer
from app.scoring.service import build_scorer


def _stats(name: str, seconds: list[float]) -> str:
    xs = sorted(seconds)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"| {name} | {len(xs)} | {statistics.median(xs):.2f} | {p95:.2f} | {xs[-1]:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    base = Settings()
    bank = load_bank(base.bank_dir)
    settings = base.model_copy(update={"cache_dir": tmp, "judge_model": None})
    judge = LocalJudge(settings.model_copy(update={"judge_model": _packaged(base)}))
    t0 = time.perf_counter()
    judge.load()
    print(f"model load: {time.perf_counter() - t0:.1f} s, {judge.settings.judge_threads} threads")
    scorer = build_scorer(base, bank)
    ids = sorted(bank.questions)
    random.Random(3).shuffle(ids)
    cold: list[float] = []
    warm: list[float] = []
    asked: list[int] = []
    for qid in ids[: args.questions]:
        q = bank.questions[qid]
        rubric = Rubric.from_question(q)
        for i, sample in enumerate(q.sample_answers):
            text = Scorer.clean_text(sample.text)
            # What a server request asks: the verdict, and each key point where the calibration
            # weighs them.
            items = [judge_item(rubric, text)]
            if wants_points(scorer.calibration, rubric):
                items += point_items(rubric, text)
            asked.append(len(items))
            t0 = time.perf_counter()
            judge.p_correct_many(items)
            (cold if i == 0 else warm).append(time.perf_counter() - t0)
    print(f"questions asked of the judge per answer: {statistics.mean(asked):.1f} (verdict + key points)")
    print("| judge call | n | p50 s | p95 s | max s |")
    print("|---|---|---|---|---|")
    print(_stats("cold prefix (first answer to a question)", cold))
    print(_stats("warm prefix (another answer to it)", warm))

    app_settings = base.model_copy(update={"database_url": f"sqlite:///{tmp / 'db.sqlite'}", "api_keys": []})
    with TestClient(create_app(app_settings, scorer=scorer, judge=judge)) as client:
        for typing in (False, True):
            turns: list[float] = []
            while len(turns) < args.turns:
                started = client.post("/v1/interviews", json={"num_questions": 3}).json()
                iid, question = started["id"], started["question"]
                while question is not None and len(turns) < args.turns:
                    q = bank.questions[question["id"]]
                    text = q.sample_answers[len(turns) % len(q.sample_answers)].text
                    if typing:  # the candidate types for as long as the judge needs to prime
                        judge._executor.submit(lambda: None).result()
                    t0 = time.perf_counter()
                    answer = {"text": text, "turn": question["turn"]}
                    out = client.post(f"/v1/interviews/{iid}/answers", json=answer).json()
                    turns.append(time.perf_counter() - t0)
                    question = out["next_question"]
            label = "after typing time (judge primed)" if typing else "answered at once (prime not done)"
            print(_stats(f"typed turn, POST answer (score + judge + feedback), {label}", turns))
    judge.close()


def _packaged(settings: Settings) -> Path:
    from app.judge.model import assemble

    return assemble(settings.cache_dir)


if __name__ == "__main__":
    main()
