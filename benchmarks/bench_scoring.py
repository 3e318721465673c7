"""Scoring latency and throughput through the REST API, beside the bare model on the same texts.

Run: .venv/bin/python benchmarks/bench_scoring.py [--answers 64] [--clients 1 8 32]
Starts the real app (`mockinterview serve`, temporary SQLite, the judge off unless
MOCKINTERVIEW_JUDGE is set) in its own process on a free port, posts bank sample answers to
POST /v1/score (fresh answers for every run, so no cache helps), and prints a Markdown table for
the README. "Bare" is the model alone on exactly the texts one scoring encodes (the answer with
its token vectors, and its spans), one answer at a time and all in one batch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx

from app.bank.loader import load_bank
from app.bank.models import Question
from app.config import Settings
from app.scoring.embedders import Embedder
from app.scoring.registry import create_embedder
from app.scoring.text import spans


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def encode_as_scoring(model: Embedder, answers: list[str]) -> None:
    """The bare model on exactly the texts scoring these answers encodes: each answer with its
    token vectors (one pass gives both), then their spans."""
    model.embed_with_tokens(answers)
    model.embed([s for a in answers for s in spans(a)])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run_clients(url: str, payloads: list[dict[str, str]], clients: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            t0 = time.perf_counter()
            r = await client.post(f"{url}/v1/score", json=body)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)

    async with httpx.AsyncClient(timeout=120) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return latencies, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=64)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", api_keys=[])
    bank = load_bank(settings.bank_dir)
    pool = [(q, s.text) for q in bank.questions.values() for s in q.sample_answers]
    # Every run gets answers no earlier run has seen, so no answer-side cache helps it.
    warmup, runs = pool[:4], {}
    for k, n in enumerate(args.clients):
        start = 4 + k * args.answers
        runs[n] = pool[start : start + args.answers]
    model = create_embedder(settings)  # the bare model; the server builds its own scorer

    def bare_single(pairs: list[tuple[Question, str]]) -> float:
        times = []
        for _, answer in pairs:
            t0 = time.perf_counter()
            encode_as_scoring(model, [answer])
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def bare_batch(pairs: list[tuple[Question, str]]) -> float:
        t0 = time.perf_counter()
        encode_as_scoring(model, [answer for _, answer in pairs])
        return len(pairs) / (time.perf_counter() - t0)

    # The server in its own process, as `mockinterview serve` runs it, so the client's own work
    # does not share its interpreter.
    port = _free_port()
    env = {
        **os.environ,
        "MOCKINTERVIEW_DATABASE_URL": settings.database_url,
        "MOCKINTERVIEW_API_KEYS": "",
        "MOCKINTERVIEW_SCORE_RATE_LIMIT": "1000000/minute",  # every simulated client is one address
        # The embedding scorer against the bare model; the judge's seconds per answer have their own
        # benchmark (bench_judge.py). Set MOCKINTERVIEW_JUDGE to time the two together.
        "MOCKINTERVIEW_JUDGE": os.environ.get("MOCKINTERVIEW_JUDGE", "off"),
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mockinterview"), "serve", "--port", str(port)]
        + ["--log-level", "warning"],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        server.kill()
        raise SystemExit("the server did not start")

    def payloads(pairs: list[tuple[Question, str]]) -> list[dict[str, str]]:
        return [{"question_id": q.id, "answer": text} for q, text in pairs]

    asyncio.run(_run_clients(url, payloads(warmup), 1))  # loads the rubric vectors
    bare_single(warmup)

    print(
        "| clients | p50 ms | p95 ms | answers/s | bare p50 ms | bare batch answers/s "
        "| p50 / bare p50 | throughput / bare batch |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, pairs in runs.items():
        single = bare_single(pairs)
        batch_rate = bare_batch(pairs)
        lat, elapsed = asyncio.run(_run_clients(url, payloads(pairs), n))
        rate = len(pairs) / elapsed
        print(
            f"| {n} | {_pct(lat, 0.5) * 1000:.0f} | {_pct(lat, 0.95) * 1000:.0f} | {rate:.1f} "
            f"| {single * 1000:.0f} | {batch_rate:.1f} | {_pct(lat, 0.5) / single:.2f} "
            f"| {rate / batch_rate:.2f} |"
        )
    server.terminate()
    server.wait(timeout=30)


if __name__ == "__main__":
    main()
