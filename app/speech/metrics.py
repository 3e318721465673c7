"""Speaking metrics: duration, pace, filler words and long pauses read from the energy envelope."""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from app.speech.audio import FRAME_S, SILENCE_DBFS, Audio, frame_levels_db

__all__ = ["Pause", "SpeechMetrics", "count_fillers", "find_pauses", "speaking_metrics"]

# Sounds that are fillers wherever they occur.
_HESITATIONS = re.compile(r"\b(u+m+|u+h+m*|e+r+m+|e+r+|a+h+|h+m+|m+h*m+)\b", re.IGNORECASE)
# Words that are fillers only when set off from the sentence ("so, like, the model ..."), because
# "acts like an ensemble" or "I mean squared error" are ordinary speech.
_DISCOURSE = re.compile(
    r"(?:^|(?<=[,.;:!?]))\s*"
    r"(like|you know|i mean|basically|actually|literally|sort of|kind of)"
    r"\s*(?=[,.;:!?]|$)",
    re.IGNORECASE,
)
_NORMAL = {"u": "uh", "e": "er", "a": "ah", "h": "hmm", "m": "mm"}
_WORDS = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_MIN_VOICED_FRAMES = 3  # shorter bursts inside a silence are clicks, not speech


class Pause(BaseModel):
    start_s: float
    end_s: float
    duration_s: float


# Counts a client may send back with a page-transcribed answer (AnswerIn.spoken): bounded like every
# integer input, although they are stored as JSON.
_MAX_COUNT = 2**31 - 1


class SpeechMetrics(BaseModel):
    duration_s: float = Field(description="length of the recording")
    speaking_s: float = Field(description="from the first to the last voiced moment")
    word_count: int = Field(ge=0, le=_MAX_COUNT)
    words_per_minute: float = Field(description="words over the speaking time")
    fillers: dict[str, Annotated[int, Field(ge=0, le=_MAX_COUNT)]]
    filler_count: int = Field(ge=0, le=_MAX_COUNT)
    long_pauses: list[Pause]
    long_pause_count: int = Field(ge=0, le=_MAX_COUNT)
    longest_pause_s: float
    long_pause_threshold_s: float


def _filler_name(sound: str) -> str:
    s = sound.lower()
    if s.startswith("er") and s.endswith("m"):
        return "erm"
    if s.startswith("u") and s.endswith("m") and "h" not in s:
        return "um"
    if s.startswith("u") and "h" in s and s.endswith("m"):
        return "um"
    return _NORMAL.get(s[0], s)


def count_fillers(text: str) -> dict[str, int]:
    """Filler words and phrases with their counts, most frequent first."""
    counts: dict[str, int] = {}
    for m in _HESITATIONS.finditer(text):
        name = _filler_name(m.group(1))
        counts[name] = counts.get(name, 0) + 1
    for sentence in re.split(r"(?<=[.;!?])\s+", text):
        for m in _DISCOURSE.finditer(sentence.strip()):
            name = m.group(1).lower()
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _voiced(levels: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    threshold = max(SILENCE_DBFS, float(np.percentile(levels, 95)) - 35.0)
    voiced = levels >= threshold
    # Drop clicks: voiced runs shorter than a few frames.
    i, n = 0, len(voiced)
    while i < n:
        if voiced[i]:
            j = i
            while j < n and voiced[j]:
                j += 1
            if j - i < _MIN_VOICED_FRAMES:
                voiced[i:j] = False
            i = j
        else:
            i += 1
    result: npt.NDArray[np.bool_] = voiced
    return result


def find_pauses(audio: Audio, *, min_s: float) -> tuple[list[Pause], float, float]:
    """Silences longer than min_s between the first and last voiced frame; also that speaking span."""
    voiced = _voiced(frame_levels_db(audio.samples))
    idx = np.flatnonzero(voiced)
    if idx.size == 0:
        return [], 0.0, 0.0
    first, last = int(idx[0]), int(idx[-1])
    pauses: list[Pause] = []
    i = first
    while i <= last:
        if not voiced[i]:
            j = i
            while j <= last and not voiced[j]:
                j += 1
            length = (j - i) * FRAME_S
            if length > min_s:
                start, end = i * FRAME_S, j * FRAME_S
                pauses.append(
                    Pause(start_s=round(start, 2), end_s=round(end, 2), duration_s=round(length, 2))
                )
            i = j
        else:
            i += 1
    return pauses, first * FRAME_S, (last + 1) * FRAME_S


def speaking_metrics(audio: Audio, transcript: str, *, long_pause_s: float = 1.5) -> SpeechMetrics:
    """Pace and fluency of one spoken answer, from its audio and the raw transcript."""
    pauses, start, end = find_pauses(audio, min_s=long_pause_s)
    speaking = max(end - start, 0.0)
    words = len(_WORDS.findall(transcript))
    fillers = count_fillers(transcript)
    return SpeechMetrics(
        duration_s=round(audio.duration_s, 2),
        speaking_s=round(speaking, 2),
        word_count=words,
        words_per_minute=round(words / speaking * 60.0, 1) if speaking >= 1.0 else 0.0,
        fillers=fillers,
        filler_count=sum(fillers.values()),
        long_pauses=pauses,
        long_pause_count=len(pauses),
        longest_pause_s=max((p.duration_s for p in pauses), default=0.0),
        long_pause_threshold_s=long_pause_s,
    )
