"""One start-up path: the parts a process serves from, built from Settings in one order.

The app's lifespan and every CLI command build their database, bank, scorer, LLM provider and
judge here, each step logged with its name and duration. A part built elsewhere (the tests' shared
scorer) can be handed in. `Warmup` records what is still warming so that the server can listen at
once: `/healthz` says `ready: false` with the steps left, and a route that needs the scorer waits
for it (or answers 503 with the reason when its step failed).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.bank.models import Bank
from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.judge.base import Judge
from app.llm.base import LLMProvider
from app.scoring.scorer import Scorer
from app.speech.base import Transcriber

__all__ = ["UNSET", "Runtime", "Unset", "Warmup", "database_session", "handed_in"]

log = logging.getLogger(__name__)


class Unset:
    """No part handed in: the runtime builds the one its settings name."""


UNSET = Unset()


class Warmup:
    """Each start-up step's state (warming, ready with its seconds, failed with the error); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[str, threading.Event] = {}
        self._seconds: dict[str, float] = {}
        self._errors: dict[str, str] = {}

    def expect(self, *names: str) -> None:
        """Steps that will run later (in the background): until then /healthz lists them as warming."""
        with self._lock:
            for name in names:
                self._done.setdefault(name, threading.Event())

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.expect(name)
        log.info("warming up: %s", name)
        start = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            with self._lock:
                self._errors[name] = str(exc) or type(exc).__name__
                self._done[name].set()
            log.error("warm-up step %s failed after %.1f s: %s", name, time.perf_counter() - start, exc)
            raise
        seconds = time.perf_counter() - start
        with self._lock:
            self._seconds[name] = round(seconds, 3)
            self._done[name].set()
        log.info("ready: %s in %.1f s", name, seconds)

    def wait(self, name: str, timeout: float) -> None:
        """Return once `name` is ready; ProviderUnavailable (503) if it failed or is still warming."""
        with self._lock:
            event = self._done.get(name)
        if event is None:
            return  # never expected: nothing to wait for
        if not event.wait(timeout):
            raise ProviderUnavailable(f"still warming up: {name} (try again shortly; see /healthz)")
        with self._lock:
            error = self._errors.get(name)
        if error is not None:
            raise ProviderUnavailable(f"{name} failed to start: {error}")

    def describe(self) -> dict[str, Any]:
        with self._lock:
            steps: dict[str, dict[str, Any]] = {}
            for name, event in self._done.items():
                if name in self._errors:
                    steps[name] = {"state": "failed", "error": self._errors[name]}
                elif event.is_set():
                    steps[name] = {"state": "ready", "seconds": self._seconds[name]}
                else:
                    steps[name] = {"state": "warming"}
        return {
            "ready": all(s["state"] == "ready" for s in steps.values()),
            "warming": [n for n, s in steps.items() if s["state"] == "warming"],
            "steps": steps,
        }


class Runtime:
    """The parts of one process, built in order from its settings; `close()` releases what it built."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.warmup = Warmup()
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None
        self.bank: Bank | None = None
        self.scorer: Scorer | None = None
        self.llm: LLMProvider | None = None
        self.judge: Judge | None = None
        self._closers: list[Callable[[], None]] = []

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open_database(self) -> sessionmaker[Session]:
        """The engine, migrated to the packaged head, and its session factory."""
        from app.db import create_db_engine, create_session_factory, upgrade

        with self.warmup.step("database"):
            engine = create_db_engine(self.settings.database_url)
            self._closers.append(engine.dispose)
            upgrade(engine)
        self.engine, self.sessions = engine, create_session_factory(engine)
        return self.sessions

    def load_bank(self, bank_dir: Path | None = None) -> Bank:
        """The YAML question bank (settings.bank_dir unless another folder is named)."""
        from app.bank.loader import BankError, load_bank

        directory = bank_dir or self.settings.bank_dir
        with self.warmup.step("bank"):
            try:
                self.bank = load_bank(directory)
            except BankError as exc:
                raise ConfigurationError(f"question bank {directory} does not load:\n{exc}") from exc
        return self.bank

    def build_scorer(self, scorer: Scorer | None = None) -> Scorer:
        """The embedding scorer (or the one handed in), told about the bank's other questions."""
        from app.scoring.service import build_scorer, use_bank

        with self.warmup.step("scorer"):
            built = scorer if scorer is not None else build_scorer(self.settings)
            if self.bank is not None and not built.has_neighbours:
                use_bank(built, self.bank)
            self.scorer = built  # before the step is marked ready: waiters read it at once
        return built

    def build_scorer_in_background(self) -> None:
        """Check the embedder's name now (an unknown one still fails at start), then load the scorer
        in a thread: the caller serves meanwhile, and whoever needs the scorer waits on the
        warm-up's "scorer" step (a failure is recorded there, with its reason)."""
        from app.scoring.registry import embedder_class

        embedder_class(self.settings)
        self.warmup.expect("scorer")

        def warm() -> None:
            with contextlib.suppress(Exception):  # recorded by the warm-up step, and logged
                self.build_scorer()

        thread = threading.Thread(target=warm, name="warm-scorer", daemon=True)
        thread.start()
        self._closers.append(thread.join)

    def build_transcriber(self) -> Transcriber:
        """ffmpeg checked and the speech-to-text model the settings name loaded (Whisper: about
        1.5 s); closed by `close()`."""
        from app.speech.audio import check_ffmpeg
        from app.speech.registry import create_transcriber

        with self.warmup.step("speech"):
            check_ffmpeg(self.settings)
            transcriber = create_transcriber(self.settings)
            self._closers.append(transcriber.close)
        return transcriber

    def build_llm(self, llm: LLMProvider | None = None) -> LLMProvider:
        from app.llm.registry import create_llm_provider

        with self.warmup.step("llm"):
            self.llm = llm if llm is not None else create_llm_provider(self.settings)
        return self.llm

    def build_judge(self, judge: Judge | None | Unset = UNSET) -> Judge | None:
        """The judge the settings name (its model loads in the background), or the one handed in
        (None: no judge). Only a judge built here is closed by `close()`."""
        from app.judge.registry import create_judge

        with self.warmup.step("judge"):
            if isinstance(judge, Unset):
                self.judge = create_judge(self.settings)
                if self.judge is not None:
                    self._closers.append(self.judge.close)
            else:
                self.judge = judge
        return self.judge

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # noqa: BLE001 - one failed close must not keep the others open
                log.exception("closing a runtime part failed")


def handed_in(obj: object) -> Scorer | None:
    """The scorer a CLI command's caller handed in as the click context's `obj` (tests share the
    session's one instead of loading another), or None: build one."""
    return obj if isinstance(obj, Scorer) else None


@contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """One session on the migrated database, for a CLI command that needs nothing else."""
    with Runtime(settings) as runtime, runtime.open_database()() as session:
        yield session
