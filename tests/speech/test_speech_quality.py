"""Quality on real speech: espeak-ng reads bank reference answers, the default Whisper transcribes
primed with the question (as the service does), the corrector fixes, the real scorer grades. Quality
only, never time (benchmarks/bench_stt.py reports speed).

Targets from issue 6, which Moonshine tiny-en never met (WER 0.34 corrected, a spoken strong sample
1.66 points below the typed one): corrected WER <= 0.20 and spoken strong answers within 1.5 points of
the typed ones. Issue 19's tighter targets (WER <= 0.15, gap <= 1.0) are measured by the benchmark over
24 questions (README).
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
from app.speech.service import question_prompt
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
    whisper: Transcriber,
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
        raw = asyncio.run(whisper.transcribe(audio, prompt=question_prompt(q)))
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


def test_corrected_wer_meets_issue_6s_target(measured: Measured) -> None:
    assert measured.wer_corrected <= 0.20, measured.rows
    # Correction may not undo what the primed decoder got right.
    assert all(cor <= raw + 0.05 for _, raw, cor, _, _ in measured.rows), measured.rows


def test_spoken_strong_answers_score_like_typed_ones(measured: Measured) -> None:
    assert measured.score_gap <= 1.5, measured.rows
    assert statistics.median(spoken for *_, spoken in measured.rows) >= 7.0, measured.rows


def test_benchmark_helpers_pick_a_fixed_spread(bank: Bank) -> None:
    ids = [q.id for q in pick_questions(bank, 24)]
    assert len(ids) == 24 == len(set(ids)) and ids == sorted(ids)
    assert Path("benchmarks/bench_stt.py").exists()
