"""Find LLM providers by name in the `mockinterview.llm` entry-point group and build the chosen one."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points

from app.config import Settings
from app.errors import ConfigurationError
from app.llm.base import LLMProvider

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
    found = {
        name: EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in _BUILTINS.items()
    }
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep
    return found


def create_llm_provider(settings: Settings) -> LLMProvider:
    """Build the provider `settings.llm` names; an unknown or broken name fails at start."""
    providers = available_providers()
    name = settings.llm.strip().lower()
    ep = providers.get(name)
    if ep is None:
        installed = ", ".join(sorted(providers))
        raise ConfigurationError(
            f"unknown LLM provider {settings.llm!r} (MOCKINTERVIEW_LLM); installed: {installed}"
        )
    try:
        cls = ep.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"LLM provider {name!r} ({ep.value}) cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, LLMProvider)):
        raise ConfigurationError(f"LLM provider {name!r} ({ep.value}) is not an LLMProvider subclass")
    provider = cls(settings)
    log.info("llm provider ready: %s", provider.describe())
    return provider
