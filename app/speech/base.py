"""The speech-to-text interface and its registry (entry-point group `mockinterview.stt`)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from importlib.metadata import EntryPoint

from app.config import Settings
from app.providers import available, load_provider_class
from app.speech.audio import Audio

__all__ = ["ENTRY_POINT_GROUP", "Transcriber", "available_transcribers", "create_transcriber"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mockinterview.stt"

# The same entries pyproject.toml declares, so a source checkout that was never pip-installed
# still finds the built-ins; installed entry points (ours or a plugin's) take precedence.
_BUILTINS = {
    "moonshine": "app.speech.moonshine:MoonshineTranscriber",
    "openai": "app.speech.openai_stt:OpenAITranscriber",
}


class Transcriber(ABC):
    """Turns decoded speech (16 kHz mono float32) into text; `moonshine` is the offline default."""

    name: str = "transcriber"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @abstractmethod
    async def transcribe(self, audio: Audio) -> str:
        """The words spoken, as plain text. Provider failures raise ProviderUnavailable."""

    def describe(self) -> dict[str, str]:
        return {"name": self.name}

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Free model resources; the default holds none."""


def available_transcribers() -> dict[str, EntryPoint]:
    """Every transcriber name that can be selected, built-ins first."""
    return available(ENTRY_POINT_GROUP, _BUILTINS)


def create_transcriber(settings: Settings) -> Transcriber:
    """Build the transcriber `settings.stt` names; an unknown or broken name fails at start."""
    cls: type[Transcriber] = load_provider_class(
        group=ENTRY_POINT_GROUP,
        builtins=_BUILTINS,
        name=settings.stt,
        kind="speech-to-text provider",
        setting="MOCKINTERVIEW_STT",
        base=Transcriber,
    )
    transcriber = cls(settings)
    log.info("speech-to-text ready: %s", transcriber.describe())
    return transcriber
