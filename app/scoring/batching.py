"""Micro-batching: requests that arrive within a few milliseconds are scored together, in a worker
thread, so concurrent answers share one encode call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Collects requests for a few milliseconds and scores them together in a worker thread."""

    def __init__(
        self,
        score_many: Callable[[Sequence[tuple[Rubric, str]]], list[ScoreResult]],
        *,
        window_ms: float = 4.0,
        max_batch: int = 64,
    ) -> None:
        self._score_many = score_many
        self._window = (window_ms or 0) / 1000
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Rubric, str, asyncio.Future[ScoreResult]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, rubric: Rubric, answer: str) -> ScoreResult:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run())
        assert self._queue is not None
        fut: asyncio.Future[ScoreResult] = loop.create_future()
        await self._queue.put((rubric, answer, fut))
        return await fut

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        window, max_batch = self._window, self._max_batch
        company = False  # did the last batch hold more than one request?
        while True:
            batch = [await queue.get()]
            # Wait for others only while requests are arriving together: a lone client would pay
            # the window on every answer and gain nothing from it.
            if window and (company or not queue.empty()):
                await asyncio.sleep(window)
            while not queue.empty() and len(batch) < max_batch:
                batch.append(queue.get_nowait())
            company = len(batch) > 1
            try:
                results = await asyncio.to_thread(self._score_many, [(r, a) for r, a, _ in batch])
            except Exception as exc:  # handed to each waiting request, which raises it
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, _, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
