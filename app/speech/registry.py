"""Find transcribers by name in the `mockinterview.stt` entry-point group and build the chosen one."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

from app.config import Settings
from app.providers import available, load_provider_class
from app.speech.base import Transcriber

__all__ = ["ENTRY_POINT_GROUP", "available_transcribers", "create_transcriber"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mockinterview.stt"

# The same entries pyproject.toml declares, so a source checkout that was never pip-installed
# still finds the built-ins; installed entry points (ours or a plugin's) take precedence.
_BUILTINS = {
    "whisper": "app.speech.whisper:WhisperTranscriber",
    "moonshine": "app.speech.moonshine:MoonshineTranscriber",
    "openai": "app.speech.openai_stt:OpenAITranscriber",
}


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
