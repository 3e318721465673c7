"""The judge interface: P(correct) for an answer against a rubric, cached, off the event loop.

A judge answers one question about an answer: is it correct and consistent with the reference? Its
output is a probability, deterministic for the same input. Subclasses implement `_p_correct` for a
batch of items (answers to one question are handed over together, so a model that caches the
prompt prefix evaluates the rubric once); the base class keeps the on-disk cache, the single worker
thread, the bounded queue and the timeout, and turns every failure into `JudgeUnavailable`.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import ProviderUnavailable
from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["Judge", "JudgeItem", "JudgeUnavailable", "VerdictCache", "read_verdicts"]

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


class JudgeUnavailable(ProviderUnavailable):
    code = "judge_unavailable"


@dataclass(frozen=True)
class JudgeItem:
    """One answer to judge, with the rubric it is judged against. With `point` (one of the key points)
    the question asked is whether the answer states that point, not whether it is correct."""

    question: str
    reference_answer: str
    answer: str
    key_points: tuple[str, ...] = ()
    point: str | None = None

    @property
    def prefix_key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.question, self.reference_answer, self.key_points)


def read_verdicts(path: Path) -> dict[str, float]:
    """The verdicts of a file `VerdictCache.export` wrote (none when it does not exist)."""
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {str(row["key"]): float(row["p"]) for row in map(json.loads, f)}


class VerdictCache:
    """P(correct) on disk, keyed by (model, prompt version, question, reference, key points, answer):
    a refit or a second evaluation recomputes nothing."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, p REAL NOT NULL)")
            self._db.commit()

    @staticmethod
    def key(model: str, version: str, item: JudgeItem) -> str:
        fields: list[Any] = [
            model,
            version,
            item.question,
            item.reference_answer,
            list(item.key_points),
            item.answer,
        ]
        if item.point is not None:
            fields.append({"point": item.point})
        blob = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, float]:
        if self._db is None or not keys:
            return {}
        out: dict[str, float] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, p FROM verdicts WHERE key IN ({marks})", chunk)
                out.update({k: float(p) for k, p in rows})
        return out

    def put_many(self, pairs: Sequence[tuple[str, float]]) -> None:
        if self._db is None or not pairs:
            return
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO verdicts (key, p) VALUES (?, ?)", pairs)
            self._db.commit()

    def seed(self, verdicts: Mapping[str, float]) -> int:
        """Add verdicts read from a file `export` wrote (those already held are kept); how many were
        new. A fresh checkout refits the calibration from the shipped file instead of asking the
        model again (judging the bank takes one to two hours on two cores)."""
        if self._db is None:
            return 0
        pairs = list(verdicts.items())
        with self._lock:
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO verdicts (key, p) VALUES (?, ?)", pairs)
            self._db.commit()
            return self._db.total_changes - before

    def export(self, path: Path, keys: Iterable[str]) -> int:
        """Write these keys' verdicts (sorted, gzipped JSON lines, no timestamp: the same verdicts
        give the same bytes), written atomically; how many. Only the keys named: the cache also
        holds the answers people typed."""
        found = self.get_many(sorted(set(keys)))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for key in sorted(found):
                gz.write((json.dumps({"key": key, "p": found[key]}) + "\n").encode())
        tmp.replace(path)
        return len(found)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


@dataclass
class _Stats:
    judged: int = 0
    cached: int = 0
    failures: int = 0
    last_error: str | None = None
    seconds: list[float] = field(default_factory=list)


class Judge(ABC):
    """Judges register in the entry-point group `mockinterview.judge`; `local` is the default."""

    name: str = "judge"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"judge-{self.name}")
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._cache = VerdictCache(settings.cache_dir / "judge" / "verdicts.sqlite")
        self.stats = _Stats()
        # When a set, the cache key of every verdict `p_correct_many` gives is added to it (what a
        # calibration was fitted on, to export beside it).
        self.recorded: set[str] | None = None

    # -- what a subclass provides -------------------------------------------------------------
    @property
    @abstractmethod
    def model_id(self) -> str:
        """Names the model; cache entries are keyed by it."""

    @property
    @abstractmethod
    def prompt_version(self) -> str:
        """Names the prompt; cache entries are keyed by it."""

    @abstractmethod
    def _p_correct(self, items: Sequence[JudgeItem]) -> list[float]:
        """P(correct) for each item, in order; items sharing a rubric come together. Runs in the
        judge's worker thread; raises JudgeUnavailable on failure."""

    @property
    def uses_key_points(self) -> bool:
        """True when this judge grades key points (blended into the score) instead of giving P(correct)."""
        return False

    async def key_point_score(self, rubric: Rubric, answer: str, score: ScoreResult) -> ScoreResult:
        raise NotImplementedError(f"judge {self.name!r} gives P(correct), not key-point grades")

    def _prime(self, item: JudgeItem) -> None:  # noqa: B027 (an optional hook)
        """Prepare for answers to this item's rubric (the local judge evaluates its prompt prefix);
        runs on the judge's worker thread. The default does nothing."""

    def prime(self, item: JudgeItem) -> None:
        """Called when a question is asked: the judge prepares for its answer in the background, on
        its one worker (queued behind verdicts already waiting, skipped when the queue is busy).
        Never raises and never waits."""
        with self._pending_lock:
            if self._pending:
                return  # verdicts are waiting: they come first
        try:
            self._executor.submit(self._prime_quietly, item)
        except RuntimeError:
            pass  # shut down

    def _prime_quietly(self, item: JudgeItem) -> None:
        try:
            self._prime(item)
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the later verdict its head start
            log.exception("judge: priming failed")

    def start(self) -> None:  # noqa: B027 (an optional hook, not an abstract method)
        """Begin loading in the background (the server answers meanwhile); the default does nothing."""

    def state(self) -> str:
        """`ready`, `loading` or `unavailable`."""
        return "ready"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model_id,
            "prompt_version": self.prompt_version,
            "state": self.state(),
            "judged": self.stats.judged,
            "cached": self.stats.cached,
            "failures": self.stats.failures,
            **({"last_error": self.stats.last_error} if self.stats.last_error else {}),
        }

    def seed_cache(self, verdicts: Mapping[str, float]) -> int:
        """Add verdicts read from an exported file to the cache; how many were new."""
        return self._cache.seed(verdicts)

    def export_cache(self, path: Path, keys: Iterable[str]) -> int:
        """Write the cached verdicts of these keys to `path` (see `VerdictCache.export`)."""
        return self._cache.export(path, keys)

    def close(self) -> None:
        """Stop taking work and wait for the answer in hand (a model must not close under it)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._cache.close()

    # -- shared behaviour ----------------------------------------------------------------------
    def p_correct_many(self, items: Sequence[JudgeItem], *, progress: Progress | None = None) -> list[float]:
        """Synchronous, for evaluation and calibration: cached items cost nothing, the rest are
        judged grouped by rubric so each rubric's prefix is evaluated once."""
        keys = [VerdictCache.key(self.model_id, self.prompt_version, it) for it in items]
        if self.recorded is not None:
            self.recorded.update(keys)
        found = self._cache.get_many(keys)
        if progress and found:
            progress(sum(k in found for k in keys))
        self.stats.cached += sum(k in found for k in keys)
        todo: dict[str, JudgeItem] = {}
        for k, it in zip(keys, items, strict=True):
            if k not in found:
                todo.setdefault(k, it)
        groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        for k, it in todo.items():
            groups.setdefault(it.prefix_key, []).append(k)
        for group in groups.values():
            start = time.perf_counter()
            try:
                values = self._p_correct([todo[k] for k in group])
            except JudgeUnavailable as exc:
                self.stats.failures += 1
                self.stats.last_error = exc.message
                raise
            per = (time.perf_counter() - start) / len(group)
            self.stats.seconds.extend([per] * len(group))
            del self.stats.seconds[:-1000]
            self.stats.judged += len(group)
            pairs = [(k, round(float(v), 6)) for k, v in zip(group, values, strict=True)]
            self._cache.put_many(pairs)
            found.update(pairs)
            if progress:
                progress(len(group))
        return [found[k] for k in keys]

    async def p_correct(self, items: Sequence[JudgeItem]) -> list[float]:
        """Off the event loop, on the judge's one worker; a full queue or a slow model raises
        JudgeUnavailable (the caller keeps the embedding score and says so)."""
        keys = [VerdictCache.key(self.model_id, self.prompt_version, it) for it in items]
        found = self._cache.get_many(keys)
        if all(k in found for k in keys):
            self.stats.cached += len(keys)
            return [found[k] for k in keys]
        with self._pending_lock:
            if self._pending >= self.settings.judge_queue_size:
                self.stats.failures += 1
                self.stats.last_error = "queue full"
                raise JudgeUnavailable(f"judge queue full ({self._pending} answers waiting)")
            self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._executor, self.p_correct_many, list(items))
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout=self.settings.judge_timeout_s)
            except TimeoutError as exc:
                self.stats.failures += 1
                self.stats.last_error = "timeout"
                raise JudgeUnavailable(f"judge timed out after {self.settings.judge_timeout_s:g}s") from exc
        finally:
            with self._pending_lock:
                self._pending -= 1
