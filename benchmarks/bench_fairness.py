"""Fair scoring under a flood: a normal `POST /v1/score` (a bank question, a short answer) from one
key, alone and while another key floods the largest ad-hoc rubrics the limits allow (20 key points,
5 reference answers, a question, each of 2,000 characters, and an 8,000-character answer; every
text fresh, so no vector cache helps). Prints the normal call's p50/p95/max and the flood's rate.

    .venv/bin/python benchmarks/bench_fairness.py --flooders 8 --normal 20

The server is this checkout's `mockinterview serve` (judge off) in a process of its own, with two
API keys so that the two callers are told apart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FLOOD_KEY, NORMAL_KEY = "bench-flood-key-0123456789", "bench-normal-key-0123456789"
ANSWER = (
    "Dropout randomly zeroes a fraction of activations during training so units cannot co-adapt; "
    "at inference every unit is kept and activations are scaled, which acts like averaging many networks."
)
WORDS = (
    "gradient descent weight decay batch normalisation attention head residual layer embedding token "
    "softmax logits entropy variance bias regulariser optimiser momentum learning rate schedule warmup "
    "convolution kernel stride padding pooling recurrent hidden state gate encoder decoder transformer "
    "loss validation overfitting dropout activation sigmoid tanh relu initialisation scale norm vector"
).split()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server() -> Iterator[str]:
    port = _port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MOCKINTERVIEW_DATABASE_URL": f"sqlite:///{tmp}/fair.db",
            "MOCKINTERVIEW_JUDGE": "off",
            "MOCKINTERVIEW_LLM": "rubric",
            "MOCKINTERVIEW_AUTH": "keys",
            "MOCKINTERVIEW_API_KEYS": f"{FLOOD_KEY},{NORMAL_KEY}",
            "MOCKINTERVIEW_SCORE_RATE_LIMIT": "1000000/minute",
        }
        # `python -c` from the checkout's root, so this checkout's `app` is the one served.
        cmd = [sys.executable, "-c", "from app.cli import app; app()", "serve", "--port", str(port)]
        proc = subprocess.Popen(
            [*cmd, "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def _largest(rng: random.Random) -> dict[str, object]:
    """The largest ad-hoc request the default limits allow, all of its texts new."""
    return {
        "question": _text(rng, 2000),
        "reference_answer": [_text(rng, 2000) for _ in range(5)],
        "key_points": [_text(rng, 2000) for _ in range(20)],
        "answer": _text(rng, 8000),
    }


async def _normal(client: httpx.AsyncClient, url: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        r = await client.post(
            f"{url}/v1/score",
            json={"question_id": "dropout-basics", "answer": ANSWER},
            headers={"Authorization": f"Bearer {NORMAL_KEY}"},
        )
        latencies.append(time.perf_counter() - t0)
        r.raise_for_status()
        await asyncio.sleep(0.2)
    return latencies


async def _flooder(client: httpx.AsyncClient, url: str, seed: int, stop: asyncio.Event) -> list[float]:
    rng = random.Random(seed)
    latencies = []
    while not stop.is_set():
        t0 = time.perf_counter()
        r = await client.post(
            f"{url}/v1/score", json=_largest(rng), headers={"Authorization": f"Bearer {FLOOD_KEY}"}
        )
        latencies.append(time.perf_counter() - t0)
        r.raise_for_status()
    return latencies


def _summary(name: str, latencies: list[float]) -> str:
    lat = sorted(latencies)
    p95 = lat[round(0.95 * (len(lat) - 1))]
    return (
        f"  {name}: {len(lat)} calls, p50 {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )


async def _run(url: str, flooders: int, normal: int, warmup_s: float) -> None:
    async with httpx.AsyncClient(timeout=600) as client:
        await _normal(client, url, 3)  # first calls load what the scorer loads lazily
        print(_summary("normal score, alone", await _normal(client, url, normal)))
        stop = asyncio.Event()
        t0 = time.perf_counter()
        flood = [asyncio.create_task(_flooder(client, url, i, stop)) for i in range(flooders)]
        await asyncio.sleep(warmup_s)  # let the flood fill the queue
        measured = await _normal(client, url, normal)
        stop.set()
        done = await asyncio.gather(*flood)
        elapsed = time.perf_counter() - t0
        print(_summary(f"normal score, while {flooders} clients flood", measured))
        big = [x for d in done for x in d]
        print(_summary("flood (largest ad-hoc rubric)", big))
        print(f"  flood rate: {len(big) / elapsed:.2f} requests/s over {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flooders", type=int, default=8, help="concurrent clients of the flooding key")
    parser.add_argument("--normal", type=int, default=20, help="normal scores measured (one at a time)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of flood before measuring")
    args = parser.parse_args()
    with _server() as url:
        asyncio.run(_run(url, args.flooders, args.normal, args.warmup))


if __name__ == "__main__":
    main()
