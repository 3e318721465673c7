"""Find judges by name in the `mockinterview.judge` entry-point group and build the chosen one."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

from app.config import Settings
from app.judge.base import Judge
from app.providers import available, load_provider_class

__all__ = ["ENTRY_POINT_GROUP", "available_judges", "create_judge"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mockinterview.judge"

# The same entries pyproject.toml declares, so a source checkout that was never pip-installed
# still finds the built-ins; installed entry points (ours or a plugin's) take precedence.
_BUILTINS = {
    "local": "app.judge.local:LocalJudge",
    "openai": "app.judge.openai:OpenAIJudge",
}


def available_judges() -> dict[str, EntryPoint]:
    """Every judge name that can be selected (besides `off`), built-ins first."""
    return available(ENTRY_POINT_GROUP, _BUILTINS)


def create_judge(settings: Settings) -> Judge | None:
    """The judge `settings.judge` names, loading in the background; None for `off`. An unknown
    name fails at start."""
    if settings.judge.strip().lower() == "off":
        log.info("judge: off")
        return None
    cls: type[Judge] = load_provider_class(
        group=ENTRY_POINT_GROUP,
        builtins=_BUILTINS,
        name=settings.judge,
        kind="judge",
        setting="MOCKINTERVIEW_JUDGE",
        base=Judge,
    )
    judge = cls(settings)
    judge.start()
    log.info("judge: %s (%s), loading", judge.name, judge.model_id)
    return judge
