"""The speech-to-text interface, and the worker local models decode on."""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.config import Settings
from app.errors import ProviderUnavailable
from app.speech.audio import Audio

__all__ = ["ModelWorker", "Transcriber"]

_T = TypeVar("_T")

log = logging.getLogger(__name__)


class ModelWorker:
    """One thread for a local model, so decoding never blocks the event loop, and a bounded queue in
    front of it: past `queue_size` waiting answers, or `timeout_s` of waiting and decoding,
    ProviderUnavailable (503). The transcribers pass STT_TIMEOUT_S plus the audio's own length."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stt-{name}")
        self._pending = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[], _T], *, queue_size: int, timeout_s: float) -> _T:
        with self._lock:
            if self._pending >= queue_size:
                raise ProviderUnavailable(
                    f"speech-to-text is busy ({self._pending} spoken answers waiting); try again shortly"
                )
            self._pending += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout=timeout_s)
            except TimeoutError as exc:
                raise ProviderUnavailable(
                    f"{self.name} did not finish transcribing in {timeout_s:g}s"
                ) from exc
        finally:
            with self._lock:
                self._pending -= 1


class Transcriber(ABC):
    """Turns decoded speech (16 kHz mono float32) into text; `whisper` is the offline default."""

    name: str = "transcriber"
    primable: bool = False  # whether `transcribe` uses its prompt

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> str:
        """The words spoken, as plain text. Provider failures raise ProviderUnavailable.

        `prompt` is text the answer is likely to use (the question and its terms); a provider whose
        model can be primed with it does so, the others ignore it."""

    def describe(self) -> dict[str, str]:
        return {"name": self.name}

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Free model resources; the default holds none."""
