"""The offline default: feedback and follow-up built from the score object alone, deterministically."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from app.bank.models import FollowUp
from app.llm.base import Coaching, LLMProvider, TurnContext
from app.scoring.schemas import Band, KeyPointScore, ScoreResult

__all__ = ["RUBRIC_VERSION", "RubricProvider", "choose_follow_up", "follow_up_candidates", "rubric_feedback"]

RUBRIC_VERSION = "rubric-2"

# Answers that give the interviewer nothing to dig into: move on instead of following up.
_NO_FOLLOW_UP_FLAGS = frozenset({"off_topic", "empty", "dont_know"})
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
# Praise quotes the candidate; the key point itself is never pasted mid-sentence (bank key points
# are whole sentences with their own capitals: "ResNet uses…" must not become "…that resNet uses…").
_COVERED = (
    'Good: "{quote}"',
    'You got this part right: "{quote}"',
    '"{quote}": that is exactly the point.',
)
_MAX_STEPS = 2  # next steps after the verdict; the score card lists every key point
_STEP_LEADS = ("Next steps:", "To improve it:", "What would make it complete:")
_MISSED_STEP = "Add this: {point}"
# A point whose closest span is related but below the covered threshold may be there in other
# words: it is "not clearly stated", never "missed" or "left out".
_UNCLEAR_STEP = "Not clearly stated: {point}"
_MISCONCEPTION = (
    'Careful with "{quote}". {correction}',
    'One thing to correct: you said "{quote}". {correction}',
    '"{quote}" is a common misconception. {correction}',
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


def _sentence(text: str) -> str:
    """A key point as a sentence of its own: its own capitals kept, a full stop at the end."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _quote(text: str) -> str:
    """The candidate's words, whole: cut (with "…") only between words and outside brackets."""
    text = " ".join(text.split()).replace('"', "'").rstrip(".")  # the sentence around it ends it
    if len(text) <= _MAX_QUOTE:
        return text
    depth, cut = 0, 0
    for i, ch in enumerate(text[:_MAX_QUOTE]):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == " " and depth == 0:
            cut = i
    if cut == 0:  # one long bracket or word: end before it opens, or keep it whole
        opened = text.find("(")
        cut = opened if 0 < opened < _MAX_QUOTE else len(text)
    return text[:cut].rstrip(" ,;:") + ("…" if cut < len(text) else "")


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
    """A short interviewer's note: one verdict (what was wrong comes first), one thing done well in
    the candidate's own words, then at most two next steps. The full key-point list is the score
    card's, not repeated here."""
    score, seed = ctx.score, _seed(ctx)
    flags = set(score.flags)
    reference = (
        ctx.question.follow_up(ctx.follow_up_id).reference_answer
        if ctx.follow_up_id and any(f.id == ctx.follow_up_id for f in ctx.question.follow_ups)
        else ctx.question.reference_answer
    )
    parts: list[str] = []

    non_answer = next((f for f in ("empty", "dont_know", "off_topic") if f in flags), None)
    if non_answer is not None:
        parts.append(_pick(seed, "open", _OPENERS[non_answer]))
        core = sorted(score.key_points, key=lambda k: -k.weight)[:_MAX_STEPS]
        if core:
            parts.append(
                "\n".join(["A good answer makes these points:", *(f"- {_sentence(k.text)}" for k in core)])
            )
        if "injection" in flags:
            parts.append(_FLAG_NOTES["injection"])
        return "\n\n".join(parts)

    contradicted = "contradicts_reference" in flags and score.contradictions and score.key_points
    parts.append(_pick(seed, "open", _OPENERS["contradicts_reference" if contradicted else score.band]))
    if contradicted:
        for c in score.contradictions[:2]:
            parts.append(f'You said "{_quote(c.sentence)}". In fact: {_in_fact(score, c.sentence)}')

    # Praise a covered point, but never words the feedback also corrects.
    faulted = [m.evidence for m in score.misconceptions] + (
        [c.sentence for c in score.contradictions] if contradicted else []
    )
    praised = next(
        (
            k
            for k in sorted(score.key_points, key=lambda k: -k.weight)
            if k.covered and k.evidence and not any(k.evidence in f or f in k.evidence for f in faulted)
        ),
        None,
    )
    if praised is not None:
        parts.append(_pick(seed, "covered", _COVERED).format(quote=_quote(praised.evidence or "")))

    for i, m in enumerate(score.misconceptions[:1]):
        template = _pick(seed, f"misc{i}", _MISCONCEPTION)
        parts.append(template.format(quote=_quote(m.evidence), correction=m.correction.strip()))

    missed = _missed(score)
    steps: list[str] = []
    for k in missed[:_MAX_STEPS]:
        if k.status == "unclear":
            steps.append(_UNCLEAR_STEP.format(point=_sentence(k.text)))
            continue
        step = _MISSED_STEP.format(point=_sentence(k.text))
        if not steps:
            extra = _explain(k, reference)
            if extra:
                step += f' The model answer puts it: "{_quote(extra)}"'
        steps.append(step)
    if steps:
        parts.append("\n".join([_pick(seed, "steps", _STEP_LEADS), *(f"- {s}" for s in steps)]))

    note = next(
        (_FLAG_NOTES[f] for f in ("injection", "keyword_list", "echo", "too_short") if f in flags), None
    )
    if note is not None:
        parts.append(note)
    if not missed and follow_up is None and score.key_points:
        parts.append("Every key point is there; nothing important is missing.")
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
