"""POST /v1/transcribe and spoken answers to POST /v1/interviews/{id}/answers, over real HTTP handling."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.bank.models import Bank
from app.config import Settings
from app.speech.audio import decode_audio
from app.speech.evaluation import normalize_words, spoken_form, word_error_rate
from app.speech.whisper import speech_clips
from tests.speech.conftest import encode, synthesise
from tests.support import AppFactory, make_settings

pytestmark = pytest.mark.speech


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio-tmp")


@pytest.fixture(scope="module")
def speech_client(app_factory: AppFactory, settings: Settings, audio_dir: Path) -> TestClient:
    return app_factory(settings.model_copy(update={"audio_tmp_dir": audio_dir}))


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code, body
    return dict(body["error"])


def test_transcribe_corrects_toward_the_question(
    speech_client: TestClient, sentence_wav: Path, audio_dir: Path
) -> None:
    r = speech_client.post(
        "/v1/transcribe",
        files={"audio": ("answer.webm", encode(sentence_wav, "webm"), "audio/webm;codecs=opus")},
        data={"question_id": "dropout-basics"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["question_id"] == "dropout-basics" and body["provider"] == "whisper"
    raw, corrected = body["transcript"]["raw"], body["transcript"]["corrected"]
    # Primed with the question, Whisper spells "dropout" as one word (unprimed: "Drop out").
    assert "dropout randomly switch" in raw.lower(), raw
    assert "overfitting" in corrected.lower()
    speech = body["speech"]
    assert 3.0 < speech["duration_s"] < 8.0
    assert 90 < speech["words_per_minute"] < 260
    assert speech["filler_count"] == 0 and speech["long_pauses"] == []
    assert list(audio_dir.iterdir()) == []


def test_transcribe_without_question_uses_the_glossary_only(
    speech_client: TestClient, sentence_wav: Path
) -> None:
    r = speech_client.post(
        "/v1/transcribe", files={"audio": ("a.wav", sentence_wav.read_bytes(), "audio/wav")}
    )
    assert r.status_code == 200, r.text
    assert r.json()["question_id"] is None and r.json()["transcript"]["raw"]


def test_transcribe_errors(speech_client: TestClient, sentence_wav: Path, audio_dir: Path) -> None:
    wav = sentence_wav.read_bytes()
    _error(
        speech_client.post(
            "/v1/transcribe", files={"audio": ("a.wav", wav, "audio/wav")}, data={"question_id": "nope"}
        ),
        404,
        "question_not_found",
    )
    text_file = {"audio": ("a.txt", b"hello", "text/plain")}
    err = _error(speech_client.post("/v1/transcribe", files=text_file), 415, "audio_rejected")
    assert "unsupported audio type" in err["message"]
    _error(
        speech_client.post("/v1/transcribe", files={"audio": ("a.wav", b"", "audio/wav")}),
        422,
        "audio_rejected",
    )
    _error(speech_client.post("/v1/transcribe", data={"question_id": "dropout-basics"}), 422, "invalid_input")
    assert list(audio_dir.iterdir()) == []


def test_transcribe_too_large_is_413(app_factory: AppFactory, settings: Settings, sentence_wav: Path) -> None:
    client = app_factory(settings.model_copy(update={"max_audio_bytes": 10_000}))
    r = client.post("/v1/transcribe", files={"audio": ("a.wav", sentence_wav.read_bytes(), "audio/wav")})
    err = _error(r, 413, "audio_rejected")
    assert "10000 bytes" in err["message"]


@pytest.fixture(scope="module")
def long_answer(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Just over three minutes of speech: reference answers read one after another, 2 s pauses between."""
    folder = tmp_path_factory.mktemp("long")
    texts: list[str] = []
    parts: list[str] = []
    silence = folder / "silence.wav"
    subprocess.run(
        ["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", str(silence), "trim", "0", "2"], check=True
    )
    seconds = 0.0
    for q in sorted(bank.questions.values(), key=lambda q: q.id):
        if seconds > 182.0:
            break
        texts.append(spoken_form(q.reference_answer))
        part = synthesise(texts[-1], folder / f"{len(texts)}.wav")
        seconds += (
            float(subprocess.run(["soxi", "-D", str(part)], capture_output=True, check=True).stdout) + 2.0
        )
        parts += [str(part), str(silence)]
    if seconds > 230.0:  # the last answer overshot: end on a shorter one
        texts.pop()
        parts = parts[:-2]
    out = folder / "long.wav"
    subprocess.run(["sox", *parts[:-1], str(out)], check=True)
    return " ".join(texts), out


@pytest.fixture(scope="module")
def transcribe_client(
    app_factory: AppFactory, tmp_path_factory: pytest.TempPathFactory, audio_dir: Path
) -> TestClient:
    """/v1/transcribe stores nothing, so its slow tests need not run once per database."""
    db = tmp_path_factory.mktemp("transcribe") / "db.sqlite"
    return app_factory(make_settings(database_url=f"sqlite:///{db}", audio_tmp_dir=audio_dir))


def test_a_three_minute_answer_transcribes(
    transcribe_client: TestClient, long_answer: tuple[str, Path], audio_dir: Path
) -> None:
    said, wav = long_answer
    r = transcribe_client.post(
        "/v1/transcribe", files={"audio": ("long.ogg", encode(wav, "ogg"), "audio/ogg")}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert 180.0 < body["speech"]["duration_s"] < make_settings().max_audio_seconds
    heard = body["transcript"]["raw"]
    # Nothing is lost past Whisper's 30-second window: the whole answer is there, in order.
    assert len(normalize_words(heard)) >= 0.85 * len(normalize_words(said)), heard
    assert word_error_rate(said, heard) <= 0.3, heard
    assert list(audio_dir.iterdir()) == []


def test_long_speech_is_cut_into_clips_at_pauses(long_answer: tuple[str, Path]) -> None:
    """Whisper decodes at most 30 s at once; the speech is cut where the speaker pauses, never
    mid-word, into clips that fit, and the cuts drop no speech."""
    _, wav = long_answer
    audio = decode_audio(
        wav.read_bytes(), filename=wav.name, content_type="audio/wav", settings=make_settings()
    )
    rate = audio.sample_rate
    clips = speech_clips(audio)
    assert len(clips) >= 7  # 3 minutes
    assert all(0 <= a < b <= len(audio.samples) and (b - a) / rate <= 28.0 for a, b in clips)
    assert all(b <= c for (_, b), (c, _) in zip(clips, clips[1:], strict=False)), "clips overlap"
    frame = int(0.02 * rate)
    level = np.sqrt(
        np.mean(audio.samples[: len(audio.samples) // frame * frame].reshape(-1, frame) ** 2, axis=1)
    )
    loud = level > 0.1 * float(np.percentile(level, 90))
    inside = np.zeros(len(level), dtype=bool)
    for a, b in clips:
        inside[a // frame : b // frame + 1] = True
    assert (loud & ~inside).sum() <= 0.01 * loud.sum(), "speech left out of every clip"
    for _, b in clips[:-1]:  # every cut sits in a quiet stretch, not in a word
        assert not loud[max(0, b // frame - 2) : b // frame + 1].any(), b / rate
    # Without VAD: fixed pieces that tile the audio.
    pieces = speech_clips(audio, vad=False)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(audio.samples)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:], strict=False))


def test_past_the_duration_limit_is_422(
    app_factory: AppFactory, long_answer: tuple[str, Path], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    audio_tmp = tmp_path / "audio"
    audio_tmp.mkdir()
    client = app_factory(make_settings(database_url=db, audio_tmp_dir=audio_tmp, max_audio_seconds=150.0))
    r = client.post(
        "/v1/transcribe", files={"audio": ("long.ogg", encode(long_answer[1], "ogg"), "audio/ogg")}
    )
    err = _error(r, 422, "audio_rejected")
    assert "longer than the limit of 150 seconds" in err["message"]
    assert list(audio_tmp.iterdir()) == []


def _start(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/interviews", json={"num_questions": 2, "topics": ["regularization"]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_spoken_answer_is_scored_and_stored(
    speech_client: TestClient, tmp_path: Path, audio_dir: Path
) -> None:
    started = _start(speech_client)
    iid, question = started["id"], started["question"]
    bank_q = speech_client.get(f"/v1/questions/{question['id']}").json()
    wav = synthesise(bank_q["reference_answer"], tmp_path / "answer.wav")
    r = speech_client.post(
        f"/v1/interviews/{iid}/answers",
        files={"audio": ("a.ogg", encode(wav, "ogg"), "audio/ogg")},
        data={"turn": "1"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["transcript"]["raw"] and out["transcript"]["corrected"]
    assert out["speech"]["duration_s"] > 10 and out["speech"]["words_per_minute"] > 60
    assert out["score"]["value"] >= 5.0, out["score"]
    turn = speech_client.get(f"/v1/interviews/{iid}").json()["turns"][0]
    assert turn["answer"] == out["transcript"]["corrected"]
    assert turn["transcript"] == out["transcript"] and turn["speech"] == out["speech"]
    assert turn["transcript"]["provider"] == "whisper" and turn["transcript"]["edited"] is False
    assert list(audio_dir.iterdir()) == []


def test_spoken_answer_streamed(speech_client: TestClient, sentence_wav: Path) -> None:
    iid = _start(speech_client)["id"]
    with speech_client.stream(
        "POST", f"/v1/interviews/{iid}/answers?stream=true",
        files={"audio": ("a.wav", sentence_wav.read_bytes(), "audio/wav")}, data={"turn": "1"},
    ) as r:  # fmt: skip
        assert r.status_code == 200
        events = [line for line in r.iter_lines() if line.startswith("data:")]
    done = json.loads(events[-1].removeprefix("data:").strip())
    assert done["transcript"]["raw"] and done["speech"]["duration_s"] > 3


def test_bad_spoken_answers_leave_the_turn_open(speech_client: TestClient) -> None:
    iid = _start(speech_client)["id"]
    url = f"/v1/interviews/{iid}/answers"
    _error(
        speech_client.post(
            url, files={"audio": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}, data={"turn": "1"}
        ),
        415,
        "audio_rejected",
    )
    err = _error(speech_client.post(url, files={"other": ("a.wav", b"x", "audio/wav")}), 422, "invalid_input")
    assert "audio" in err["message"]
    assert speech_client.get(f"/v1/interviews/{iid}").json()["turns"] == []
    # Typed answers still go through the same endpoint, with the same validation.
    _error(speech_client.post(url, json={"text": "", "turn": 1}), 422, "invalid_input")
    assert (
        speech_client.post(
            url, json={"text": "Dropout zeroes random units while training.", "turn": 1}
        ).status_code
        == 200
    )


def test_a_reviewed_spoken_answer_keeps_its_speech_data(
    speech_client: TestClient, sentence_wav: Path
) -> None:
    """The page's path: transcribe, let the candidate review (and maybe edit), send the text with the
    transcript; the turn records that it was spoken, both transcripts, the metrics and the edit."""
    started = _start(speech_client)
    iid, qid = started["id"], started["question"]["id"]
    heard = speech_client.post(
        "/v1/transcribe",
        files={"audio": ("a.webm", encode(sentence_wav, "webm"), "audio/webm")},
        data={"question_id": qid},
    ).json()
    spoken = {k: heard[k] for k in ("transcript", "speech", "provider")}
    corrected = heard["transcript"]["corrected"]
    edited_text = corrected + " It is turned off at inference time."
    url = f"/v1/interviews/{iid}/answers"
    first_post = speech_client.post(
        url, json={"text": edited_text, "spoken": spoken, "turn": started["question"]["turn"]}
    )
    assert first_post.status_code == 200, first_post.text
    following = first_post.json()["next_question"]["turn"]
    as_heard = {"text": f"  {corrected} ", "spoken": spoken, "turn": following}  # sent as transcribed
    r = speech_client.post(url, json=as_heard)
    assert r.status_code == 200, r.text
    turns = speech_client.get(f"/v1/interviews/{iid}").json()["turns"]
    first, second = turns[0], turns[1]
    assert first["answer"] == edited_text and first["speech"] == heard["speech"]
    assert first["transcript"]["raw"] == heard["transcript"]["raw"]
    assert first["transcript"]["corrected"] == corrected
    assert first["transcript"]["final"] == edited_text and first["transcript"]["edited"] is True
    assert first["transcript"]["provider"] == "whisper"
    assert second["transcript"]["edited"] is False
    report = speech_client.get(f"/v1/interviews/{iid}/report.json").json()
    assert report["speaking"]["answers"] == 2
    assert [t["spoken"] for t in report["turns"]] == [True, True]
    md = speech_client.get(f"/v1/interviews/{iid}/report.md").text
    assert md.count("Heard by the speech model") == 2
    assert md.count("Heard by the speech model (edited before sending)") == 1
    # A typed answer carries no speech data.
    typed_start = _start(speech_client)
    typed = typed_start["id"]
    answer = {"text": "Dropout drops units.", "turn": typed_start["question"]["turn"]}
    assert speech_client.post(f"/v1/interviews/{typed}/answers", json=answer).status_code == 200
    assert speech_client.get(f"/v1/interviews/{typed}").json()["turns"][0]["transcript"] is None


def test_spoken_data_is_validated(speech_client: TestClient) -> None:
    iid = _start(speech_client)["id"]
    url = f"/v1/interviews/{iid}/answers"
    bad = {"text": "x", "spoken": {"transcript": {}}, "turn": 1}
    _error(speech_client.post(url, json=bad), 422, "invalid_input")
    assert speech_client.get(f"/v1/interviews/{iid}").json()["turns"] == []
