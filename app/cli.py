"""The `mockinterview` console script: `serve` here; each feature registers its own commands
(bank check|coverage|export, chat, score, eval, calibrate, keys, review) from its `cli.py`."""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

import typer

from app.bank import cli as bank_cli
from app.config import Settings
from app.interviews import cli as interviews_cli
from app.review import cli as review_cli
from app.scoring import cli as scoring_cli
from app.terminal import err, fail, offline

__all__ = ["app"]

app = typer.Typer(
    help="Practise deep-learning interviews.", no_args_is_help=True, pretty_exceptions_enable=False
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default from settings: 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from settings: 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (offline defaults: MiniLM scorer, rubric coach, SQLite)."""
    import uvicorn

    from app.main import create_app

    offline()
    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    if not _is_loopback(host) and not settings.allow_remote_bind:
        raise fail(
            f"refusing to bind {host}: set MOCKINTERVIEW_ALLOW_REMOTE_BIND=1 (and MOCKINTERVIEW_API_KEYS)"
        )
    if not _is_loopback(host) and not settings.api_keys:
        err.print("[yellow]warning:[/] listening beyond localhost without MOCKINTERVIEW_API_KEYS")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


for feature in (bank_cli, interviews_cli, scoring_cli, review_cli):  # review last: it adds `bank export`
    feature.register(app)
