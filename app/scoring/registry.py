"""Find embedders by name in the `mockinterview.embedders` entry-point group and build the chosen one."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from app.config import Settings
from app.providers import available, load_provider_class
from app.scoring.embedders import Embedder

__all__ = ["ENTRY_POINT_GROUP", "available_embedders", "create_embedder", "embedder_class"]

ENTRY_POINT_GROUP = "mockinterview.embedders"

# The same entries pyproject.toml declares, so a source checkout that was never pip-installed
# still finds the built-ins; installed entry points (ours or a plugin's) take precedence.
_BUILTINS = {
    "minilm": "app.scoring.embedders:MiniLMEmbedder",
    "openai": "app.scoring.embedders:OpenAIEmbedder",
}


def available_embedders() -> dict[str, EntryPoint]:
    """Every embedder name that can be selected, built-ins first."""
    return available(ENTRY_POINT_GROUP, _BUILTINS)


def embedder_class(settings: Settings) -> type[Embedder]:
    """The class settings.embedder names; an unknown name is a ConfigurationError (cheap: nothing
    is loaded, so a start-up can check the name before loading the model in the background)."""
    cls: type[Embedder] = load_provider_class(
        group=ENTRY_POINT_GROUP,
        builtins=_BUILTINS,
        name=settings.embedder,
        kind="embedder",
        setting="MOCKINTERVIEW_EMBEDDER",
        base=Embedder,
    )
    return cls


def create_embedder(settings: Settings) -> Embedder:
    """The embedder settings.embedder names, built (its model loaded)."""
    return embedder_class(settings)(settings)
