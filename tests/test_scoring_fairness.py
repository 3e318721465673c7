"""Issue 20: scoring work is queued fairly, so one caller's large or many requests cannot hold
another caller's score for more than one batch. The batches' contents and order are asserted, never
their timing: the first batch is held in the worker thread (an Event) while the queue fills."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from support import AppFactory, make_settings

from app.bank.models import Bank
from app.deps import ScoringQuota
from app.scoring.batching import MicroBatcher, scoring_caller
from app.scoring.schemas import Rubric, ScoreResult
from app.scoring.scorer import Scorer


class _Recorder:
    """The real scorer's score_many, recording each batch's answers; the first batch waits for
    `release` so that the test can queue work behind it."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.batches: list[list[str]] = []
        self.release = threading.Event()

    def __call__(self, items: Sequence[tuple[Rubric, str]]) -> list[ScoreResult]:
        self.batches.append([a for _, a in items])
        if len(self.batches) == 1:
            assert self.release.wait(60), "the test never released the first batch"
        return self.scorer.score_many(items)


async def _batches(
    scorer: Scorer, rubric: Rubric, queued: list[tuple[str, str]], **options: object
) -> list[list[str]]:
    """Hold a first batch ("first", caller "x"), queue `queued` (caller, answer) behind it in this
    order, release, and return every batch's answers."""
    recorder = _Recorder(scorer)
    batcher = MicroBatcher(recorder, window_ms=0, **options)  # type: ignore[arg-type]
    first = asyncio.create_task(batcher.submit(rubric, "first", caller="x"))
    while not recorder.batches:  # the worker thread holds the first batch
        await asyncio.sleep(0.01)
    rest = [asyncio.create_task(batcher.submit(rubric, a, caller=c)) for c, a in queued]
    await asyncio.sleep(0)  # every submit has queued its job
    recorder.release.set()
    results = await asyncio.gather(first, *rest)
    assert len(results) == len(queued) + 1
    assert [r.value for r in results[1:]] == [scorer.score(rubric, a).value for _, a in queued]
    return recorder.batches


def _dropout(bank: Bank) -> Rubric:
    q = bank.get("dropout-basics")
    assert q is not None
    return Rubric.from_question(q)


async def test_many_queued_requests_from_one_caller_do_not_hold_another(scorer: Scorer, bank: Bank) -> None:
    """Caller a queues ten answers, then b one: b's is in the very next batch, beside a bounded
    chunk of a's (two per batch here), where first-come-first-served put it after all ten."""
    queued = [("a", f"a{i}") for i in range(10)] + [("b", "b0")]
    batches = await _batches(scorer, _dropout(bank), queued, cost=lambda r, a: 1, chunk_cost=2)
    assert batches[0] == ["first"]
    assert batches[1] == ["a0", "a1", "b0"]
    assert batches[2:] == [["a2", "a3"], ["a4", "a5"], ["a6", "a7"], ["a8", "a9"]]


async def test_one_large_request_is_a_batch_chunk_of_its_own(scorer: Scorer, bank: Bank) -> None:
    """Requests larger than the per-caller chunk go one per batch, each beside the other callers'
    work: b's and c's small answers are not queued behind a's large ones, and within the batch
    they are encoded (and answered) before a's large one, in a call of their own."""
    queued = [("a", "big-1"), ("a", "big-2"), ("b", "b0"), ("c", "c0"), ("c", "c1")]
    cost = {"big-1": 60_000, "big-2": 60_000}
    batches = await _batches(
        scorer, _dropout(bank), queued, cost=lambda r, a: cost.get(a, 100), chunk_cost=32_000
    )
    assert batches[1:] == [["b0", "c0", "c1"], ["big-1"], ["big-2"]]


async def test_callers_take_turns_when_a_batch_cannot_hold_them_all(scorer: Scorer, bank: Bank) -> None:
    """Five callers with two answers each and room for three per batch: round-robin, a caller
    served goes to the back of the line, one left out keeps its place."""
    queued = [(c, f"{c}{i}") for c in "pqrst" for i in range(2)]
    batches = await _batches(scorer, _dropout(bank), queued, cost=lambda r, a: 1, chunk_cost=1, max_batch=3)
    assert batches[1:] == [["p0", "q0", "r0"], ["s0", "t0", "p1"], ["q1", "r1", "s1"], ["t1"]]


async def test_a_caller_that_went_away_is_not_scored(scorer: Scorer, bank: Bank) -> None:
    """A request cancelled while it waits (its client disconnected) is dropped from the queue."""
    recorder = _Recorder(scorer)
    batcher = MicroBatcher(recorder, window_ms=0)
    rubric = _dropout(bank)
    first = asyncio.create_task(batcher.submit(rubric, "first", caller="x"))
    while not recorder.batches:
        await asyncio.sleep(0.01)
    gone = asyncio.create_task(batcher.submit(rubric, "gone", caller="a"))
    kept = asyncio.create_task(batcher.submit(rubric, "kept", caller="a"))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.release.set()
    await asyncio.gather(first, kept)
    assert recorder.batches == [["first"], ["kept"]]


def test_the_scoring_caller_is_the_rate_limited_one(app_factory: AppFactory, tmp_path: Path) -> None:
    """Routes that do scoring work (answers, POST /v1/score) name their caller through the
    ScoringQuota dependency: the key's fingerprint, so two keys are two callers for the batcher."""
    from app.auth import key_fingerprint

    settings = make_settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", api_keys="key-one,key-two")
    client = app_factory(settings)

    async def whose() -> dict[str, str]:
        return {"caller": scoring_caller.get()}

    client.app.add_api_route("/v1/whose", whose, dependencies=[ScoringQuota])  # type: ignore[attr-defined]
    for key in ("key-one", "key-two"):
        r = client.get("/v1/whose", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        assert r.json() == {"caller": f"key:{key_fingerprint(key)}"}
