"""Scoring latency and throughput through the REST API, beside the bare model on the same texts.

Run: .venv/bin/python benchmarks/bench_scoring.py [--answers 64] [--clients 1 8 32]
Starts the real app (uvicorn, temporary SQLite) on a free loopback port, posts bank sample
answers to POST /v1/score, and prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx
import uvicorn

from app.bank.loader import load_bank
from app.config import Settings
from app.main import create_app
from app.scoring.service import build_scorer
from app.scoring.text import spans


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    scorer = build_scorer(settings)
    bank = load_bank(settings.bank_dir)
    pairs = [(q, s.text) for q in bank.questions.values() for s in q.sample_answers][: args.answers]
    payloads = [{"question_id": q.id, "answer": text} for q, text in pairs]

    # The bare model on exactly the texts one scoring encodes (answer + spans), one answer at a time,
    # and all of them in one batch: the floor for latency and the ceiling for throughput.
    texts = [[t, *spans(t)] for _, t in pairs]
    model = scorer.embedder
    model.embed_with_tokens(texts[0])
    single = []
    for group in texts:
        t0 = time.perf_counter()
        model.embed_with_tokens(group[:1])
        model.embed(group[1:])
        single.append(time.perf_counter() - t0)
    flat = [t for g in texts for t in g]
    t0 = time.perf_counter()
    model.embed(flat)
    batch_rate = len(texts) / (time.perf_counter() - t0)

    port = _free_port()
    app = create_app(settings, scorer=scorer)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    asyncio.run(_run_clients(url, payloads[:4], 1))  # warm-up

    print(f"bare model, one answer at a time: p50 {statistics.median(single) * 1000:.0f} ms")
    print(f"bare model, one batch: {batch_rate:.1f} answers/s\n")
    print("| clients | p50 ms | p95 ms | answers/s | p50 / bare p50 | throughput / batch |")
    print("|---|---|---|---|---|---|")
    for n in args.clients:
        lat, elapsed = asyncio.run(_run_clients(url, payloads, n))
        rate = len(payloads) / elapsed
        print(
            f"| {n} | {_pct(lat, 0.5) * 1000:.0f} | {_pct(lat, 0.95) * 1000:.0f} | {rate:.1f} "
            f"| {_pct(lat, 0.5) / statistics.median(single):.2f} | {rate / batch_rate:.2f} |"
        )
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
