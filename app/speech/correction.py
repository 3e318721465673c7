"""Topic-aware correction: pull misheard technical words back to the vocabulary of the question.

Small speech models turn "regularization" into "revolutionary nation" and "overfitting" into
"overfeeding". A 1-3 word window of the transcript is replaced by a 1-3 word phrase of the
question's vocabulary (key-point terms and text, reference answer) or of the bank-wide glossary
only when it sounds alike (metaphone) and is spelled alike (edit ratio), the window holds a word
the vocabulary lacks, and the score clears a threshold; otherwise the words stay as heard. Every
output word comes from either the transcript or the vocabulary, never from anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import jellyfish
from pydantic import BaseModel
from rapidfuzz import fuzz, process
from snowballstemmer import stemmer as _snowball
from wordfreq import zipf_frequency

from app.bank.models import Bank, Question

__all__ = ["Correction", "Corrector", "Glossary", "Vocabulary", "collapse_repeats", "question_vocabulary"]

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_STOP = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this
    that these those there their they them we you your our i he she his her not no so than then too very
    can could would should will may might must do does did done has have had what which who whom when where
    why how all any each few more most other some such only own same just also into over under about
    out up down off again further once here both between through during before after above below
    while""".split()
)
_RARE_ZIPF = 4.0  # words rarer than this in general English are "technical" and enter the glossary
_TECHNICAL_ZIPF = 4.5  # a replacement must bring in at least one word this rare
_COMMON_ZIPF = 3.5  # a window of everyday words needs a clearer match
_QUESTION_THRESHOLD = 0.80
_GLOSSARY_THRESHOLD = 0.88
_COMMON_MARGIN = 0.05
_STEMMER = _snowball("english")


class Correction(BaseModel):
    """One replacement, kept so a reviewer can see what was changed and why."""

    heard: str
    corrected: str
    score: float
    source: str  # "question" or "glossary"


def _key(words: Iterable[str]) -> str:
    return "".join(w.lower() for w in words).replace("-", "").replace("'", "").replace("’", "")


@lru_cache(maxsize=65536)
def _metaphone(letters: str) -> str:
    return jellyfish.metaphone(letters) if letters.isalpha() else letters


@lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    return float(zipf_frequency(word, "en"))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word.lower().replace("’", "'").removesuffix("'s")))


def _content(words: Iterable[str]) -> list[str]:
    """Content words, hyphenated forms split into their parts ("max-variance" -> max, variance)."""
    parts = (p for w in words for p in w.lower().split("-"))
    return [p for p in parts if p and p not in _STOP]


def _spelling_variant(a: str, b: str) -> bool:
    """British and American spellings of one word (generalise / generalize)."""
    return a.replace("s", "z") == b.replace("s", "z")


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]  # surface form, as the bank writes it
    letters: str
    sound: str
    stems: frozenset[str]
    technical: bool


@dataclass
class Vocabulary:
    """Phrases a transcript may be corrected toward, and every word they contain."""

    phrases: dict[str, _Phrase] = field(default_factory=dict)  # letters -> phrase
    words: set[str] = field(default_factory=set)  # lower-case words, for "is this word already known"

    _index: tuple[list[str], list[_Phrase]] | None = None

    def near(self, sound: str, limit: int = 25) -> list[_Phrase]:
        """Phrases whose metaphone key is close to `sound` (the cheap pre-filter before scoring)."""
        if self._index is None:
            phrases = list(self.phrases.values())
            self._index = ([p.sound for p in phrases], phrases)
        sounds, phrases = self._index
        hits = process.extract(sound, sounds, scorer=fuzz.ratio, score_cutoff=55, limit=limit)
        return [phrases[i] for _, _, i in hits]

    def add(self, words: tuple[str, ...]) -> None:
        self._index = None
        letters = _key(words)
        if len(letters) < 4 or not letters.isalnum() or letters in self.phrases:
            return
        content = _content(words)
        self.phrases[letters] = _Phrase(
            words,
            letters,
            _metaphone(letters),
            frozenset(_stem(w) for w in content),
            any(_zipf(w) < _TECHNICAL_ZIPF for w in content),
        )

    def add_text(self, text: str, *, rare_only: bool) -> None:
        """All 1-3 word phrases of a text that carry a content word (rare_only: a technical word)."""
        tokens = _WORD.findall(text)
        self.words.update(t.lower() for t in tokens)
        self.words.update(p for t in tokens for p in t.lower().split("-"))
        for n in (1, 2, 3):
            for i in range(len(tokens) - n + 1):
                window = tuple(tokens[i : i + n])
                lowered = [w.lower() for w in window]
                if lowered[0] in _STOP and n > 1 and lowered[-1] in _STOP:
                    continue
                content = [w for w in lowered if w not in _STOP]
                if not content:
                    continue
                if rare_only and not any(_zipf(w) < _RARE_ZIPF for w in content):
                    continue
                self.add(window)


def question_vocabulary(question: Question) -> Vocabulary:
    """The words this question's answer is likely to use."""
    vocab = Vocabulary()
    for kp in question.key_points:
        for term in kp.terms:
            vocab.add_text(term, rare_only=False)
        vocab.add_text(kp.text, rare_only=False)
    vocab.add_text(question.reference_answer, rare_only=False)
    vocab.add_text(question.text, rare_only=False)
    return vocab


class Glossary:
    """Bank-wide technical vocabulary: every key-point term and the rare words of every answer."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._questions: dict[str, Vocabulary] = {}

    def corrector(self, question: Question | None) -> Corrector:
        """A corrector for one question (its vocabulary built once and kept) plus this glossary."""
        if question is None:
            return Corrector(glossary=self)
        vocab = self._questions.get(question.id)
        if vocab is None:
            vocab = self._questions[question.id] = question_vocabulary(question)
        return Corrector(question=vocab, glossary=self)

    @classmethod
    def from_bank(cls, bank: Bank) -> Glossary:
        vocab = Vocabulary()
        for q in bank.questions.values():
            for kp in [*q.key_points, *(k for f in q.follow_ups for k in f.key_points)]:
                for term in kp.terms:
                    vocab.add_text(term, rare_only=True)
            vocab.add_text(q.reference_answer, rare_only=True)
        return cls(vocab)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int  # exclusive
    phrase: _Phrase
    score: float
    source: str


def _similarity(heard_letters: str, heard_sound: str, target: _Phrase) -> float:
    if not heard_sound or not target.sound:
        return 0.0
    length = min(len(heard_letters), len(target.letters)) / max(len(heard_letters), len(target.letters))
    if length < 0.6:
        return 0.0
    sound = fuzz.ratio(heard_sound, target.sound) / 100.0
    spelling = fuzz.ratio(heard_letters, target.letters) / 100.0
    return 0.55 * sound + 0.45 * spelling


def _bare(word: str) -> str:
    return word.lower().strip(".,;:!?")


def collapse_repeats(words: list[str], *, min_repeats: int = 3) -> list[str]:
    """Drop a 1-4 word run the model repeated three or more times in a row (a decoding loop)."""
    out = list(words)
    for n in (4, 3, 2, 1):
        i = 0
        while i + n * min_repeats <= len(out):
            unit = [_bare(w) for w in out[i : i + n]]
            reps = 1
            while [_bare(w) for w in out[i + reps * n : i + (reps + 1) * n]] == unit:
                reps += 1
            if reps >= min_repeats:
                del out[i + n : i + reps * n]
            i += 1
    return out


class Corrector:
    """Corrects transcripts toward one question's vocabulary (if any) and the bank glossary."""

    def __init__(self, *, question: Vocabulary | None = None, glossary: Glossary | None = None) -> None:
        self.question = question
        self.glossary = glossary
        known: set[str] = set()
        if question is not None:
            known |= question.words
        if glossary is not None:
            known |= glossary.vocabulary.words
        self._known = known

    @classmethod
    def for_question(cls, question: Question | None) -> Corrector:
        """Question vocabulary only, for callers without a glossary."""
        return cls(question=question_vocabulary(question) if question is not None else None)

    def correct(self, text: str) -> tuple[str, list[Correction]]:
        """The corrected text and the replacements made; the input is returned unchanged when unsure."""
        tokens = collapse_repeats(text.split())
        cores = [_WORD.search(t) for t in tokens]
        words = [m.group(0) if m else "" for m in cores]
        chosen: list[_Candidate] = []
        taken: set[int] = set()
        for found in sorted(self._candidates(words), key=lambda c: (-c.score, -(c.end - c.start))):
            span = set(range(found.start, found.end))
            if not span & taken:
                chosen.append(found)
                taken |= span
        out: list[str] = []
        corrections: list[Correction] = []
        by_start = {c.start: c for c in chosen}
        i = 0
        while i < len(tokens):
            cand = by_start.get(i)
            if cand is None:
                out.append(tokens[i])
                i += 1
                continue
            m_first, m_last = cores[cand.start], cores[cand.end - 1]
            prefix = tokens[cand.start][: m_first.start()] if m_first else ""
            suffix = tokens[cand.end - 1][m_last.end() :] if m_last else ""
            replacement = " ".join(cand.phrase.words)
            if words[cand.start][:1].isupper() and replacement[:1].islower():
                replacement = replacement[0].upper() + replacement[1:]
            out.append(prefix + replacement + suffix)
            corrections.append(
                Correction(
                    heard=" ".join(words[cand.start : cand.end]),
                    corrected=" ".join(cand.phrase.words),
                    score=round(cand.score, 3),
                    source=cand.source,
                )
            )
            i = cand.end
        return " ".join(out), corrections

    def _candidates(self, words: list[str]) -> list[_Candidate]:
        sources: list[tuple[str, Vocabulary, float]] = []
        if self.question is not None:
            sources.append(("question", self.question, _QUESTION_THRESHOLD))
        if self.glossary is not None:
            sources.append(("glossary", self.glossary.vocabulary, _GLOSSARY_THRESHOLD))
        found: list[_Candidate] = []
        for start in range(len(words)):
            for n in (1, 2, 3):
                end = start + n
                window = words[start:end]
                if end > len(words) or not all(window) or any(ch.isdigit() for w in window for ch in w):
                    continue
                content = _content(window)
                # Only a window whose every content word is unknown to the bank is suspect: a word the
                # vocabulary uses was probably heard right.
                if not content or any(w in self._known for w in content):
                    continue
                letters = _key(window)
                if any(letters in vocab.phrases for _, vocab, _ in sources):
                    continue  # the window already is a vocabulary phrase: keep it as heard
                stems = {_stem(w) for w in content}
                margin = _COMMON_MARGIN if all(_zipf(w) >= _COMMON_ZIPF for w in content) else 0.0
                sound = _metaphone(letters)
                best: _Candidate | None = None
                for source, vocab, threshold in sources:
                    for phrase in vocab.near(sound):
                        if (
                            not phrase.technical
                            or phrase.stems & stems
                            or _spelling_variant(letters, phrase.letters)
                        ):
                            continue  # nothing technical brought in, or only a change of word form
                        score = _similarity(letters, sound, phrase)
                        if score >= threshold + margin and (best is None or score > best.score):
                            best = _Candidate(start, end, phrase, score, source)
                    if best is not None:
                        break  # the question's own vocabulary wins over the glossary
                if best is not None:
                    found.append(best)
        return found
