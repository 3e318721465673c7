"""Spoken answers end to end: read the upload, decode, transcribe, correct, measure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.datastructures import UploadFile

from app.bank.models import Bank, KeyPoint, Question
from app.config import Settings
from app.errors import AnswerTooLarge, AudioRejected, InvalidInput, QuestionNotFound
from app.speech.audio import decode_audio
from app.speech.base import Transcriber
from app.speech.correction import Corrector, Glossary
from app.speech.metrics import speaking_metrics
from app.speech.schemas import SpokenAnswer, TranscribeOut, Transcript

__all__ = [
    "decoding_prompt",
    "question_prompt",
    "read_upload",
    "speech_record",
    "transcribe_answer",
    "transcribe_upload",
]

_CHUNK = 256 * 1024


def decoding_prompt(text: str, key_points: Sequence[KeyPoint]) -> str:
    """What the decoder is primed with: the question asked, then its key points' terms.

    Whisper reads it as text that came before the answer, so the answer's technical words come out
    spelled as the rubric spells them. It names terms only; it never carries an answer."""
    terms: list[str] = []
    seen: set[str] = set()
    for kp in key_points:
        for term in kp.terms:
            if term.lower() not in seen:
                seen.add(term.lower())
                terms.append(term)
    text = " ".join(text.split())
    return f"{text} {', '.join(terms)}." if terms else text


def question_prompt(
    question: Question, *, follow_up_id: str | None = None, follow_up_text: str | None = None
) -> str:
    """The prompt for an answer to `question`, or to one of its follow-ups (the follow-up's own terms;
    a free-form follow-up the coach wrote has none, so it is primed with its text and the question's)."""
    if follow_up_id is not None:
        try:
            follow_up = question.follow_up(follow_up_id)
        except KeyError:
            follow_up = None
        if follow_up is not None:
            return decoding_prompt(follow_up_text or follow_up.text, follow_up.key_points)
    return decoding_prompt(follow_up_text or question.text, question.key_points)


def speech_record(
    spoken: SpokenAnswer, sent: str, *, limit: int
) -> tuple[dict[str, object], dict[str, object]]:
    """What a turn answered by voice stores: the raw and corrected transcript, the text finally sent
    and whether the candidate edited it first, and the speaking metrics (transcript, speech)."""
    for name, value in (("raw", spoken.raw), ("corrected", spoken.corrected)):
        if len(value) > limit:
            raise AnswerTooLarge(f"spoken.transcript.{name}: {len(value)} characters; the limit is {limit}")
    edited = " ".join(sent.split()) != " ".join(spoken.corrected.split())
    transcript = spoken.transcript.model_dump(mode="json")
    transcript.update(final=sent, edited=edited, provider=spoken.provider)
    return transcript, spoken.speech.model_dump(mode="json")


async def read_upload(upload: UploadFile | bytes, *, limit: int) -> bytes:
    """The upload's bytes, reading at most one byte past the limit so a huge file is refused early."""
    if isinstance(upload, bytes):
        data = upload
    else:
        parts: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = await upload.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        data = b"".join(parts)
    if len(data) > limit:
        raise AudioRejected(f"the audio file is larger than the limit of {limit} bytes", status_code=413)
    return data


async def transcribe_upload(
    *,
    transcriber: Transcriber,
    upload: UploadFile | bytes,
    filename: str | None,
    content_type: str | None,
    settings: Settings,
    bank_question: Question | None = None,
    glossary: Glossary | None = None,
    prompt: str | None = None,
) -> SpokenAnswer:
    """Raw and corrected transcript plus speaking metrics; AudioRejected (4xx) for unusable audio.

    `prompt` primes the decoder (default: the question's, when one is given and stt_prime is on)."""
    data = await read_upload(upload, limit=settings.max_audio_bytes)
    audio = await asyncio.to_thread(
        decode_audio, data, filename=filename, content_type=content_type, settings=settings
    )
    if prompt is None and bank_question is not None:
        prompt = question_prompt(bank_question)
    raw = (await transcriber.transcribe(audio, prompt=prompt if settings.stt_prime else None)).strip()
    if not raw:
        raise AudioRejected("no speech was recognised in the audio")
    if glossary is not None:
        corrector = glossary.corrector(bank_question)
    else:
        corrector = Corrector.for_question(bank_question)
    corrected, corrections = corrector.correct(raw)
    return SpokenAnswer(
        transcript=Transcript(raw=raw, corrected=corrected, corrections=corrections),
        speech=speaking_metrics(audio, raw, long_pause_s=settings.long_pause_s),
        provider=transcriber.name,
    )


async def transcribe_answer(
    *,
    transcriber: Transcriber,
    glossary: Glossary | None,
    bank: Bank,
    settings: Settings,
    upload: UploadFile,
    question_id: str | None = None,
    follow_up_id: str | None = None,
    follow_up: str | None = None,
) -> TranscribeOut:
    """POST /v1/transcribe: the transcript for review, corrected toward the question when one is named;
    an answer to a follow-up is decoded with the follow-up's own words and terms, as the interview's
    spoken answers are."""
    question = None
    prompt = None
    if (follow_up_id is not None or follow_up) and not question_id:
        raise InvalidInput("a follow-up needs the question_id it follows")
    if question_id:
        question = bank.get(question_id)
        if question is None:
            raise QuestionNotFound(f"no question {question_id!r} in the bank")
        if follow_up_id is not None and follow_up_id not in {f.id for f in question.follow_ups}:
            raise QuestionNotFound(f"question {question_id!r} has no follow-up {follow_up_id!r}")
        if follow_up_id is not None or follow_up:
            prompt = question_prompt(question, follow_up_id=follow_up_id, follow_up_text=follow_up or None)
    spoken = await transcribe_upload(
        transcriber=transcriber,
        upload=upload,
        filename=upload.filename,
        content_type=upload.content_type,
        settings=settings,
        bank_question=question,
        glossary=glossary,
        prompt=prompt,
    )
    return TranscribeOut(**spoken.model_dump(), question_id=question_id)
