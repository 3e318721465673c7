"""Speech-to-text benchmark: real-time factor, WER and spoken-vs-typed score gap, providers side by side.

Speech is synthesised with Debian's espeak-ng from the spoken form of bank answers (symbols read as
words), decoded by the service's own ffmpeg path and transcribed by each provider named (default:
whisper and moonshine) on the same recordings. Per provider:

- wer_plain / wer_plain_corrected: the decoder not primed, before and after topic-aware correction;
- wer_raw / wer_final: primed with the question and its key-point terms (what the service does when
  stt_prime is on and the provider can be primed), before and after correction. `final` is the text
  the service scores; the score gap compares it with the typed answer. The embedding score by
  default; with --judge, the score as the service gives it (the bank's other questions as
  neighbours, the correctness judge's verdict and key-point questions in it).

    .venv/bin/python benchmarks/bench_stt.py --questions 24 --read strong [--stt whisper,moonshine]
        [--no-score] [--judge] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from app.scoring.schemas import Rubric, ScoreResult  # noqa: E402
from app.speech.audio import Audio, decode_audio  # noqa: E402
from app.speech.base import Transcriber
from app.speech.correction import Glossary  # noqa: E402
from app.speech.evaluation import spoken_form, word_error_rate  # noqa: E402
from app.speech.registry import create_transcriber  # noqa: E402
from app.speech.service import question_prompt  # noqa: E402

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
    provider: str
    question_id: str
    audio_s: float
    transcribe_s: float  # the primed decode, as the service runs it
    wer_plain: float
    wer_plain_corrected: float
    wer_raw: float
    wer_final: float
    final: str = ""
    score_typed: float | None = None
    score_spoken: float | None = None
    spoken_flags: list[str] | None = None


async def _transcribe(transcriber: Transcriber, audio: Audio, prompt: str | None) -> tuple[str, float]:
    start = time.perf_counter()
    text = await transcriber.transcribe(audio, prompt=prompt)
    return text, time.perf_counter() - start


def answer_text(q: Question, source: str) -> str:
    """What is read aloud: the reference answer, or the question's first strong sample answer
    (which scores below 10 typed, so a spoken loss cannot hide under the top of the scale)."""
    if source == "strong":
        return next(s.text for s in q.sample_answers if s.label is SampleLabel.strong)
    return q.reference_answer


def run(
    n: int,
    score: bool,
    source: str = "reference",
    providers: tuple[str, ...] = ("whisper",),
    judged: bool = False,
) -> list[Row]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    bank = load_bank(settings.bank_dir)
    glossary = Glossary.from_bank(bank)
    transcribers = [create_transcriber(settings.model_copy(update={"stt": p})) for p in providers]
    scorer = None
    if score:
        from app.scoring.service import build_scorer

        scorer = build_scorer(settings, bank if judged else None)
    judge = None
    if judged:
        from app.judge.registry import create_judge
        from app.judge.service import judge_scores

        judge = create_judge(settings)
        if judge is None:
            raise SystemExit("--judge needs MOCKINTERVIEW_JUDGE other than off")

    def grade(rubric: Rubric, text: str) -> ScoreResult:
        assert scorer is not None
        result = scorer.score_many([(rubric, text)])[0]
        if judge is not None:
            result = judge_scores(judge=judge, scorer=scorer, items=[(rubric, text, result)])[0]
        return result

    rows: list[Row] = []
    with contextlib.ExitStack() as cleanup:
        if judge is not None:
            cleanup.callback(judge.close)  # its worker thread and verdict cache, also after an error
        tmp = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-stt-"))
        for q in pick_questions(bank, n):
            text = answer_text(q, source)
            spoken = spoken_form(text)
            wav = Path(tmp) / f"{q.id}.wav"
            synthesise(spoken, wav)
            data = wav.read_bytes()
            audio = decode_audio(data, filename=wav.name, content_type="audio/wav", settings=settings)
            corrector = glossary.corrector(q)
            typed = None
            if scorer is not None:
                rubric = Rubric.from_question(q)
                typed = grade(rubric, text)
            for transcriber in transcribers:
                prompt = question_prompt(q) if transcriber.primable else None
                raw, seconds = asyncio.run(_transcribe(transcriber, audio, prompt))
                plain = raw if prompt is None else asyncio.run(_transcribe(transcriber, audio, None))[0]
                final, _ = corrector.correct(raw)
                row = Row(
                    provider=transcriber.name,
                    question_id=q.id,
                    audio_s=round(audio.duration_s, 2),
                    transcribe_s=round(seconds, 3),
                    wer_plain=round(word_error_rate(spoken, plain), 4),
                    wer_plain_corrected=round(word_error_rate(spoken, corrector.correct(plain)[0]), 4),
                    wer_raw=round(word_error_rate(spoken, raw), 4),
                    wer_final=round(word_error_rate(spoken, final), 4),
                    final=final,
                )
                if scorer is not None and typed is not None:
                    heard = grade(rubric, final)
                    row.score_typed, row.score_spoken = typed.value, heard.value
                    row.spoken_flags = heard.flags
                rows.append(row)
                print(
                    f"{row.provider:9s} {q.id:45s} {row.audio_s:5.1f}s "
                    f"rtf={row.transcribe_s / row.audio_s:.3f} "
                    f"plain {row.wer_plain:.3f}->{row.wer_plain_corrected:.3f} "
                    f"primed {row.wer_raw:.3f}->{row.wer_final:.3f}"
                    + (f" score {row.score_typed:.2f} vs {row.score_spoken:.2f}" if typed else ""),
                    file=sys.stderr,
                )
    return rows


def summary(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Per provider: means over the questions (the real-time factor over all audio)."""
    out: dict[str, dict[str, float]] = {}
    for provider in dict.fromkeys(r.provider for r in rows):
        mine = [r for r in rows if r.provider == provider]
        audio = sum(r.audio_s for r in mine)
        res = {
            "questions": float(len(mine)),
            "audio_s": round(audio, 1),
            "real_time_factor": round(sum(r.transcribe_s for r in mine) / audio, 4),
            "wer_plain": round(statistics.fmean(r.wer_plain for r in mine), 4),
            "wer_plain_corrected": round(statistics.fmean(r.wer_plain_corrected for r in mine), 4),
            "wer_raw": round(statistics.fmean(r.wer_raw for r in mine), 4),
            "wer_final": round(statistics.fmean(r.wer_final for r in mine), 4),
            "wer_final_median": round(statistics.median(r.wer_final for r in mine), 4),
        }
        gaps = [
            r.score_typed - r.score_spoken
            for r in mine
            if r.score_typed is not None and r.score_spoken is not None
        ]
        if gaps:
            res["score_gap_mean"] = round(statistics.fmean(abs(g) for g in gaps), 3)
            res["score_gap_max"] = round(max(abs(g) for g in gaps), 3)
            res["spoken_minus_typed_mean"] = round(-statistics.fmean(gaps), 3)
        out[provider] = res
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--stt", default="whisper,moonshine", help="providers, comma-separated")
    parser.add_argument("--no-score", action="store_true", help="skip the spoken-vs-typed score gap")
    parser.add_argument(
        "--judge", action="store_true", help="score as the service does: neighbours and the judge"
    )
    parser.add_argument("--json", type=Path, help="also write rows and summary here")
    parser.add_argument(
        "--read", choices=["reference", "strong"], default="reference", help="which answer is read aloud"
    )
    args = parser.parse_args()
    providers = tuple(p.strip() for p in args.stt.split(",") if p.strip())
    rows = run(
        args.questions, score=not args.no_score, source=args.read, providers=providers, judged=args.judge
    )
    result = summary(rows)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": result, "rows": [asdict(r) for r in rows]}, indent=2))


if __name__ == "__main__":
    main()
