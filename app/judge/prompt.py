"""The verdict prompt (prompts/verdict.j2): the rubric first, the answer last, one Yes/No question."""

from __future__ import annotations

from pathlib import Path

from app.judge.base import JudgeItem
from app.llm.prompts import PromptLibrary

__all__ = ["VerdictPrompt"]


class VerdictPrompt:
    """Renders the verdict prompt strictly; its version (declared name + content hash) keys the cache."""

    def __init__(self, prompts_dir: Path) -> None:
        self._library = PromptLibrary(prompts_dir)
        self.version = self._library.versions["verdict"]

    def render(self, item: JudgeItem, answer: str | None = None) -> tuple[str, str]:
        """(system, user) for one item; `answer` overrides the item's (a truncated copy)."""
        prompt = self._library.render(
            "verdict",
            question=item.question,
            reference_answer=item.reference_answer,
            key_points=[{"text": t} for t in item.key_points],
            answer=item.answer if answer is None else answer,
            point=item.point,
        )
        return prompt.system, prompt.user
