"""Speech-to-text benchmark: real-time factor, WER raw/corrected and spoken-vs-typed score gap.

Speech is synthesised with Debian's espeak-ng from the spoken form of bank reference answers
(symbols read as words), decoded by the service's own ffmpeg path and transcribed by the
configured provider (MOCKINTERVIEW_STT, default moonshine).

    .venv/bin/python benchmarks/bench_stt.py --questions 24 [--read reference|strong]
        [--no-score] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.bank.loader import load_bank  # noqa: E402
from app.bank.models import Bank, Kind, Question, SampleLabel  # noqa: E402
from app.config import Settings  # noqa: E402
from app.speech.audio import Audio, decode_audio  # noqa: E402
from app.speech.base import Transcriber, create_transcriber  # noqa: E402
from app.speech.correction import Glossary  # noqa: E402
from app.speech.evaluation import spoken_form, word_error_rate  # noqa: E402

VOICE = "en-us"
WORDS_PER_MINUTE = 150


def pick_questions(bank: Bank, n: int) -> list[Question]:
    """A fixed spread over the bank (every k-th question by id), leaving out code questions."""
    pool = sorted((q for q in bank.questions.values() if q.kind != Kind.code), key=lambda q: q.id)
    step = max(1, len(pool) // n)
    return pool[::step][:n]


def synthesise(text: str, path: Path) -> None:
    subprocess.run(
        ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(path), text],
        check=True,
        capture_output=True,
    )


@dataclass
class Row:
    question_id: str
    audio_s: float
    transcribe_s: float
    wer_raw: float
    wer_corrected: float
    score_typed: float | None = None
    score_spoken: float | None = None
    spoken_flags: list[str] | None = None


async def _transcribe(transcriber: Transcriber, audio: Audio) -> tuple[str, float]:
    start = time.perf_counter()
    text = await transcriber.transcribe(audio)
    return text, time.perf_counter() - start


def answer_text(q: Question, source: str) -> str:
    """What is read aloud: the reference answer, or the question's first strong sample answer
    (which scores below 10 typed, so a spoken loss cannot hide under the top of the scale)."""
    if source == "strong":
        return next(s.text for s in q.sample_answers if s.label is SampleLabel.strong)
    return q.reference_answer


def run(n: int, score: bool, source: str = "reference") -> list[Row]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bank = load_bank(settings.bank_dir)
    glossary = Glossary.from_bank(bank)
    transcriber = create_transcriber(settings)
    scorer = None
    if score:
        from app.scoring.schemas import Rubric
        from app.scoring.service import build_scorer

        scorer = build_scorer(settings)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-stt-") as tmp:
        for q in pick_questions(bank, n):
            text = answer_text(q, source)
            spoken = spoken_form(text)
            wav = Path(tmp) / f"{q.id}.wav"
            synthesise(spoken, wav)
            data = wav.read_bytes()
            audio = decode_audio(data, filename=wav.name, content_type="audio/wav", settings=settings)
            raw, seconds = asyncio.run(_transcribe(transcriber, audio))
            corrected, _ = glossary.corrector(q).correct(raw)
            row = Row(
                question_id=q.id,
                audio_s=round(audio.duration_s, 2),
                transcribe_s=round(seconds, 3),
                wer_raw=round(word_error_rate(spoken, raw), 4),
                wer_corrected=round(word_error_rate(spoken, corrected), 4),
            )
            if scorer is not None:
                rubric = Rubric.from_question(q)
                typed, heard = scorer.score_many([(rubric, text), (rubric, corrected)])
                row.score_typed, row.score_spoken = typed.value, heard.value
                row.spoken_flags = heard.flags
            rows.append(row)
            print(
                f"{q.id:55s} {row.audio_s:6.1f}s rtf={row.transcribe_s / row.audio_s:.3f} "
                f"wer {row.wer_raw:.3f} -> {row.wer_corrected:.3f}"
                + (f" score {row.score_typed:.2f} vs {row.score_spoken:.2f} {heard.flags}" if scorer else ""),
                file=sys.stderr,
            )
    return rows


def summary(rows: list[Row]) -> dict[str, float]:
    audio = sum(r.audio_s for r in rows)
    out = {
        "questions": float(len(rows)),
        "audio_s": round(audio, 1),
        "real_time_factor": round(sum(r.transcribe_s for r in rows) / audio, 4),
        "wer_raw": round(statistics.fmean(r.wer_raw for r in rows), 4),
        "wer_corrected": round(statistics.fmean(r.wer_corrected for r in rows), 4),
    }
    gaps = [
        abs(r.score_typed - r.score_spoken)
        for r in rows
        if r.score_typed is not None and r.score_spoken is not None
    ]
    if gaps:
        out["score_gap_mean"] = round(statistics.fmean(gaps), 3)
        out["score_gap_max"] = round(max(gaps), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--no-score", action="store_true", help="skip the spoken-vs-typed score gap")
    parser.add_argument("--json", type=Path, help="also write rows and summary here")
    parser.add_argument(
        "--read", choices=["reference", "strong"], default="reference", help="which answer is read aloud"
    )
    args = parser.parse_args()
    rows = run(args.questions, score=not args.no_score, source=args.read)
    result = summary(rows)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "rows": [asdict(r) for r in rows]}, indent=2))


if __name__ == "__main__":
    main()
