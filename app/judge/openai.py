"""The judge on any OpenAI-compatible server (llama.cpp server, vLLM, OpenAI).

With `logprobs`/`top_logprobs` in its replies, it asks the same Yes/No question as the local judge
and reads P(Yes) from the first token. A server that returns no logprobs gets the key-point judge
instead: the LLM grades each key point as JSON, with quotes checked against the answer, and the
grades are blended into the embedding score (MOCKINTERVIEW_JUDGE_KEYPOINT_WEIGHT).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import openai

from app.config import Settings
from app.errors import ConfigurationError
from app.judge.base import Judge, JudgeItem, JudgeUnavailable
from app.judge.prompt import VerdictPrompt
from app.scoring.schemas import Rubric, ScoreResult

__all__ = ["OpenAIJudge"]

log = logging.getLogger(__name__)

_TOP_LOGPROBS = 10


class _NoLogprobs(Exception):
    pass


class OpenAIJudge(Judge):
    name = "openai"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.base_url = settings.judge_base_url or settings.llm_base_url
        secret = settings.judge_api_key or settings.llm_api_key
        key = secret.get_secret_value() if secret else None
        if not key and not self.base_url:
            raise ConfigurationError(
                "MOCKINTERVIEW_JUDGE=openai needs MOCKINTERVIEW_JUDGE_BASE_URL "
                "(or MOCKINTERVIEW_LLM_BASE_URL) "
                "for a local server, or an API key (MOCKINTERVIEW_JUDGE_API_KEY) for api.openai.com"
            )
        self.model = settings.judge_llm_model or settings.llm_model
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=key or "not-needed",
            timeout=settings.judge_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        self._prompt = VerdictPrompt(settings.prompts_dir)
        self.logprobs: bool | None = None  # learned from the first reply
        self._keypoint_provider: Any = None

    @property
    def model_id(self) -> str:
        return f"openai:{self.model}@{self.base_url or 'api.openai.com'}"

    @property
    def prompt_version(self) -> str:
        return self._prompt.version

    def describe(self) -> dict[str, Any]:
        mode = {None: "unknown", True: "logprobs", False: "key points (the server returns no logprobs)"}
        return {**super().describe(), "mode": mode[self.logprobs]}

    def close(self) -> None:
        super().close()
        self.client.close()

    def _p_correct(self, items: Sequence[JudgeItem]) -> list[float]:
        if self.logprobs is False:
            raise _NoLogprobs()
        out = []
        for item in items:
            system, user = self._prompt.render(item)
            try:
                response = self.client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                    max_tokens=1,
                    temperature=0.0,
                    logprobs=True,
                    top_logprobs=_TOP_LOGPROBS,
                )
            except openai.OpenAIError as exc:
                raise JudgeUnavailable(f"judge server: {type(exc).__name__}: {str(exc)[:200]}") from exc
            out.append(self._yes_probability(response))
        return out

    def _yes_probability(self, response: Any) -> float:
        choice = response.choices[0] if response.choices else None
        content = getattr(getattr(choice, "logprobs", None), "content", None)
        if not content or not content[0].top_logprobs:
            self.logprobs = False
            log.warning("judge server %s returns no logprobs: using the key-point judge", self.base_url)
            raise _NoLogprobs()
        self.logprobs = True
        yes = no = 0.0
        for top in content[0].top_logprobs:
            word = (top.token or "").strip().lower()
            if word == "yes":
                yes += math.exp(top.logprob)
            elif word == "no":
                no += math.exp(top.logprob)
        if yes + no == 0.0:
            raise JudgeUnavailable("judge server put neither Yes nor No among its top tokens")
        return yes / (yes + no)

    def p_correct_many(self, items: Sequence[JudgeItem], *, progress: Any = None) -> list[float]:
        try:
            return super().p_correct_many(items, progress=progress)
        except _NoLogprobs as exc:
            raise JudgeUnavailable("the judge server returns no logprobs") from exc

    @property
    def uses_key_points(self) -> bool:
        return self.logprobs is False

    async def key_point_score(self, rubric: Rubric, answer: str, score: ScoreResult) -> ScoreResult:
        """The fallback for servers without logprobs: key points graded as JSON, blended in."""
        from app.llm.openai_provider import OpenAIProvider

        if self._keypoint_provider is None:
            self._keypoint_provider = OpenAIProvider(
                self.settings.model_copy(
                    update={
                        "llm_base_url": self.base_url,
                        "llm_api_key": self.settings.judge_api_key or self.settings.llm_api_key,
                        "llm_model": self.model,
                    }
                )
            )
        result: ScoreResult = await self._keypoint_provider.judge(rubric, answer, score)
        return result
