"""Quality on real speech: espeak-ng reads bank reference answers, Moonshine transcribes, the corrector
fixes, the real scorer grades. Quality only, never time (benchmarks/bench_stt.py reports speed).

Targets from issue 6: corrected WER <= 0.20 and spoken strong answers within 1.5 points of the
typed ones. Neither holds on this subset (WER raw 0.42, corrected 0.34; a spoken strong sample scores
1.66 points below the typed one; tiny-en is the limit): both stay strict xfails, so each turns into a
failure the day it is met, and the guard tests hold today's level.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.bank.models import Bank, Question
from app.scoring.schemas import Rubric
from app.scoring.scorer import Scorer
from app.speech.audio import decode_audio
from app.speech.base import Transcriber
from app.speech.correction import Glossary
from app.speech.evaluation import spoken_form, word_error_rate
from benchmarks.bench_stt import answer_text, pick_questions
from tests.speech.conftest import synthesise
from tests.support import make_settings

pytestmark = pytest.mark.speech

SUBSET = 6


@dataclass
class Measured:
    wer_raw: float
    wer_corrected: float
    score_gap: float
    rows: list[tuple[str, float, float, float, float]]


@pytest.fixture(scope="module")
def measured(
    bank: Bank,
    scorer: Scorer,
    moonshine: Transcriber,
    glossary: Glossary,
    tmp_path_factory: pytest.TempPathFactory,
) -> Measured:
    folder = tmp_path_factory.mktemp("quality")
    settings = make_settings()
    rows = []

    def hear(q: Question, text: str, name: str) -> tuple[str, str, str]:
        spoken = spoken_form(text)
        wav = synthesise(spoken, folder / f"{name}.wav")
        audio = decode_audio(wav.read_bytes(), filename=wav.name, content_type="audio/wav", settings=settings)
        raw = asyncio.run(moonshine.transcribe(audio))
        return spoken, raw, glossary.corrector(q).correct(raw)[0]

    for q in pick_questions(bank, SUBSET):
        # WER on the reference answer, read aloud.
        spoken, raw, corrected = hear(q, q.reference_answer, q.id)
        # The score gap on a strong sample: typed, a reference answer scores 10 and its spoken form
        # stays above the top of the calibration map, so it would hide any loss.
        strong = answer_text(q, "strong")
        _, _, heard_strong = hear(q, strong, f"{q.id}-strong")
        rubric = Rubric.from_question(q)
        typed, heard = scorer.score_many([(rubric, strong), (rubric, heard_strong)])
        rows.append(
            (q.id, word_error_rate(spoken, raw), word_error_rate(spoken, corrected), typed.value, heard.value)
        )
    return Measured(
        wer_raw=statistics.fmean(r[1] for r in rows),
        wer_corrected=statistics.fmean(r[2] for r in rows),
        score_gap=statistics.fmean(abs(r[3] - r[4]) for r in rows),
        rows=rows,
    )


def test_correction_lowers_wer_and_holds_todays_level(measured: Measured) -> None:
    assert measured.wer_corrected < measured.wer_raw, measured.rows
    assert measured.wer_corrected <= 0.40, measured.rows
    assert all(cor <= raw + 0.02 for _, raw, cor, _, _ in measured.rows), measured.rows


def test_spoken_answers_still_score_as_strong_answers(measured: Measured) -> None:
    assert statistics.median(spoken for *_, spoken in measured.rows) >= 6.5, measured.rows


@pytest.mark.xfail(strict=True, reason="issue 6 target not met: tiny-en on espeak-ng speech, measured 0.34")
def test_target_corrected_wer(measured: Measured) -> None:
    assert measured.wer_corrected <= 0.20, measured.rows


@pytest.mark.xfail(strict=True, reason="issue 6 target not met: spoken strong samples lose 1.66 points")
def test_target_score_gap(measured: Measured) -> None:
    assert measured.score_gap <= 1.5, measured.rows


def test_score_gap_holds_todays_level(measured: Measured) -> None:
    assert measured.score_gap <= 2.2, measured.rows


def test_benchmark_helpers_pick_a_fixed_spread(bank: Bank) -> None:
    ids = [q.id for q in pick_questions(bank, 24)]
    assert len(ids) == 24 == len(set(ids)) and ids == sorted(ids)
    assert Path("benchmarks/bench_stt.py").exists()
