"""Prompt templates from prompts/: rendered strictly, versioned, with the candidate's text kept as data."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError

from app.errors import ConfigurationError

__all__ = ["PROMPT_NAMES", "PromptLibrary", "RenderedPrompt", "neutralise"]

PROMPT_NAMES = ("feedback", "follow_up", "judge", "verdict")
_SUFFIX = ".j2"
_VERSION = re.compile(r"\{#-?\s*version:\s*([\w.-]+)\s*-?#\}")
# Anything that could pass for the end of the data block, or for a new role or instruction section.
_DELIMITER = re.compile(
    r"<\s*/?\s*(candidate[\s_-]*answer|answer|data|system|user|assistant|instructions?)\b[^>]*>"
    r"|<\|[^|>]{0,40}\|>"
    r"|\[/?\s*(INST|SYS)\s*\]",
    re.IGNORECASE,
)


def neutralise(text: object) -> str:
    """Defuse fake delimiters and chat-template tokens in candidate text; the words stay readable."""
    return _DELIMITER.sub("[delimiter removed]", str(text))


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    version: str
    system: str
    user: str


class PromptLibrary:
    """Loads every prompt at start (a missing or broken file fails then, not mid-interview)."""

    def __init__(self, prompts_dir: Path) -> None:
        self.dir = prompts_dir
        self._env = Environment(
            loader=FileSystemLoader(str(prompts_dir)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=False,
            keep_trailing_newline=False,
        )
        self._env.filters["data"] = neutralise
        self._templates: dict[str, Template] = {}
        self.versions: dict[str, str] = {}
        for name in PROMPT_NAMES:
            path = prompts_dir / f"{name}{_SUFFIX}"
            try:
                source = path.read_text(encoding="utf-8")
                template = self._env.get_template(path.name)
            except (OSError, TemplateError) as exc:
                raise ConfigurationError(f"prompt {path} cannot be loaded: {exc}") from exc
            missing = {"system", "user"} - set(template.blocks)
            if missing:
                raise ConfigurationError(f"prompt {path} lacks block(s) {sorted(missing)}")
            declared = _VERSION.search(source)
            digest = hashlib.sha256(source.encode()).hexdigest()[:8]
            # The declared version names the intent; the hash catches edits that forgot to bump it.
            self.versions[name] = f"{declared.group(1) if declared else name}+{digest}"
            self._templates[name] = template

    def render(self, name: str, **variables: Any) -> RenderedPrompt:
        """A missing variable raises (StrictUndefined): a prompt never goes out half-filled."""
        template = self._templates[name]
        parts = {}
        for block in ("system", "user"):
            context = template.new_context(variables)
            parts[block] = "".join(template.blocks[block](context)).strip()
        return RenderedPrompt(
            name=name, version=self.versions[name], system=parts["system"], user=parts["user"]
        )
