"""One way to find a provider class by name: built-ins, then the entry-point group (plugins win)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from app.errors import ConfigurationError

__all__ = ["available", "load_provider_class"]


def available(group: str, builtins: Mapping[str, str]) -> dict[str, EntryPoint]:
    """Every selectable name. The built-ins repeat pyproject.toml's entries so a checkout that was
    never pip-installed still finds them; installed entry points take precedence."""
    found = {name: EntryPoint(name=name, value=value, group=group) for name, value in builtins.items()}
    for ep in entry_points(group=group):
        found[ep.name] = ep
    return found


def load_provider_class(
    *, group: str, builtins: Mapping[str, str], name: str, kind: str, setting: str, base: type
) -> type[Any]:
    """The class registered under `name`; unknown, broken or wrong-typed names fail at start."""
    providers = available(group, builtins)
    key = name.strip().lower()
    ep = providers.get(key)
    if ep is None:
        installed = ", ".join(sorted(providers))
        raise ConfigurationError(f"unknown {kind} {name!r} ({setting}); installed: {installed}")
    try:
        cls = ep.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{kind} {key!r} ({ep.value}) cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigurationError(f"{kind} {key!r} ({ep.value}) is not a {base.__name__} subclass")
    return cls
