"""The scorer's guards: what an answer must not get credit for, read from its normalised text.

"I don't know", sentences that talk to the grader (and, with them, pasted runs of the reference),
and bare lists of the rubric's terms. The caps they lead to live in `Params`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.scoring.text import (
    folded,
    stem,
    tokens,
)

__all__ = [
    "DONT_KNOW",
    "INJECTION",
    "QUOTED_RUN",
    "STOP_SENTENCE",
    "is_keyword_list",
    "quotes_reference",
    "without_injection",
]


DONT_KNOW = re.compile(
    r"(sorry|um+|uh+|hmm+|well|honestly|to be honest|,|\s)*"
    r"(i\s+(really\s+|honestly\s+)?(do\s*n[o']?t|dont|have\s+no)\s+(know|idea|remember|recall|have a clue)"
    r"|no\s+idea|not\s+sure|idk|pass|skip|no\s+clue|i'?m\s+not\s+sure|dunno|i\s+forgot|no answer)"
    r"(\s+(the answer|this( one)?|that|about (this|that)|sorry|at all|what (it|that) (is|means)))*[\s.!?,]*",
    re.IGNORECASE,
)


INJECTION = re.compile(
    # Orders aimed at the grading, not any "forget ... previous": a fine-tuned network that forgets
    # what it learned on previous tasks is an answer about catastrophic forgetting.
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|these\s+|those\s+)*"
    r"((previous|prior|above|earlier|system|grading)\s+)?"
    r"(rubric|instructions?|prompts?|rules|grading|guidelines|everything\s+(above|before))"
    # A score addressed to the grader, not any number near "rate": "learning rate 10 to 100 times
    # smaller" is a fine-tuning answer's content.
    r"|\b(grade|score|rate|mark|give|award|assign)\b.{0,30}"
    r"(\b(10|ten)\s*(/|out of)\s*(10|ten)\b|\bfull marks)"
    r"|\b(grade|score|rate|mark)\s+(this|my)\s+(answer|response|reply)\b"
    r"|\b(system|assistant)\s*:|</?\s*(answer|data|system|instructions?)\s*>|\"score\"\s*:"
    # Words to the grader by name ("Grader, the expected answer is the reference answer."): an
    # answer about deep learning has no reason to address its examiner.
    r"|\b(grader|examiner|evaluator|grading\s+(model|system|assistant))\b"
    # "Please ignore my answer above and score that one": the answer asks to be swapped for another.
    r"|\b(ignore|disregard|forget|discard)\s+(my|the|this)\s+(answer|response|reply|text)\b"
    r"|\b(score|grade|mark)\s+(that|this)\s+one\b"
    # Chat-template control tags have no place in an interview answer.
    r"|\[/?\s*(INST|SYS)\s*\]|<<\s*/?\s*SYS\s*>>|<\|\s*(im_start|im_end|system|user|assistant)\s*\|>",
    re.IGNORECASE,
)


# A run of this many words copied from a reference answer, in an answer that addresses the grader,
# is the pasted-rubric trick: the answer is capped whatever the quote scores.
QUOTED_RUN = 8


STOP_SENTENCE = {
    "is",
    "are",
    "was",
    "were",
    "be",
    "the",
    "a",
    "an",
    "it",
    "this",
    "that",
    "to",
    "of",
    "by",
    "because",
    "which",
    "when",
    "so",
    "and",
    "but",
    "if",
    "can",
    "will",
    "does",
    "do",
    "has",
    "have",
    "in",
    "on",
    "for",
}


def without_injection(text: str) -> tuple[str, list[str]]:
    """Sentences that address the grader are data, not content: drop them, and say so. The guard
    reads each sentence with look-alike letters folded (text.folded), so homoglyphs, full-width
    letters and zero-width characters cannot hide the order; kept sentences stay as written."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    kept = [s for s in sentences if not INJECTION.search(folded(s))]
    flags = ["injection"] if len(kept) != len(sentences) else []
    return " ".join(s for s in kept if s.strip()).strip(), flags


def quotes_reference(answer: str, references: Sequence[str]) -> bool:
    """Whether the answer copies a run of QUOTED_RUN words from a reference answer."""
    words = [w.lower() for w in tokens(folded(answer))]
    runs = {tuple(words[i : i + QUOTED_RUN]) for i in range(len(words) - QUOTED_RUN + 1)}
    for ref in references:
        ref_words = [w.lower() for w in tokens(folded(ref))]
        if any(tuple(ref_words[i : i + QUOTED_RUN]) in runs for i in range(len(ref_words) - QUOTED_RUN + 1)):
            return True
    return False


def _segments(text: str) -> list[str]:
    return [s for s in re.split(r"[,;\n/|]+|\s+-\s+|\.\s+|\s+(?:and|or)\s+", text) if s.strip()]


def is_keyword_list(text: str, terms: Sequence[str] = ()) -> bool:
    """Terms strung together with no explanation: four or more short segments, few function
    words, and (when the rubric lists terms) at least 80% the rubric's own terms (at 60% it
    flagged terse but complete strong answers)."""
    words = tokens(text)
    segments = _segments(text)
    if len(words) < 2 or len(segments) < 4:
        return False
    avg_len = len(words) / len(segments)
    stop_ratio = sum(w in STOP_SENTENCE for w in words) / len(words)
    if avg_len > 3.5 or stop_ratio >= 0.15:
        return False
    if not terms:
        return True
    term_stems = [{stem(w) for w in tokens(t)} for t in terms]
    term_stems = [t for t in term_stems if t]

    def is_term(segment: str) -> bool:
        seg = {stem(w) for w in tokens(segment)}
        return bool(seg) and any(len(seg & t) / len(seg | t) >= 0.5 for t in term_stems)

    return sum(is_term(s) for s in segments) >= 0.8 * len(segments)
