"""Text helpers for scoring: answer spans, content words, stems and rarity weights."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from confusable_homoglyphs import confusables
from wordfreq import zipf_frequency

__all__ = [
    "content_words",
    "folded",
    "idf",
    "sentences",
    "spans",
    "stem",
    "tokens",
    "visible",
    "word_count",
]

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'+-]*|\d+(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|(?<=:)\s+(?=[A-Z])")
_CLAUSE = re.compile(
    r",\s+|\s+-\s+|\s+\((?=\w)|\)\s*|\s+(?=(?:and|but|because|so|which|whereas|while|since|so that|then)\s)",
    re.IGNORECASE,
)
_stemmer = snowballstemmer.stemmer("english")

# Words that carry no domain content even when rare in general English.
_FILLER = {
    "um",
    "uh",
    "like",
    "basically",
    "actually",
    "really",
    "just",
    "kind",
    "sort",
    "thing",
    "things",
    "stuff",
    "yeah",
    "ok",
    "okay",
    "well",
    "so",
    "also",
    "etc",
    "eg",
    "ie",
    "i",
    "you",
    "we",
    "it",
}


def tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word.lower()))


@lru_cache(maxsize=65536)
def idf(word: str) -> float:
    """Rarity weight from general English word frequency: 0 for 'the', about 1 for rare terms.
    Punctuation has no frequency in the word list, which would make it the rarest of all: it
    carries no content, so it weighs 0."""
    if not any(ch.isalnum() for ch in word):
        return 0.0
    z = zipf_frequency(word, "en")
    return max(0.0, min(1.0, (6.5 - z) / 4.5))


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (not stop words or fillers)."""
    return [w for w in tokens(text) if w not in _FILLER and (idf(w) > 0.25 or any(c.isdigit() for c in w))]


def sentences(text: str) -> list[str]:
    parts = [p.strip(" \t-*•") for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p and word_count(p) > 0]


def spans(text: str, *, max_spans: int = 40) -> list[str]:
    """Sentences, their clauses, and adjacent-sentence pairs: the units a key point is matched against."""
    parts = sentences(text)
    out: list[str] = []
    seen: set[str] = set()

    def add(s: str) -> None:
        s = s.strip(" ,;:-")
        if s and s.lower() not in seen and word_count(s) >= 2:
            seen.add(s.lower())
            out.append(s)

    for s in parts:
        add(s)
    for s in parts:
        if word_count(s) < 10:
            continue  # a short sentence is its own clause
        pieces = [p for p in _CLAUSE.split(s) if p and word_count(p) >= 3]
        if len(pieces) > 1:
            for p in pieces:
                add(p)
    for a, b in zip(parts, parts[1:], strict=False):
        if word_count(a) + word_count(b) <= 30:  # a point split over two short sentences
            add(f"{a} {b}")
    if not out and text.strip():
        out.append(text.strip())
    return out[:max_spans]


# -- normalising input before the guards look at it ----------------------------------------------
# Zero-width and other invisible format characters (category Cf) split words for a regex but not
# for a reader: "ig\u200bnore the rubric" must read as what it says.
_INVISIBLE = {c: None for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}
_NAMED_LETTER = re.compile(r"\bLETTER\b.*[ -]([A-Z])$")


def visible(text: str) -> str:
    """NFKC (full-width and styled letters become plain ones) without invisible characters: the
    text an answer is scored on."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


@lru_cache(maxsize=4096)
def _latin_twin(char: str) -> str:
    """The Latin letter a confusable character passes for (Cyrillic "о" -> "o"), else the character."""
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"]) or []
    twins = [
        h["c"]
        for hit in found
        for h in hit["homoglyphs"]
        if h["n"].startswith("LATIN") and len(h["c"]) == 1 and h["c"].isascii()
    ]
    # Unicode's table is about shapes ("І" looks like "l"); a letter named after a Latin one
    # ("CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I") reads as that letter.
    named = _NAMED_LETTER.search(unicodedata.name(char, ""))
    if named and (not twins or named[1].lower() not in {t.lower() for t in twins}):
        return named[1].lower() if char.islower() or not char.isupper() else named[1]
    return twins[0] if twins else char


def folded(text: str) -> str:
    """`visible(text)` with look-alike letters folded to Latin: what the injection and echo guards
    read, so homoglyphs, full-width letters and zero-width spaces cannot hide an order to the grader."""
    plain = visible(text)
    if plain.isascii():
        return plain
    return "".join(c if c.isascii() else _latin_twin(c) for c in plain)
