"""The light offline option: Moonshine tiny-en, whose weights ship inside the moonshine-voice 0.1.0 wheel."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.speech.audio import Audio
from app.speech.base import ModelWorker, Transcriber

__all__ = ["MoonshineTranscriber"]

_MODEL_NAME = "tiny-en"


@lru_cache(maxsize=1)
def _worker() -> ModelWorker:
    return ModelWorker("moonshine")


@lru_cache(maxsize=1)
def _shared_model() -> tuple[Any, threading.Lock, type[Exception]]:
    """One model handle per process (about 0.5 s to load), shared by every app and used one call at a time."""
    try:
        from moonshine_voice import ModelArch, MoonshineError, get_model_path
        from moonshine_voice.transcriber import Transcriber as _Moonshine
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigurationError(f"moonshine-voice is not installed: {exc}") from exc
    path = get_model_path(_MODEL_NAME)
    if not (path / "encoder_model.ort").exists():
        raise ConfigurationError(
            f"the Moonshine {_MODEL_NAME} model is missing from {path}; "
            "install moonshine-voice==0.1.0, whose wheel carries it"
        )
    try:
        model = _Moonshine(str(path), ModelArch.TINY)
    except MoonshineError as exc:
        raise ConfigurationError(f"Moonshine {_MODEL_NAME} does not load: {exc}") from exc
    return model, threading.Lock(), MoonshineError


class MoonshineTranscriber(Transcriber):
    """Runs on the CPU in a worker thread, so the event loop keeps serving other requests. It cannot be
    primed: the question's vocabulary reaches its transcripts through the corrector only."""

    name = "moonshine"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._model, self._lock, self._error = _shared_model()

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> str:
        return await _worker().run(
            lambda: self.transcribe_sync(audio),
            queue_size=self.settings.stt_queue_size,
            timeout_s=self.settings.stt_timeout_s + audio.duration_s,  # a long answer may take longer
        )

    def transcribe_sync(self, audio: Audio, *, prompt: str | None = None) -> str:
        """Blocking transcription, for scripts and benchmarks."""
        with self._lock:
            try:
                result = self._model.transcribe_without_streaming(audio.samples.tolist(), audio.sample_rate)
            except self._error as exc:
                raise ProviderUnavailable(f"Moonshine failed to transcribe: {exc}") from exc
        return " ".join(line.text.strip() for line in result.lines if line.text.strip())

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "model": _MODEL_NAME}
