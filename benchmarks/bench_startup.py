"""Cold start: how soon `mockinterview serve` answers, is ready, and scores; its memory once idle.

Run: .venv/bin/python benchmarks/bench_startup.py [--runs 3] [--judge off|local]
Each run starts the real server in its own process (temporary SQLite, a free port) and times,
from the process start: the first /healthz answer, the first POST /v1/score (which waits for the
scorer if it is still loading), and /healthz's `ready: true`. Then the resident memory of the idle
server. Prints a Markdown table for the README (median of the runs, min-max beside it).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "Adam keeps running averages of the gradient and of its square, and scales each step by them."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(judge: str) -> dict[str, float]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "MOCKINTERVIEW_DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
            "MOCKINTERVIEW_JUDGE": judge,
        }
        exe = Path(sys.executable).with_name("mockinterview")
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        out: dict[str, float] = {}
        try:
            with httpx.Client(base_url=base, timeout=300) as client:
                while True:
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.02)
                out["healthz_s"] = time.perf_counter() - start
                r = client.post("/v1/score", json={"question_id": "adam-optimizer", "answer": ANSWER})
                r.raise_for_status()
                out["first_score_s"] = time.perf_counter() - start
                while not client.get("/healthz").json().get("ready"):
                    time.sleep(0.1)
                out["ready_s"] = time.perf_counter() - start
                time.sleep(2)
                out["idle_rss_mib"] = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--judge", default="off")
    args = parser.parse_args()
    runs = [one_run(args.judge) for _ in range(args.runs)]
    print(f"| measure (judge {args.judge}, {args.runs} runs) | median | min-max |")
    print("|---|---|---|")
    for key, label in (
        ("healthz_s", "first /healthz answer, s"),
        ("first_score_s", "first POST /v1/score answered, s"),
        ("ready_s", "/healthz ready, s"),
        ("idle_rss_mib", "idle RSS, MiB"),
    ):
        xs = [r[key] for r in runs]
        print(f"| {label} | {statistics.median(xs):.1f} | {min(xs):.1f}-{max(xs):.1f} |")


if __name__ == "__main__":
    main()
