"""What every CLI command shares: the consoles, a failure exit, offline model hubs."""

from __future__ import annotations

import os

import typer
from rich.console import Console

__all__ = ["console", "err", "fail", "offline"]

console = Console()
err = Console(stderr=True)


def offline() -> None:
    """Nothing is downloaded: the models come from installed packages."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error in red on stderr; raise the returned Exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)
