"""Decoding real audio in every accepted format, and refusing bad uploads with the right 4xx."""

from __future__ import annotations

import io
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import AudioRejected
from app.speech.audio import SAMPLE_RATE, decode_audio, sniff_format
from tests.speech.conftest import ENCODINGS, encode
from tests.support import make_settings

pytestmark = pytest.mark.speech


def _wav(samples: np.ndarray, rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _system_tmp() -> set[str]:
    return {
        p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith("mockinterview-audio-")
    }


def test_wav_decodes_to_16k_mono_float32(
    sentence_wav: Path, speech_settings: Settings, audio_tmp: Path
) -> None:
    audio = decode_audio(
        sentence_wav.read_bytes(), filename="a.wav", content_type="audio/wav", settings=speech_settings
    )
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert 3.0 < audio.duration_s < 8.0
    assert float(np.abs(audio.samples).max()) <= 1.0
    assert list(audio_tmp.iterdir()) == []


@pytest.mark.parametrize("fmt", sorted(ENCODINGS))
def test_compressed_formats_decode_to_the_same_length(
    fmt: str, sentence_wav: Path, speech_settings: Settings, audio_tmp: Path
) -> None:
    reference = decode_audio(
        sentence_wav.read_bytes(), filename=None, content_type=None, settings=speech_settings
    )
    data = encode(sentence_wav, fmt)
    assert sniff_format(data) == fmt
    content_type = {
        "webm": "audio/webm;codecs=opus",
        "ogg": "audio/ogg",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
    }
    audio = decode_audio(
        data, filename=f"answer.{fmt}", content_type=content_type[fmt], settings=speech_settings
    )
    assert audio.source_format == fmt
    assert abs(audio.duration_s - reference.duration_s) < 0.15
    assert list(audio_tmp.iterdir()) == []


def test_stereo_8k_is_resampled_and_mixed_down(speech_settings: Settings) -> None:
    t = np.arange(8000 * 2) / 8000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    audio = decode_audio(_wav(stereo, rate=8000, channels=2), filename="x.wav", content_type="audio/wav",
                         settings=speech_settings)  # fmt: skip
    assert audio.sample_rate == SAMPLE_RATE
    assert abs(audio.duration_s - 2.0) < 0.01


def test_content_decides_over_a_generic_label(sentence_wav: Path, speech_settings: Settings) -> None:
    data = encode(sentence_wav, "ogg")
    audio = decode_audio(
        data, filename="blob", content_type="application/octet-stream", settings=speech_settings
    )
    assert audio.source_format == "ogg"


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "status", "needle"),
    [
        (b"", "a.wav", "audio/wav", 422, "empty"),
        (b"hello, this is not audio", "notes.txt", "text/plain", 415, "unsupported"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "x.png", "image/png", 415, "unsupported"),
        (b"\0" * 200, "blob", "application/octet-stream", 415, "unsupported"),
        (b"garbage that claims to be wav", "a.wav", "audio/wav", 422, "not a readable wav"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 40, "a.wav", "audio/wav", 422, "corrupt"),
        (b"OggS" + b"\x00" * 300, "a.ogg", "audio/ogg", 422, "corrupt"),
    ],
)
def test_bad_uploads_are_refused_clearly(
    data: bytes, filename: str, content_type: str, status: int, needle: str, speech_settings: Settings,
    audio_tmp: Path,
) -> None:  # fmt: skip
    before = _system_tmp()
    with pytest.raises(AudioRejected) as info:
        decode_audio(data, filename=filename, content_type=content_type, settings=speech_settings)
    assert info.value.status_code == status
    assert needle in info.value.message
    assert list(audio_tmp.iterdir()) == [] and _system_tmp() == before


def test_too_large_is_413(sentence_wav: Path, audio_tmp: Path) -> None:
    settings = make_settings(audio_tmp_dir=audio_tmp, max_audio_bytes=1000)
    with pytest.raises(AudioRejected) as info:
        decode_audio(sentence_wav.read_bytes(), filename="a.wav", content_type="audio/wav", settings=settings)
    assert info.value.status_code == 413 and "limit" in info.value.message


def test_too_long_is_422(sentence_wav: Path, audio_tmp: Path) -> None:
    settings = make_settings(audio_tmp_dir=audio_tmp, max_audio_seconds=2.0)
    with pytest.raises(AudioRejected) as info:
        decode_audio(sentence_wav.read_bytes(), filename="a.wav", content_type="audio/wav", settings=settings)
    assert info.value.status_code == 422 and "longer than the limit of 2 seconds" in info.value.message
    assert list(audio_tmp.iterdir()) == []


@pytest.mark.parametrize("level", [0.0, 0.0005])
def test_silence_is_422(level: float, speech_settings: Settings) -> None:
    rng = np.random.default_rng(0)
    quiet = level * rng.standard_normal(SAMPLE_RATE * 3)
    with pytest.raises(AudioRejected) as info:
        decode_audio(_wav(quiet), filename="a.wav", content_type="audio/wav", settings=speech_settings)
    assert info.value.status_code == 422 and "silent" in info.value.message


def test_video_without_audio_is_422(tmp_path: Path, speech_settings: Settings) -> None:
    out = tmp_path / "video.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=32x32:d=1",
            "-c:v",
            "libvpx",
            str(out),
        ],
        check=True,
    )
    with pytest.raises(AudioRejected) as info:
        decode_audio(out.read_bytes(), filename="v.webm", content_type="video/webm", settings=speech_settings)
    assert info.value.status_code == 422 and "no audio stream" in info.value.message


def test_truncated_mp3_is_refused_or_decoded_without_leftovers(
    sentence_wav: Path, speech_settings: Settings, audio_tmp: Path
) -> None:
    data = encode(sentence_wav, "m4a")[:2000]  # the m4a index lives at the end: cut, it is unreadable
    with pytest.raises(AudioRejected) as info:
        decode_audio(data, filename="a.m4a", content_type="audio/mp4", settings=speech_settings)
    assert info.value.status_code == 422
    assert list(audio_tmp.iterdir()) == []
