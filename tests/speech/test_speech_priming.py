"""Priming Whisper with the question must not put the rubric's words into a candidate's mouth: espeak-ng
reads the bank's wrong sample answers, the service transcribes them primed with the question and its
key-point terms, and the transcript may hold no rubric term that was not said, and still scores as wrong."""

from __future__ import annotations

import asyncio

import pytest

from app.bank.models import Bank, Question, SampleLabel
from app.scoring.schemas import Band, Rubric
from app.scoring.scorer import Scorer
from app.speech.base import Transcriber
from app.speech.correction import Glossary
from app.speech.evaluation import normalize_words, spoken_form
from app.speech.schemas import SpokenAnswer
from app.speech.service import question_prompt, transcribe_upload
from benchmarks.bench_stt import pick_questions
from tests.speech.conftest import synthesise
from tests.support import make_settings

pytestmark = pytest.mark.speech

QUESTIONS = 4


def _has(words: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


def _terms(q: Question) -> list[str]:
    return [t for kp in q.key_points for t in kp.terms]


def invented_terms(q: Question, said: str, heard: str) -> list[str]:
    """Rubric terms in `heard` that `said` does not contain (both in their spoken, normalised form)."""
    said_words, heard_words = normalize_words(spoken_form(said)), normalize_words(spoken_form(heard))
    out = []
    for term in _terms(q):
        words = normalize_words(spoken_form(term))
        if _has(heard_words, words) and not _has(said_words, words):
            out.append(term)
    return out


def test_invented_terms_sees_a_term_that_was_not_said(bank: Bank) -> None:
    q = bank.questions["dropout-basics"]
    assert invented_terms(q, "It removes neurons.", "It removes neurons, an ensemble of sub-networks.") == [
        "ensemble",
        "sub-networks",
    ]


@pytest.fixture(scope="module")
def wrong_answers(
    bank: Bank, whisper: Transcriber, glossary: Glossary, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[Question, str, SpokenAnswer]]:
    folder = tmp_path_factory.mktemp("wrong")
    settings = make_settings(audio_tmp_dir=folder)
    out = []
    for q in pick_questions(bank, QUESTIONS):
        text = next(s.text for s in q.sample_answers if s.label is SampleLabel.wrong)
        wav = synthesise(spoken_form(text), folder / f"{q.id}.wav")
        spoken = asyncio.run(
            transcribe_upload(
                transcriber=whisper,
                upload=wav.read_bytes(),
                filename=wav.name,
                content_type="audio/wav",
                settings=settings,
                bank_question=q,  # the service primes the decoder with this question
                glossary=glossary,
            )
        )
        out.append((q, text, spoken))
        wav.unlink()
    return out


def test_priming_adds_no_rubric_term_to_a_wrong_answer(
    wrong_answers: list[tuple[Question, str, SpokenAnswer]],
) -> None:
    for q, said, spoken in wrong_answers:
        assert len(question_prompt(q)) > len(q.text)  # it was primed with terms
        assert invented_terms(q, said, spoken.raw) == [], (q.id, said, spoken.raw)
        assert invented_terms(q, said, spoken.corrected) == [], (q.id, said, spoken.corrected)


def test_a_spoken_wrong_answer_still_scores_as_wrong(
    wrong_answers: list[tuple[Question, str, SpokenAnswer]], scorer: Scorer
) -> None:
    wrong_bands = {Band.weak, Band.off_topic}
    for q, said, spoken in wrong_answers:
        rubric = Rubric.from_question(q)
        typed, heard = scorer.score_many([(rubric, said), (rubric, spoken.corrected)])
        assert typed.band in wrong_bands, (q.id, typed.value)
        assert heard.band in wrong_bands, (q.id, said, spoken.corrected, heard.value)


def test_the_prompt_is_the_question_and_its_terms_or_a_follow_ups_own(bank: Bank) -> None:
    q = next(q for q in sorted(bank.questions.values(), key=lambda q: q.id) if q.follow_ups)
    prompt = question_prompt(q)
    assert prompt.startswith(" ".join(q.text.split()))
    assert all(t in prompt for t in _terms(q))
    f = q.follow_ups[0]
    own = question_prompt(q, follow_up_id=f.id, follow_up_text=f.text)
    assert own.startswith(" ".join(f.text.split())) and q.text not in own
    assert all(t in own for kp in f.key_points for t in kp.terms)
    # A follow-up the coach wrote has no terms of its own: its text, then the question's terms.
    free = question_prompt(q, follow_up_text="Why does that help?")
    assert free.startswith("Why does that help?") and all(t in free for t in _terms(q))
