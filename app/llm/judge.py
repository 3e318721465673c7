"""Blend an LLM's per-key-point grades into the embedding score, under the embedding scorer's caps."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.llm.prompts import neutralise
from app.scoring.schemas import ScoreResult
from app.scoring.scorer import Params, Scorer

__all__ = [
    "CAP_FLAGS",
    "SKIP_FLAGS",
    "JudgeGrade",
    "JudgeOutput",
    "addresses_grader",
    "blend",
    "judge_degraded",
]

# The LLM may lower these answers' scores but never raise them above the embedding value.
CAP_FLAGS = frozenset({"off_topic", "echo", "keyword_list", "empty", "dont_know", "injection"})
# Nothing for an LLM to grade: the judge is not called.
SKIP_FLAGS = frozenset({"empty", "dont_know"})
# The embedding scorer's caps: an LLM may lift a capped answer (a stated misconception, an answer to
# another question) up to its cap, never past it.
_PARAMS = Params()
# Text that talks to the grader rather than about the subject: fake verdicts, role markers, overrides.
_ADDRESSES_GRADER = re.compile(
    r"\"\s*(grade|score|verdict|key_points|llm_value|value|feedback|follow_up_id)\s*\"\s*:"
    r"|\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|previous|above|prompt|rules|grading|rubric)"
    r"|\b(grade|score|rate|mark)\b.{0,30}\b(10|ten|full marks|100)\b",
    re.IGNORECASE | re.DOTALL,
)
_CREDIT = {"covered": 1.0, "partial": 0.5, "missing": 0.0}
_MIN_QUOTE_CHARS = 4


class JudgeGrade(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grade: Literal["covered", "partial", "missing"]
    quote: str = ""


class JudgeOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Keyed by key point id, so a schema-following server must grade every point exactly once.
    key_points: dict[str, JudgeGrade]


def addresses_grader(answer: str) -> bool:
    """The judge's own injection check, in addition to the scorer's `injection` flag."""
    return bool(_ADDRESSES_GRADER.search(answer)) or neutralise(answer) != answer


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _credit(grade: JudgeGrade, answer_norm: str) -> float:
    """Credit only for a grade backed by a real quote from the answer: a fabricated quote earns nothing."""
    if grade.grade == "missing":
        return 0.0
    quote = _norm(grade.quote)
    if len(quote) < _MIN_QUOTE_CHARS or quote not in answer_norm:
        return 0.0
    return _CREDIT[grade.grade]


def blend(score: ScoreResult, answer: str, output: JudgeOutput, weight: float) -> ScoreResult:
    """A new score: (1 - weight) * embedding + weight * LLM, capped by the embedding scorer's gates."""
    ids = [k.id for k in score.key_points]
    grades = {i: g for i, g in output.key_points.items() if i in ids}
    if not grades:
        raise ValueError("the judge graded none of the rubric's key points")
    answer_norm = _norm(answer)
    credits = {i: _credit(grades[i], answer_norm) if i in grades else 0.0 for i in ids}
    total = sum(k.weight for k in score.key_points) or 1.0
    llm_value = 10.0 * sum(k.weight * credits[k.id] for k in score.key_points) / total
    weight = min(1.0, max(0.0, weight))
    value = (1.0 - weight) * score.value + weight * llm_value
    if CAP_FLAGS & set(score.flags) or addresses_grader(answer):
        value = min(value, score.value)
    value = min(value, max(score.value, _PARAMS.cap_for(score.flags)))
    value = round(min(10.0, max(0.0, value)), 2)
    components = {
        **score.components,
        "embedding_value": score.value,
        "llm_value": round(llm_value, 2),
        "judge_weight": weight,
        **{f"llm_point:{i}": c for i, c in credits.items()},
    }
    return score.model_copy(
        update={"value": value, "band": Scorer.band_for(value, score.flags), "components": components}
    )


def judge_degraded(score: ScoreResult, reason: str) -> ScoreResult:
    """The embedding score unchanged in value, marked so the transcript shows the judge did not run."""
    return score.model_copy(
        update={
            "flags": [*score.flags, "judge_degraded"],
            "components": {**score.components, "embedding_value": score.value, "judge_degraded": 1.0},
            "degraded": True,
            "degraded_reason": reason,
        }
    )
