"""Word error rate with one text normalisation, shared by the quality test and the benchmark."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

__all__ = ["normalize_words", "spoken_form", "word_error_rate"]

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+(?:\.\d+)?")


_SPOKEN = [
    (re.compile(r"(?<=\d)x(?=\d)"), " by "),  # 16x16
    (re.compile(r"(?<=[A-Za-z])\.(?=[A-Za-z])"), " dot "),  # tf.keras
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*/\s*"), " over "),
    (re.compile(r"\s*%"), " percent"),
    (re.compile(r"\s*[≈~]\s*"), " about "),
    (re.compile(r"\s*(?:->|→)\s*"), " to "),
    (re.compile(r"[`*_#<>\[\]{}()|^]"), " "),
]


def spoken_form(text: str) -> str:
    """The words a person reading the text aloud would say: symbols become words, markup goes."""
    for pattern, words in _SPOKEN:
        text = pattern.sub(words, text)
    return re.sub(r"\s+", " ", text).strip()


def normalize_words(text: str) -> list[str]:
    """Lower case, no punctuation, glued forms split ('16x16' -> 16 x 16), small numbers as digits."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 50,000 -> 50000
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    return [_NUMBER_WORDS.get(t, t) for t in _TOKEN.findall(text)]


def word_error_rate(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """(substitutions + deletions + insertions) / reference words, on normalised words."""
    ref = normalize_words(reference) if isinstance(reference, str) else list(reference)
    hyp = normalize_words(hypothesis) if isinstance(hypothesis, str) else list(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)
