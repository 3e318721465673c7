"""The one way our pages build their Jinja2 templates: autoescaped, and a missing variable is an error."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

__all__ = ["strict_templates"]


def strict_templates(folder: Path) -> Jinja2Templates:
    return Jinja2Templates(
        env=Environment(
            loader=FileSystemLoader(folder),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
        )
    )
