"""Micro-batching, fair per caller: requests that arrive within a few milliseconds are scored together
in a worker thread, so concurrent answers share one encode call; each batch takes a bounded chunk of
work from every waiting caller in turn, so one caller's large or many requests delay another
caller's score by at most one batch."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["MicroBatcher", "scoring_caller"]

# Whose scoring work the current request is (`key:<fingerprint>` or `addr:<client address>`); set
# where the work is counted against the caller's rate limit (app.deps.limit_scoring).
scoring_caller: ContextVar[str] = ContextVar("scoring_caller", default="")


@dataclass(eq=False)
class _Job:
    rubric: Rubric
    answer: str
    cost: int
    future: asyncio.Future[ScoreResult]


def _answer_chars(_: Rubric, answer: str) -> int:
    return len(answer)


class MicroBatcher:
    """Collects requests for a few milliseconds and scores them together in a worker thread.

    Each caller has its own queue. A batch visits the callers with work waiting in turn and takes
    from each the jobs that fit in `chunk_cost` (at least one), until it holds `max_batch` jobs; a
    caller served goes to the back of the line, one the batch had no room for keeps its place. A
    batch therefore holds at most one chunk per caller, and a caller with work waiting is in the
    next batch (or, with more callers than `max_batch`, within a few). Within a batch the requests
    larger than a chunk are encoded after the others (see `_parts`).
    """

    def __init__(
        self,
        score_many: Callable[[Sequence[tuple[Rubric, str]]], list[ScoreResult]],
        *,
        window_ms: float = 4.0,
        max_batch: int = 64,
        chunk_cost: int = 32_000,
        cost: Callable[[Rubric, str], int] = _answer_chars,
    ) -> None:
        self._score_many = score_many
        self._window = (window_ms or 0) / 1000
        self._max_batch = max(1, max_batch)
        self._chunk_cost = chunk_cost
        self._cost = cost
        self._waiting: dict[str, deque[_Job]] = {}  # callers with work waiting, in turn order
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, rubric: Rubric, answer: str, *, caller: str | None = None) -> ScoreResult:
        """Score one answer; `caller` defaults to the request's `scoring_caller`."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._waiting = {}
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        assert self._wake is not None
        fut: asyncio.Future[ScoreResult] = loop.create_future()
        who = scoring_caller.get() if caller is None else caller
        self._waiting.setdefault(who, deque()).append(_Job(rubric, answer, self._cost(rubric, answer), fut))
        self._wake.set()
        return await fut

    def _next_batch(self) -> list[_Job]:
        """The next batch, taken round-robin from the callers' queues (see the class docstring).
        Jobs whose caller has gone (a cancelled future) are dropped, not scored."""
        batch: list[_Job] = []
        for who in list(self._waiting):
            if len(batch) >= self._max_batch:
                break
            jobs = self._waiting.pop(who)
            spent = 0
            while jobs and len(batch) < self._max_batch:
                job = jobs[0]
                if job.future.done():
                    jobs.popleft()
                    continue
                if spent and spent + job.cost > self._chunk_cost:
                    break
                batch.append(jobs.popleft())
                spent += job.cost
            if jobs:
                self._waiting[who] = jobs  # back of the line
        return batch

    def _queued(self) -> int:
        return sum(len(jobs) for jobs in self._waiting.values())

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        company = False  # did the last batch hold more than one request?
        while True:
            while not self._waiting:
                wake.clear()
                await wake.wait()
            # Wait for others only while requests are arriving together: a lone client would pay
            # the window on every answer and gain nothing from it.
            if self._window and (company or self._queued() > 1):
                await asyncio.sleep(self._window)
            batch = self._next_batch()
            company = len(batch) > 1
            for part in self._parts(batch):
                await self._score(part)

    def _parts(self, batch: list[_Job]) -> list[list[_Job]]:
        """The encode calls of one batch: the requests that fit in a chunk first, answered as soon
        as they are scored, then those larger than a chunk (ad-hoc rubrics near the limits), so a
        small request beside a large one does not wait for it."""
        small = [j for j in batch if j.cost <= self._chunk_cost]
        large = [j for j in batch if j.cost > self._chunk_cost]
        return [p for p in (small, large) if p]

    async def _score(self, jobs: list[_Job]) -> None:
        try:
            results = await asyncio.to_thread(self._score_many, [(j.rubric, j.answer) for j in jobs])
        except Exception as exc:  # handed to each waiting request, which raises it
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, res in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(res)
