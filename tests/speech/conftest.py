"""Speech fixtures: real speech from espeak-ng, re-encoded by ffmpeg; the real Whisper and Moonshine."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bank.models import Bank
from app.config import Settings
from app.speech.base import Transcriber
from app.speech.correction import Glossary
from app.speech.registry import create_transcriber
from tests.support import make_settings

SENTENCE = "Dropout randomly switches off units during training, which reduces overfitting."

# ffmpeg arguments that turn a wav into each accepted upload format
ENCODINGS = {
    "webm": ["-c:a", "libopus", "-f", "webm"],
    "ogg": ["-c:a", "libopus", "-f", "ogg"],
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "m4a": ["-c:a", "aac", "-f", "ipod"],
}


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (make test installs it: apt-get install espeak-ng ffmpeg)")


def synthesise(text: str, path: Path, *, speed: int = 150) -> Path:
    """Real speech, as a 22 kHz mono wav from espeak-ng."""
    _need("espeak-ng")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(path), text], check=True)
    return path


def encode(wav: Path, fmt: str) -> bytes:
    """The wav re-encoded as a browser or phone would send it (a file: m4a cannot be written to a pipe)."""
    _need("ffmpeg")
    out = wav.with_name(f"{wav.stem}-encoded.{fmt}")
    if not out.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *ENCODINGS[fmt], str(out)], check=True)
    return out.read_bytes()


@pytest.fixture(scope="session")
def sentence_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesise(SENTENCE, tmp_path_factory.mktemp("speech") / "sentence.wav")


@pytest.fixture(scope="session")
def whisper() -> Iterator[Transcriber]:
    """The default transcriber (Whisper base, joined from its wheels into the cache folder once)."""
    transcriber = create_transcriber(make_settings(stt="whisper"))
    yield transcriber
    transcriber.close()


@pytest.fixture(scope="session")
def moonshine() -> Iterator[Transcriber]:
    transcriber = create_transcriber(make_settings(stt="moonshine"))
    yield transcriber
    transcriber.close()


@pytest.fixture(scope="session")
def glossary(bank: Bank) -> Glossary:
    return Glossary.from_bank(bank)


@pytest.fixture()
def audio_tmp(tmp_path: Path) -> Path:
    """A private folder for the decoder's temporary files; tests check it is empty afterwards."""
    folder = tmp_path / "audio-tmp"
    folder.mkdir()
    return folder


@pytest.fixture()
def speech_settings(audio_tmp: Path) -> Settings:
    return make_settings(audio_tmp_dir=audio_tmp)
