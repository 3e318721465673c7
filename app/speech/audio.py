"""Decode uploaded audio (wav, webm/opus, ogg, mp3, m4a) to 16 kHz mono float32 with Debian's ffmpeg.

moonshine-voice only reads 16/24-bit PCM WAV at its native rate, so every format goes through one
ffmpeg call. The container is recognised from the bytes and ffmpeg is told which demuxer to use,
so it never probes its way into playlists or other inputs that could read local files.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.config import Settings
from app.errors import AudioRejected, ConfigurationError

__all__ = [
    "SAMPLE_RATE",
    "SUPPORTED",
    "Audio",
    "check_ffmpeg",
    "decode_audio",
    "frame_levels_db",
    "sniff_format",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
FRAME_S = 0.02  # 20 ms analysis frames for levels and pauses
SILENCE_DBFS = -50.0  # audio whose loudest frame stays below this is treated as silent
SUPPORTED = "wav, webm/opus, ogg, mp3 or m4a"
_DECODE_TIMEOUT_S = 60.0

# format -> ffmpeg demuxer
_DEMUXERS = {"wav": "wav", "ogg": "ogg", "webm": "matroska", "mp3": "mp3", "m4a": "mov"}
_CONTENT_TYPES = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "video/mp4": "m4a",
}
_EXTENSIONS = {
    ".wav": "wav",
    ".wave": "wav",
    ".webm": "webm",
    ".weba": "webm",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".opus": "ogg",
    ".mp3": "mp3",
    ".m4a": "m4a",
    ".mp4": "m4a",
}
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


@dataclass(frozen=True)
class Audio:
    """Decoded speech: mono float32 samples in [-1, 1] at 16 kHz."""

    samples: npt.NDArray[np.float32]
    sample_rate: int = SAMPLE_RATE
    source_format: str = "pcm"

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def sniff_format(data: bytes) -> str | None:
    """The container the bytes are in, from their magic numbers; None when not one we accept."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[4:8] == b"ftyp":
        return "m4a"
    if data[:3] == b"ID3":
        return "mp3"
    # An MPEG audio frame header: 11 sync bits, then a layer field that is not 00 (00 is AAC ADTS).
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:
        return "mp3"
    return None


def _declared_format(filename: str | None, content_type: str | None) -> tuple[str | None, str]:
    """The format the client says it sent, and how it said it (for error messages)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype not in _GENERIC_TYPES:
        return _CONTENT_TYPES.get(ctype), ctype
    suffix = Path(filename or "").suffix.lower()
    if suffix:
        return _EXTENSIONS.get(suffix), suffix
    return None, ctype or "an unnamed file"


def check_ffmpeg(settings: Settings) -> str:
    """The ffmpeg executable; missing ffmpeg fails at start rather than on the first upload."""
    found = shutil.which(settings.ffmpeg)
    if found is None:
        raise ConfigurationError(
            f"ffmpeg ({settings.ffmpeg!r}) is not installed; spoken answers need it (apt-get install ffmpeg)"
        )
    return found


def decode_audio(data: bytes, *, filename: str | None, content_type: str | None, settings: Settings) -> Audio:
    """16 kHz mono float32 samples, or AudioRejected saying what was wrong (413, 415 or 422)."""
    if not data:
        raise AudioRejected("the audio file is empty")
    if len(data) > settings.max_audio_bytes:
        raise AudioRejected(
            f"the audio file is {len(data)} bytes; the limit is {settings.max_audio_bytes} bytes",
            status_code=413,
        )
    declared, said = _declared_format(filename, content_type)
    fmt = sniff_format(data)
    if fmt is None:
        if declared is None:
            raise AudioRejected(f"unsupported audio type {said!r}; send {SUPPORTED}", status_code=415)
        raise AudioRejected(f"the audio is not a readable {declared} file (corrupt or mislabelled)")
    samples = _run_ffmpeg(data, fmt, settings)
    if samples.size == 0:
        raise AudioRejected(f"the {fmt} file contains no audio samples")
    audio = Audio(samples=samples, source_format=fmt)
    if audio.duration_s > settings.max_audio_seconds:
        raise AudioRejected(f"the audio is longer than the limit of {settings.max_audio_seconds:g} seconds")
    if float(frame_levels_db(samples).max()) < SILENCE_DBFS:
        raise AudioRejected("the audio is silent; no speech was heard")
    return audio


def _run_ffmpeg(data: bytes, fmt: str, settings: Settings) -> npt.NDArray[np.float32]:
    # A seekable file, not a pipe: m4a keeps its index at the end. The folder goes away whatever happens.
    with tempfile.TemporaryDirectory(prefix="mockinterview-audio-", dir=settings.audio_tmp_dir) as tmp:
        path = Path(tmp) / f"input.{fmt}"
        path.write_bytes(data)
        cmd = [
            settings.ffmpeg,
            "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file,pipe",
            "-f", _DEMUXERS[fmt], "-i", str(path),
            # Decode at most a second past the limit, so an over-long file is refused cheaply.
            "-t", f"{settings.max_audio_seconds + 1:.3f}",
            "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
            "-f", "f32le", "pipe:1",
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=_DECODE_TIMEOUT_S, check=False)
        except FileNotFoundError as exc:
            raise ConfigurationError(f"ffmpeg ({settings.ffmpeg!r}) is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise AudioRejected(f"the {fmt} file could not be decoded in {_DECODE_TIMEOUT_S:g} s") from exc
        if proc.returncode != 0:
            reason = _ffmpeg_reason(proc.stderr, str(path))
            log.info("ffmpeg rejected a %s upload: %s", fmt, reason)
            raise AudioRejected(f"the {fmt} file is corrupt or unreadable: {reason}")
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)


def _ffmpeg_reason(stderr: bytes, path: str) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return "ffmpeg could not decode it"
    text = lines[-1] if "matches no streams" not in stderr.decode("utf-8", "replace") else "no audio stream"
    return text.replace(path, "input")[:200]


def frame_levels_db(samples: npt.NDArray[np.float32], frame_s: float = FRAME_S) -> npt.NDArray[np.float64]:
    """RMS level of each 20 ms frame in dBFS (the energy envelope pauses and silence are read from)."""
    n = max(1, int(SAMPLE_RATE * frame_s))
    usable = len(samples) - len(samples) % n
    if usable == 0:
        frames = np.asarray(samples, dtype=np.float64).reshape(1, -1)
    else:
        frames = np.asarray(samples[:usable], dtype=np.float64).reshape(-1, n)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    result: npt.NDArray[np.float64] = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return result
