"""Find LLM providers by name in the `mockinterview.llm` entry-point group and build the chosen one."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

from app.config import Settings
from app.llm.base import LLMProvider
from app.providers import available, load_provider_class

__all__ = ["ENTRY_POINT_GROUP", "available_providers", "create_llm_provider"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mockinterview.llm"

# The same entries pyproject.toml declares, so a source checkout that was never pip-installed
# still finds the built-ins; installed entry points (ours or a plugin's) take precedence.
_BUILTINS = {
    "rubric": "app.llm.rubric:RubricProvider",
    "openai": "app.llm.openai_provider:OpenAIProvider",
}


def available_providers() -> dict[str, EntryPoint]:
    """Every provider name that can be selected, built-ins first."""
    return available(ENTRY_POINT_GROUP, _BUILTINS)


def create_llm_provider(settings: Settings) -> LLMProvider:
    """Build the provider `settings.llm` names; an unknown or broken name fails at start."""
    cls: type[LLMProvider] = load_provider_class(
        group=ENTRY_POINT_GROUP,
        builtins=_BUILTINS,
        name=settings.llm,
        kind="LLM provider",
        setting="MOCKINTERVIEW_LLM",
        base=LLMProvider,
    )
    provider = cls(settings)
    log.info("llm provider ready: %s", provider.describe())
    return provider
