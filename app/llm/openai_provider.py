"""Any OpenAI-compatible chat server (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp) through the official SDK.

Every failure degrades to the rubric provider visibly: `degraded=True`, the reason, a warning in the log.
SDK errors are translated here, at the provider boundary, into `ProviderUnavailable`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from pydantic import BaseModel, ConfigDict, Field

from app.bank.models import FollowUp
from app.config import Settings
from app.errors import ConfigurationError, ProviderUnavailable
from app.llm.base import Coaching, LLMProvider, StreamOutcome, TurnContext
from app.llm.judge import SKIP_FLAGS, JudgeOutput, blend, judge_degraded
from app.llm.prompts import PromptLibrary, RenderedPrompt
from app.llm.rubric import RubricProvider, follow_up_candidates
from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["OpenAIProvider"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_ATTEMPTS = 2  # invalid or empty output gets one retry; transport errors are retried by the SDK
_TEMPERATURE = 0.2
# Structured-output modes, strongest first; a server that rejects one is asked with the next.
_FORMATS = ("json_schema", "json_object_schema", "json_object")
_FORMAT_REJECTED = re.compile(r"response_format|json_schema|schema", re.IGNORECASE)


class _FeedbackOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(min_length=1, max_length=4000)


class _FollowUpOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    follow_up_id: str | None


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    """A strict JSON schema object: every property required, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_FEEDBACK_SCHEMA = _object({"feedback": {"type": "string"}})


def _follow_up_schema(ids: list[str]) -> dict[str, Any]:
    return _object({"follow_up_id": {"anyOf": [{"type": "string", "enum": ids}, {"type": "null"}]}})


def _judge_schema(ids: list[str]) -> dict[str, Any]:
    grade = _object(
        {
            "grade": {"type": "string", "enum": ["covered", "partial", "missing"]},
            "quote": {"type": "string"},
        }
    )
    return _object({"key_points": _object(dict.fromkeys(ids, grade))})


@dataclass
class _Usage:
    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, usage: Any) -> None:
        if usage is not None:
            self.tokens_in += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.tokens_out += int(getattr(usage, "completion_tokens", 0) or 0)


def _describe(exc: openai.OpenAIError, timeout_s: float) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return f"timed out after {timeout_s:g}s"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {str(exc.message)[:200]}"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _messages(prompt: RenderedPrompt) -> list[ChatCompletionMessageParam]:
    return [
        ChatCompletionSystemMessageParam(role="system", content=prompt.system),
        ChatCompletionUserMessageParam(role="user", content=prompt.user),
    ]


def _json_text(content: str) -> str:
    """Tolerate a ```json fence around the object, which some servers add in json_object mode."""
    text = content.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    return fenced.group(1) if fenced else text


class OpenAIProvider(LLMProvider):
    """Feedback, follow-up choice and (optionally) key-point grading from a chat-completions server."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        if not key and not settings.llm_base_url:
            raise ConfigurationError(
                "MOCKINTERVIEW_LLM=openai needs MOCKINTERVIEW_LLM_API_KEY (for api.openai.com) "
                "or MOCKINTERVIEW_LLM_BASE_URL (for a local OpenAI-compatible server)"
            )
        self.client = openai.AsyncOpenAI(
            base_url=settings.llm_base_url,
            # Local servers ignore the key, but the SDK insists on one.
            api_key=key or "not-needed",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        self.prompts = PromptLibrary(settings.prompts_dir)
        self.fallback = RubricProvider(settings)
        self._format = _FORMATS[0]

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "model": self.settings.llm_model,
            "base_url": self.settings.llm_base_url or "https://api.openai.com/v1",
            "response_format": self._format,
            **{f"prompt_{k}": v for k, v in self.prompts.versions.items()},
        }

    # -- the three tasks ---------------------------------------------------------------------
    async def coach(self, ctx: TurnContext) -> Coaching:
        start = time.perf_counter()
        usage = _Usage()
        reasons: list[str] = []
        fallback = self.fallback.build(ctx)
        feedback_prompt = self._feedback_prompt(ctx, structured=True)
        versions = [feedback_prompt.version]
        try:
            out = await self._structured(feedback_prompt, _FeedbackOut, _FEEDBACK_SCHEMA, usage)
            feedback = out.feedback.strip()
        except ProviderUnavailable as exc:
            reasons.append(f"feedback: {exc.message}")
            feedback = fallback.feedback
        follow_up, version = await self._follow_up(ctx, usage, reasons, fallback)
        if version:
            versions.append(version)
        return self._coaching(ctx, feedback, follow_up, usage, reasons, versions, start)

    async def stream_feedback(
        self, ctx: TurnContext, outcome: StreamOutcome | None = None
    ) -> AsyncIterator[str]:
        """Text chunks as the server produces them; on failure the rubric feedback replaces them."""
        outcome = outcome if outcome is not None else StreamOutcome()
        start = time.perf_counter()
        usage = _Usage()
        reasons: list[str] = []
        fallback = self.fallback.build(ctx)
        prompt = self._feedback_prompt(ctx, structured=False)
        chunks: list[str] = []
        try:
            stream = await self.client.chat.completions.create(
                model=self.settings.llm_model,
                messages=_messages(prompt),
                max_tokens=self.settings.llm_max_tokens,
                temperature=_TEMPERATURE,
                stream=True,
                stream_options={"include_usage": True},
            )
            try:
                async for chunk in stream:
                    usage.add(chunk.usage)
                    delta = chunk.choices[0].delta.content if chunk.choices else None
                    if delta:
                        chunks.append(delta)
                        yield delta
            finally:
                await stream.close()
            if not "".join(chunks).strip():
                raise ProviderUnavailable("empty output")
            feedback = "".join(chunks).strip()
        except (openai.OpenAIError, ProviderUnavailable) as exc:
            reason = exc.message if isinstance(exc, ProviderUnavailable) else self._reason(exc)
            reasons.append(f"feedback stream: {reason}")
            outcome.degraded, outcome.degraded_reason = True, "; ".join(reasons)
            outcome.restarted = bool(chunks)
            log.warning("llm stream degraded to rubric feedback: %s", reason, extra=self._log_extra(ctx))
            feedback = fallback.feedback
            yield feedback
        follow_up, version = await self._follow_up(ctx, usage, reasons, fallback)
        versions = [prompt.version, *([version] if version else [])]
        coaching = self._coaching(ctx, feedback, follow_up, usage, reasons, versions, start)
        outcome.degraded, outcome.degraded_reason = coaching.degraded, coaching.degraded_reason
        outcome.coaching = coaching

    async def judge(self, rubric: Rubric, answer: str, score: ScoreResult) -> ScoreResult:
        """Grade each key point with the LLM and blend; on failure keep the embedding score, marked."""
        if SKIP_FLAGS & set(score.flags) or not score.key_points:
            return score
        ids = [k.id for k in score.key_points]
        prompt = self.prompts.render(
            "judge",
            question=rubric.question,
            reference_answer=rubric.reference_answers[0],
            key_points=[{"id": k.id, "text": k.text} for k in score.key_points],
            answer=answer,
        )
        usage = _Usage()
        try:
            out = await self._structured(
                prompt, JudgeOutput, _judge_schema(ids), usage, check=lambda o: blend(score, answer, o, 0.0)
            )
        except ProviderUnavailable as exc:
            log.warning(
                "llm judge degraded, keeping the embedding score: %s",
                exc.message,
                extra={"question_id": rubric.question_id, "prompt_version": prompt.version},
            )
            return judge_degraded(score, f"key-point judge: {exc.message}")
        result = blend(score, answer, out, self.settings.judge_keypoint_weight)
        log.info(
            "llm judge: embedding=%.2f llm=%.2f blended=%.2f",
            score.value,
            result.components["llm_value"],
            result.value,
            extra={
                "tokens_in": usage.tokens_in,
                "tokens_out": usage.tokens_out,
                "prompt_version": prompt.version,
            },
        )
        return result

    # -- helpers -----------------------------------------------------------------------------
    def _feedback_prompt(self, ctx: TurnContext, *, structured: bool) -> RenderedPrompt:
        return self.prompts.render(
            "feedback",
            question=ctx.asked_text,
            reference_answer=ctx.rubric.reference_answers[0],
            key_points=[k.model_dump() for k in ctx.score.key_points],
            misconceptions=[m.model_dump() for m in ctx.score.misconceptions],
            answer=ctx.answer,
            structured=structured,
        )

    async def _follow_up(
        self, ctx: TurnContext, usage: _Usage, reasons: list[str], fallback: Coaching
    ) -> tuple[FollowUp | None, str | None]:
        """The LLM's pick among the bank follow-ups still allowed; the rubric's pick if it fails."""
        candidates = follow_up_candidates(ctx)
        if not candidates:
            return None, None
        by_id = {f.id: f for f in candidates}
        prompt = self.prompts.render(
            "follow_up",
            question=ctx.asked_text,
            key_points=[k.model_dump() for k in ctx.score.key_points],
            candidates=[f.model_dump() for f in candidates],
            answer=ctx.answer,
        )

        def check(out: _FollowUpOut) -> None:
            if out.follow_up_id is not None and out.follow_up_id not in by_id:
                raise ValueError(
                    f"follow_up_id {out.follow_up_id!r} is not an unasked follow-up of this question"
                )

        try:
            out = await self._structured(
                prompt, _FollowUpOut, _follow_up_schema(list(by_id)), usage, check=check
            )
        except ProviderUnavailable as exc:
            reasons.append(f"follow-up: {exc.message}")
            chosen = by_id.get(fallback.follow_up_id) if fallback.follow_up_id else None
            return chosen, prompt.version
        return (by_id[out.follow_up_id] if out.follow_up_id else None), prompt.version

    def _coaching(
        self,
        ctx: TurnContext,
        feedback: str,
        follow_up: FollowUp | None,
        usage: _Usage,
        reasons: list[str],
        versions: list[str],
        start: float,
    ) -> Coaching:
        if reasons:
            log.warning("llm degraded to rubric: %s", "; ".join(reasons), extra=self._log_extra(ctx))
        return Coaching(
            feedback=feedback,
            follow_up_id=follow_up.id if follow_up else None,
            follow_up=follow_up.text if follow_up else None,
            provider=self.name,
            degraded=bool(reasons),
            degraded_reason=("; ".join(reasons) + " (fell back to the rubric provider)") if reasons else None,
            prompt_version=",".join(versions),
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            latency_ms=round((time.perf_counter() - start) * 1000, 1),
        )

    @staticmethod
    def _log_extra(ctx: TurnContext) -> dict[str, object]:
        return {"interview_id": ctx.interview_id, "question_id": ctx.question.id, "turn": ctx.turn}

    def _reason(self, exc: openai.OpenAIError) -> str:
        return _describe(exc, self.settings.llm_timeout_s)

    def _response_format(self, schema: dict[str, Any], name: str) -> dict[str, Any]:
        if self._format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
        if self._format == "json_object_schema":  # llama.cpp's extension: json_object constrained by a schema
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    async def _create(self, prompt: RenderedPrompt, schema: dict[str, Any]) -> Any:
        """One completion; steps down the structured-output modes when the server rejects one."""
        while True:
            try:
                return await self.client.chat.completions.create(
                    model=self.settings.llm_model,
                    messages=_messages(prompt),
                    max_tokens=self.settings.llm_max_tokens,
                    temperature=_TEMPERATURE,
                    extra_body={"response_format": self._response_format(schema, prompt.name)},
                )
            except openai.APIStatusError as exc:
                index = _FORMATS.index(self._format)
                rejected = exc.status_code in (400, 404, 415, 422, 500, 501) and _FORMAT_REJECTED.search(
                    str(exc.message)
                )
                if not rejected or index + 1 >= len(_FORMATS):
                    raise
                log.warning(
                    "llm server rejected response_format=%s; using %s from now on",
                    self._format,
                    _FORMATS[index + 1],
                )
                self._format = _FORMATS[index + 1]

    async def _structured(
        self,
        prompt: RenderedPrompt,
        model: type[M],
        schema: dict[str, Any],
        usage: _Usage,
        *,
        check: Callable[[M], object] | None = None,
    ) -> M:
        """A validated object, or ProviderUnavailable with the reason after one retry."""
        reason = "no attempt"
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._create(prompt, schema)
            except openai.OpenAIError as exc:
                raise ProviderUnavailable(self._reason(exc)) from exc
            usage.add(getattr(response, "usage", None))
            choice = response.choices[0] if response.choices else None
            content = (choice.message.content or "") if choice is not None else ""
            if not content.strip():
                reason = "empty output"
            else:
                try:
                    parsed = model.model_validate(json.loads(_json_text(content)))
                    if check is not None:
                        check(parsed)
                    return parsed
                except ValueError as exc:  # JSON, pydantic and semantic checks all raise ValueError
                    truncated = choice is not None and choice.finish_reason == "length"
                    reason = ("truncated output (max_tokens)" if truncated else "invalid output") + (
                        f": {str(exc).splitlines()[0][:160]}"
                    )
            log.info("llm %s attempt %d failed: %s", prompt.name, attempt + 1, reason)
        raise ProviderUnavailable(f"{reason} (after one retry)")
