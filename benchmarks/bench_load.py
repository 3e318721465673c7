"""Load: N concurrent interviews answered to the end against real servers, one instance on SQLite and
two on one PostgreSQL schema; prints errors by status, p50/p95 per answer, throughput, and answers
lost or duplicated, counted from the stored transcripts.

    .venv/bin/python benchmarks/bench_load.py --interviews 50 --questions 5 --backend both

The servers run `mockinterview serve` with the offline defaults except the judge (off: its CPU cost
would dominate; bench_judge.py measures it). Every answer sends `turn` and an Idempotency-Key.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ANSWER = (
    "Dropout randomly zeroes a fraction of activations during training so units cannot co-adapt; "
    "at inference every unit is kept and activations are scaled, which acts like averaging many networks."
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _servers(database_url: str, count: int) -> Iterator[list[str]]:
    env = {
        **os.environ,
        "MOCKINTERVIEW_DATABASE_URL": database_url,
        "MOCKINTERVIEW_JUDGE": "off",
        "MOCKINTERVIEW_LLM": "rubric",
        "MOCKINTERVIEW_API_KEYS": "",
        "MOCKINTERVIEW_AUTH": "local",
        "MOCKINTERVIEW_SCORE_RATE_LIMIT": "1000000/minute",  # one address sends every client's answers
    }
    procs, urls = [], []
    try:
        for _ in range(count):
            port = _port()
            exe = Path(sys.executable).with_name("mockinterview")
            procs.append(
                subprocess.Popen(
                    [str(exe), "serve", "--port", str(port), "--log-level", "warning"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 300
        for url in urls:
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not start")
                time.sleep(0.5)
        yield urls
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


async def _interview(
    i: int, urls: list[str], questions: int, latencies: list[float], statuses: Counter[int]
) -> tuple[str, set[int]] | None:
    async with httpx.AsyncClient(timeout=120) as client:
        r = await client.post(f"{urls[i % len(urls)]}/v1/interviews", json={"num_questions": questions})
        statuses[r.status_code] += 1
        if r.status_code != 201:
            return None
        iid, turn = r.json()["id"], r.json()["question"]["turn"]
        acknowledged: set[int] = set()
        k = 0
        while True:
            url = urls[(i + k) % len(urls)]  # alternate instances turn by turn
            k += 1
            t0 = time.perf_counter()
            r = await client.post(
                f"{url}/v1/interviews/{iid}/answers",
                json={"text": ANSWER, "turn": turn},
                headers={"Idempotency-Key": secrets.token_hex(8)},
            )
            latencies.append(time.perf_counter() - t0)
            statuses[r.status_code] += 1
            if r.status_code != 200:
                return iid, acknowledged
            body = r.json()
            acknowledged.add(body["turn"])
            if body["status"] == "completed":
                return iid, acknowledged
            turn = body["next_question"]["turn"]


async def _run(urls: list[str], interviews: int, questions: int) -> None:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    t0 = time.perf_counter()
    done = await asyncio.gather(
        *(_interview(i, urls, questions, latencies, statuses) for i in range(interviews))
    )
    elapsed = time.perf_counter() - t0
    lost = duplicated = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for item in done:
            if item is None:
                continue
            iid, acknowledged = item
            turns = (await client.get(f"{urls[0]}/v1/interviews/{iid}")).json()["turns"]
            numbers = [t["number"] for t in turns]
            duplicated += len(numbers) - len(set(numbers))
            lost += len(acknowledged - set(numbers))
    lat = sorted(latencies)
    p95 = lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")
    print(f"  instances: {len(urls)}, interviews: {interviews} x {questions} questions")
    print(f"  statuses: {dict(sorted(statuses.items()))}")
    print(f"  answers: {len(lat)}, p50 {statistics.median(lat) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"  throughput: {len(lat) / elapsed:.1f} answers/s over {elapsed:.1f} s")
    print(f"  lost answers: {lost}, duplicated turns: {duplicated}")


@contextmanager
def _pg_schema(dsn: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    schema = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield dsn.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interviews", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp, _servers(f"sqlite:///{tmp}/load.db", 1) as urls:
            print("SQLite, one instance")
            asyncio.run(_run(urls, args.interviews, args.questions))
    if args.backend in ("postgres", "both"):
        with _pg_schema(args.pg) as url, _servers(url, 2) as urls:
            print("PostgreSQL, two instances")
            asyncio.run(_run(urls, args.interviews, args.questions))


if __name__ == "__main__":
    main()
