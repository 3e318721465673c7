"""The transcriber registry, the offline Whisper (default) and Moonshine models, and the OpenAI-compatible
provider against a real HTTP server on 127.0.0.1 that answers /v1/audio/transcriptions with our own
Moonshine model."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
import uvicorn
from fastapi import FastAPI, File, Form, HTTPException, UploadFile

from app.bank.models import Bank, SampleLabel
from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.speech.audio import Audio, decode_audio
from app.speech.base import Transcriber
from app.speech.evaluation import spoken_form, word_error_rate
from app.speech.moonshine import MoonshineTranscriber
from app.speech.openai_stt import OpenAITranscriber
from app.speech.registry import available_transcribers, create_transcriber
from app.speech.service import question_prompt
from app.speech.whisper import PACKAGED_SHA256, PACKAGED_SIZE, WhisperTranscriber
from tests.speech.conftest import SENTENCE, synthesise
from tests.support import AppFactory, make_settings

pytestmark = pytest.mark.speech


@pytest.fixture(scope="module")
def sentence_audio(sentence_wav: Path) -> Audio:
    return decode_audio(sentence_wav.read_bytes(), filename="a.wav", content_type="audio/wav",
                        settings=make_settings())  # fmt: skip


def _transcription_app(moonshine: Transcriber, seen: list[dict[str, str]]) -> FastAPI:
    """A small OpenAI-compatible transcription server (the shape faster-whisper-server offers)."""
    app = FastAPI()

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(
        file: Annotated[UploadFile, File()],
        model: Annotated[str, Form()],
        response_format: Annotated[str, Form()] = "json",
        prompt: Annotated[str | None, Form()] = None,
    ) -> dict[str, str]:
        seen.append({"model": model, "filename": file.filename or "", "format": response_format})
        if prompt is not None:
            seen[-1]["prompt"] = prompt
        if model == "broken":
            raise HTTPException(status_code=500, detail="model crashed")
        data = await file.read()
        audio = decode_audio(data, filename=file.filename, content_type=file.content_type,
                             settings=make_settings())  # fmt: skip
        return {"text": await moonshine.transcribe(audio)}

    return app


@pytest.fixture(scope="module")
def stt_server(moonshine: Transcriber) -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_transcription_app(moonshine, seen), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "transcription server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(timeout=10)


def test_registry_lists_the_built_ins() -> None:
    assert {"whisper", "moonshine", "openai"} <= set(available_transcribers())


def test_unknown_provider_fails_at_start_naming_the_installed_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        create_transcriber(make_settings(stt="whisperx"))
    assert "whisperx" in info.value.message
    assert all(name in info.value.message for name in ("whisper", "moonshine", "openai"))


def test_openai_provider_without_key_or_url_fails_at_start() -> None:
    with pytest.raises(ConfigurationError, match="STT_API_KEY"):
        create_transcriber(make_settings(stt="openai", stt_base_url=None, stt_api_key=None))


def test_whisper_is_the_default_and_hears_the_sentence(whisper: Transcriber, sentence_audio: Audio) -> None:
    assert make_settings().stt == "whisper"
    assert isinstance(whisper, WhisperTranscriber)
    text = asyncio.run(whisper.transcribe(sentence_audio))
    # Unprimed Whisper base: "Drop out randomly switch and off you hit storing training, which
    # reduces overfitting." (the bench's longer answers, not this one sentence, measure its WER)
    assert "randomly switch" in text.lower() and "reduces overfitting" in text.lower(), text


def test_whisper_primed_with_the_question_spells_its_terms(
    whisper: Transcriber, sentence_audio: Audio
) -> None:
    plain = asyncio.run(whisper.transcribe(sentence_audio))
    primed = asyncio.run(
        whisper.transcribe(sentence_audio, prompt="What is dropout? dropout, switch off units, overfitting.")
    )
    assert "dropout" in primed.lower(), primed
    assert word_error_rate(SENTENCE, primed) < word_error_rate(SENTENCE, plain), (plain, primed)


def test_packaged_whisper_is_joined_and_verified_in_the_cache(whisper: Transcriber) -> None:
    assert isinstance(whisper, WhisperTranscriber)
    folder = whisper.model_dir
    assert folder == make_settings().cache_dir / "whisper" / "base"
    assert {p.name for p in folder.iterdir()} >= {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert (folder / "model.bin").stat().st_size == PACKAGED_SIZE
    assert PACKAGED_SHA256 in (folder / "model.bin.verified").read_text()


def test_a_missing_or_broken_whisper_model_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MOCKINTERVIEW_WHISPER_MODEL_DIR"):
        create_transcriber(make_settings(stt="whisper", whisper_model_dir=tmp_path / "nowhere"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    (broken / "model.bin").write_bytes(b"\0" * 1024)  # a truncated download, say
    with pytest.raises(ConfigurationError, match="MOCKINTERVIEW_WHISPER_MODEL_DIR"):
        create_transcriber(make_settings(stt="whisper", whisper_model_dir=broken))


def test_moonshine_stays_as_the_light_option(moonshine: Transcriber, sentence_audio: Audio) -> None:
    assert isinstance(moonshine, MoonshineTranscriber)
    text = asyncio.run(moonshine.transcribe(sentence_audio, prompt="ignored: tiny-en cannot be primed"))
    # Raw tiny-en output, before correction: "Drop out randomly switches off unit storing training,
    # which reduces overfeeding."
    assert "randomly switches off" in text.lower(), text
    assert word_error_rate(SENTENCE, text) <= 0.6, text


def test_openai_provider_round_trip(
    stt_server: tuple[str, list[dict[str, str]]], moonshine: Transcriber, sentence_audio: Audio
) -> None:
    base_url, seen = stt_server
    transcriber = create_transcriber(make_settings(stt="openai", stt_base_url=base_url, stt_model="tiny-en"))
    assert isinstance(transcriber, OpenAITranscriber)
    remote = asyncio.run(transcriber.transcribe(sentence_audio, prompt="What is dropout?"))
    local = asyncio.run(moonshine.transcribe(sentence_audio))
    # The audio crossed the wire as 16-bit WAV; the same model hears the same words.
    assert word_error_rate(local, remote) <= 0.1
    assert seen[-1] == {
        "model": "tiny-en",
        "filename": "answer.wav",
        "format": "json",
        "prompt": "What is dropout?",
    }


def test_openai_server_error_is_provider_unavailable(
    stt_server: tuple[str, list[dict[str, str]]], sentence_audio: Audio
) -> None:
    transcriber = create_transcriber(
        make_settings(stt="openai", stt_base_url=stt_server[0], stt_model="broken")
    )
    with pytest.raises(ProviderUnavailable, match="answered 500"):
        asyncio.run(transcriber.transcribe(sentence_audio))


def test_unreachable_server_is_provider_unavailable(sentence_audio: Audio) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    settings = make_settings(stt="openai", stt_base_url=f"http://127.0.0.1:{port}/v1", stt_timeout_s=5)
    with pytest.raises(ProviderUnavailable, match="unreachable"):
        asyncio.run(create_transcriber(settings).transcribe(sentence_audio))


def test_a_full_transcription_queue_is_provider_unavailable(
    whisper: Transcriber, sentence_audio: Audio
) -> None:
    """One answer decodes on the model's thread; past stt_queue_size waiting answers the next gets a 503."""
    one = create_transcriber(make_settings(stt="whisper", stt_queue_size=1))

    async def two_at_once() -> list[str | BaseException]:
        return await asyncio.gather(
            one.transcribe(sentence_audio), one.transcribe(sentence_audio), return_exceptions=True
        )

    first, second = asyncio.run(two_at_once())
    assert isinstance(first, str) and "overfitting" in first.lower(), first
    assert isinstance(second, ProviderUnavailable) and second.status_code == 503
    assert "busy" in second.message


def test_transcribe_primes_an_answer_to_a_follow_up_with_its_own_words(
    stt_server: tuple[str, list[dict[str, str]]],
    app_factory: AppFactory,
    settings: Settings,
    bank: Bank,
    sentence_wav: Path,
) -> None:
    """The page transcribes first and sends the text: an answer to a follow-up must be decoded with the
    follow-up's words and terms (as a spoken answer sent to the interview is), not the main question's."""
    base_url, seen = stt_server
    client = app_factory(settings.model_copy(update={"stt": "openai", "stt_base_url": base_url}))
    q = next(q for q in bank.questions.values() if q.follow_ups and q.follow_ups[0].key_points)
    f = q.follow_ups[0]
    wav = {"audio": ("a.wav", sentence_wav.read_bytes(), "audio/wav")}

    r = client.post("/v1/transcribe", files=wav, data={"question_id": q.id})
    assert r.status_code == 200, r.text
    assert seen[-1]["prompt"] == question_prompt(q)

    r = client.post(
        "/v1/transcribe", files=wav, data={"question_id": q.id, "follow_up_id": f.id, "follow_up": f.text}
    )
    assert r.status_code == 200, r.text
    assert seen[-1]["prompt"] == question_prompt(q, follow_up_id=f.id, follow_up_text=f.text)
    assert seen[-1]["prompt"] != question_prompt(q)
    assert all(t in seen[-1]["prompt"] for k in f.key_points for t in k.terms)

    # A coach-written follow-up has no bank id: its text primes the decoder.
    asked = "Why does switching units off make the network less fragile?"
    r = client.post("/v1/transcribe", files=wav, data={"question_id": q.id, "follow_up": asked})
    assert r.status_code == 200, r.text
    assert seen[-1]["prompt"].startswith(asked)

    calls = len(seen)
    r = client.post(
        "/v1/transcribe", files=wav, data={"question_id": q.id, "follow_up_id": "no-such-follow-up"}
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "question_not_found"
    r = client.post("/v1/transcribe", files=wav, data={"follow_up": asked})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert len(seen) == calls  # refused before any audio went to the transcriber


def test_whisper_keeps_the_speech_after_a_lone_closing_timestamp(
    whisper: Transcriber, bank: Bank, tmp_path: Path
) -> None:
    """espeak-ng reading this 26-second strong answer makes Whisper base close its first segment at
    14 s with a lone timestamp; faster-whisper alone then skips the rest of the window, and the
    transcript stopped at "goes backwards through" (WER 0.52). The rest is decoded again."""
    q = bank.questions["pytorch-autograd"]
    text = spoken_form(next(s.text for s in q.sample_answers if s.label is SampleLabel.strong))
    wav = synthesise(text, tmp_path / "autograd.wav")
    audio = decode_audio(
        wav.read_bytes(), filename=wav.name, content_type="audio/wav", settings=make_settings()
    )
    heard = asyncio.run(whisper.transcribe(audio, prompt=question_prompt(q)))
    assert "graph" in heard.lower().split("backwards through", 1)[-1], heard  # the second segment
    assert "for inference" in heard.lower(), heard  # the last sentence
    assert word_error_rate(text, heard) < 0.3, heard
