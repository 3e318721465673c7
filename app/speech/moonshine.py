"""The offline default: Moonshine tiny-en, whose weights ship inside the moonshine-voice 0.1.0 wheel."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.speech.audio import Audio
from app.speech.base import Transcriber

__all__ = ["MoonshineTranscriber"]


class MoonshineTranscriber(Transcriber):
    """Runs on the CPU in a worker thread; one model handle, used by one request at a time."""

    name = "moonshine"
    model_name = "tiny-en"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        try:
            from moonshine_voice import ModelArch, MoonshineError, get_model_path
            from moonshine_voice.transcriber import Transcriber as _Moonshine
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigurationError(f"moonshine-voice is not installed: {exc}") from exc
        path = get_model_path(self.model_name)
        if not (path / "encoder_model.ort").exists():
            raise ConfigurationError(
                f"the Moonshine {self.model_name} model is missing from {path}; "
                "install moonshine-voice==0.1.0, whose wheel carries it"
            )
        try:
            self._model: Any = _Moonshine(str(path), ModelArch.TINY)
        except MoonshineError as exc:
            raise ConfigurationError(f"Moonshine {self.model_name} does not load: {exc}") from exc
        self._error: type[Exception] = MoonshineError
        self._lock = threading.Lock()

    async def transcribe(self, audio: Audio) -> str:
        return await asyncio.to_thread(self.transcribe_sync, audio)

    def transcribe_sync(self, audio: Audio) -> str:
        """Blocking transcription, for scripts and benchmarks."""
        with self._lock:
            if self._model is None:
                raise ProviderUnavailable("the Moonshine transcriber is closed")
            try:
                result = self._model.transcribe_without_streaming(audio.samples.tolist(), audio.sample_rate)
            except self._error as exc:
                raise ProviderUnavailable(f"Moonshine failed to transcribe: {exc}") from exc
        return " ".join(line.text.strip() for line in result.lines if line.text.strip())

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "model": self.model_name}

    def close(self) -> None:
        with self._lock:
            if self._model is not None:
                self._model.close()
                self._model = None
