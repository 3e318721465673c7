"""The offline default: feedback and follow-up built from the score object alone, deterministically."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from app.bank.models import FollowUp, Question
from app.llm.base import Coaching, LLMProvider, TurnContext
from app.scoring.schemas import Band, KeyPointScore, MisconceptionHit, ScoreResult

__all__ = ["RUBRIC_VERSION", "RubricProvider", "choose_follow_up", "follow_up_candidates", "rubric_feedback"]

RUBRIC_VERSION = "rubric-1"

# Answers that give the interviewer nothing to dig into: move on instead of following up.
_NO_FOLLOW_UP_FLAGS = frozenset({"off_topic", "empty", "dont_know"})
_MAX_MISSED = 3
_MAX_QUOTE = 140

_OPENERS: dict[str, tuple[str, ...]] = {
    Band.strong: (
        "Strong answer.",
        "That's a solid answer.",
        "Good, that's the answer I was hoping for.",
        "Nicely done.",
    ),
    Band.acceptable: (
        "You're on the right track, with some gaps.",
        "A reasonable answer; the core is there, but not all of it.",
        "Decent, though a few important pieces are missing.",
        "Partly there.",
    ),
    Band.weak: (
        "This one needs more work.",
        "Not quite there yet.",
        "There's a start here, but most of the key ideas are missing.",
        "That answer is thin so far.",
    ),
    "empty": ("I didn't get an answer to that one.", "No answer came through for that one."),
    "dont_know": (
        "Fair enough to say so; it beats guessing.",
        "Honest answer. Let's make sure you know it next time.",
    ),
    "off_topic": (
        "That doesn't really address the question.",
        "I think that answer drifted away from what was asked.",
    ),
    "contradicts_reference": (
        "Part of that is not right.",
        "That answer gets something wrong.",
        "Careful: there is a mistake in that answer.",
    ),
}
_COVERED = (
    'You made the point that {point}: "{quote}".',
    '"{quote}": good, that covers the idea that {point}.',
    'I liked "{quote}"; it shows you know that {point}.',
)
_MISSED_LEAD = ("What was missing:", "You left out:", "To make it complete, also mention:")
# Points whose closest span is related but not clearly the point: maybe said in other words.
_UNCLEAR_LEAD = ("Not clearly stated:", "Say these more explicitly:")
_MISCONCEPTION = (
    'Careful with "{quote}". {correction}',
    'One thing to correct: you said "{quote}". {correction}',
    '"{quote}" is a common misconception. {correction}',
)
_STUDY = (
    "One thing to study: {what}.",
    "Worth reviewing next: {what}.",
    "Before the next round, study {what}.",
)
_FLAG_NOTES = {
    "injection": "Instructions addressed to the grader are ignored; they never count towards the score.",
    "keyword_list": "Listing terms isn't enough: explain how they connect.",
    "echo": "Restating the question earns no credit; explain the mechanism instead.",
    "too_short": "Say more: a sentence or two for each key idea.",
}


def _pick(seed: str, slot: str, options: Sequence[str]) -> str:
    """Same turn, same wording; different turns and interviews read differently."""
    digest = hashlib.sha256(f"{seed}|{slot}".encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _seed(ctx: TurnContext) -> str:
    return f"{ctx.interview_id or '-'}|{ctx.turn}|{ctx.question.id}|{ctx.follow_up_id or '-'}"


def _clause(text: str) -> str:
    """A key-point sentence made to fit mid-sentence: lower-case first word (not acronyms), no final dot."""
    text = text.strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def _quote(text: str) -> str:
    text = " ".join(text.split()).replace('"', "'")
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1].rstrip() + "…"


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def _explain(point: KeyPointScore, reference: str) -> str | None:
    """The reference-answer sentence that best explains a missed point, if it adds to the point's text."""
    target = _words(point.text)
    best, best_overlap = None, 1
    for sentence in _sentences(reference):
        overlap = len(target & _words(sentence))
        if overlap > best_overlap:
            best, best_overlap = sentence, overlap
    if best is None or _words(best) <= target:
        return None
    return best


def _study_topic(point: KeyPointScore, question: Question) -> str:
    terms = next((list(k.terms) for k in question.key_points if k.id == point.id), [])
    clause = _clause(point.text)
    if len(terms) >= 2:
        return f"{terms[0]} and {terms[1]}, until you can explain that {clause}"
    return f"why {clause}"


def _missed(score: ScoreResult) -> list[KeyPointScore]:
    """Uncovered points, heaviest first (stable for ties)."""
    return sorted((k for k in score.key_points if not k.covered), key=lambda k: -k.weight)


def _in_fact(score: ScoreResult, sentence: str) -> str:
    """The rubric's right statement for a rejected sentence: the key point it came closest to."""
    near = [k for k in score.key_points if k.evidence and (k.evidence in sentence or sentence in k.evidence)]
    pick = max(near, key=lambda k: k.similarity) if near else max(score.key_points, key=lambda k: k.weight)
    text = pick.text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def follow_up_candidates(ctx: TurnContext) -> list[FollowUp]:
    """Bank follow-ups still allowed for this turn: none after a non-answer or a follow-up turn."""
    if not ctx.allow_follow_up or _NO_FOLLOW_UP_FLAGS & set(ctx.score.flags):
        return []
    asked = set(ctx.asked_follow_ups)
    return [f for f in ctx.question.follow_ups if f.id not in asked]


def choose_follow_up(ctx: TurnContext) -> FollowUp | None:
    """Probe the heaviest missed point; with nothing missed, dig deeper; never ask one twice."""
    candidates = follow_up_candidates(ctx)
    if not candidates:
        return None
    missed = _missed(ctx.score)
    for point in missed:
        for f in candidates:
            if f.targets == point.id:
                return f
    if not missed:
        return next((f for f in candidates if f.targets is None), None)
    return None


def rubric_feedback(ctx: TurnContext, follow_up: FollowUp | None = None) -> str:
    """A short interviewer's note from the score: covered (quoted), missed, misconceptions, what to study."""
    score, seed = ctx.score, _seed(ctx)
    flags = set(score.flags)
    reference = (
        ctx.question.follow_up(ctx.follow_up_id).reference_answer
        if ctx.follow_up_id and any(f.id == ctx.follow_up_id for f in ctx.question.follow_ups)
        else ctx.question.reference_answer
    )
    missed = _missed(score)
    parts: list[str] = []

    non_answer = next((f for f in ("empty", "dont_know", "off_topic") if f in flags), None)
    if non_answer is not None:
        parts.append(_pick(seed, "open", _OPENERS[non_answer]))
        core = sorted(score.key_points, key=lambda k: -k.weight)[:2]
        if core:
            parts.append(
                "A good answer would say that " + "; and that ".join(_clause(k.text) for k in core) + "."
            )
        if "injection" in flags:
            parts.append(_FLAG_NOTES["injection"])
        if core:
            parts.append(_pick(seed, "study", _STUDY).format(what=_study_topic(core[0], ctx.question)))
        return "\n\n".join(parts)

    contradicted = "contradicts_reference" in flags and score.contradictions and score.key_points
    parts.append(_pick(seed, "open", _OPENERS["contradicts_reference" if contradicted else score.band]))
    if contradicted:
        for c in score.contradictions[:2]:
            parts.append(f'You said "{_quote(c.sentence)}". In fact: {_in_fact(score, c.sentence)}')

    covered = sorted((k for k in score.key_points if k.covered and k.evidence), key=lambda k: -k.weight)[:2]
    for i, k in enumerate(covered):
        template = _pick(seed, f"covered{i}", _COVERED)
        parts.append(template.format(point=_clause(k.text), quote=_quote(k.evidence or "")))

    hits: list[MisconceptionHit] = score.misconceptions
    for i, m in enumerate(hits):
        template = _pick(seed, f"misc{i}", _MISCONCEPTION)
        parts.append(template.format(quote=_quote(m.evidence), correction=m.correction.strip()))

    absent = [k for k in missed if k.status != "unclear"]
    unclear = [k for k in missed if k.status == "unclear"]
    if absent:
        lines = [_pick(seed, "missed", _MISSED_LEAD)]
        for i, k in enumerate(absent[:_MAX_MISSED]):
            line = f"- {k.text.strip()}"
            if i == 0:
                extra = _explain(k, reference)
                if extra:
                    line += f' As the model answer puts it: "{_quote(extra)}"'
            lines.append(line)
        if len(absent) > _MAX_MISSED:
            rest = len(absent) - _MAX_MISSED
            lines.append(f"- …and {rest} smaller point{'s' if rest > 1 else ''}.")
        parts.append("\n".join(lines))
    if unclear:
        lines = [_pick(seed, "unclear", _UNCLEAR_LEAD)]
        lines.extend(f"- {k.text.strip()}" for k in unclear[:_MAX_MISSED])
        parts.append("\n".join(lines))

    for flag in ("injection", "keyword_list", "echo", "too_short"):
        if flag in flags:
            parts.append(_FLAG_NOTES[flag])

    if missed:
        parts.append(_pick(seed, "study", _STUDY).format(what=_study_topic(missed[0], ctx.question)))
    elif follow_up is None and score.key_points:
        weakest = min(score.key_points, key=lambda k: k.similarity)
        parts.append(
            f"To go deeper, sharpen the part about {_clause(weakest.text)}: it was your least precise."
        )
    return "\n\n".join(parts)


class RubricProvider(LLMProvider):
    """Offline, deterministic, instant; also the fallback every other provider degrades to."""

    name = "rubric"

    def build(self, ctx: TurnContext) -> Coaching:
        follow_up = choose_follow_up(ctx)
        return Coaching(
            feedback=rubric_feedback(ctx, follow_up),
            follow_up_id=follow_up.id if follow_up else None,
            follow_up=follow_up.text if follow_up else None,
            provider=self.name,
            prompt_version=RUBRIC_VERSION,
            latency_ms=0.0,
        )

    async def coach(self, ctx: TurnContext) -> Coaching:
        return self.build(ctx)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "version": RUBRIC_VERSION}
