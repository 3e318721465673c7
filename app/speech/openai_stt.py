"""Any OpenAI-compatible `/v1/audio/transcriptions` endpoint (OpenAI Whisper, faster-whisper-server, ...)."""

from __future__ import annotations

import io
import wave

import numpy as np
import openai

from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.speech.audio import Audio
from app.speech.base import Transcriber

__all__ = ["OpenAITranscriber", "to_wav_bytes"]


def to_wav_bytes(audio: Audio) -> bytes:
    """16-bit PCM WAV: every transcription server reads it, and it is half the size of float32."""
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


class OpenAITranscriber(Transcriber):
    """Settings: stt_base_url (None means api.openai.com), stt_api_key, stt_model."""

    name = "openai"
    primable = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        key = settings.stt_api_key.get_secret_value() if settings.stt_api_key else None
        if settings.stt_base_url is None and not key:
            raise ConfigurationError(
                "speech-to-text provider 'openai' needs MOCKINTERVIEW_STT_API_KEY "
                "(or MOCKINTERVIEW_STT_BASE_URL for a local OpenAI-compatible server)"
            )
        self._client = openai.AsyncOpenAI(
            base_url=settings.stt_base_url,
            api_key=key or "not-needed",  # local servers ignore the key, the SDK insists on one
            timeout=settings.stt_timeout_s,
            max_retries=1,
        )

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> str:
        try:
            result = await self._client.audio.transcriptions.create(
                model=self.settings.stt_model,
                file=("answer.wav", to_wav_bytes(audio), "audio/wav"),
                response_format="json",
                prompt=prompt or openai.omit,
            )
        except openai.APIStatusError as exc:
            raise ProviderUnavailable(
                f"the transcription server answered {exc.status_code}: {exc.message}"
            ) from exc
        except openai.APIError as exc:
            raise ProviderUnavailable(f"the transcription server is unreachable: {exc}") from exc
        return result.text.strip()

    def describe(self) -> dict[str, str]:
        base_url = self.settings.stt_base_url or "https://api.openai.com/v1"
        return {"name": self.name, "model": self.settings.stt_model, "base_url": base_url}
