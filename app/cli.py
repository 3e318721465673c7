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
from app.keys import cli as keys_cli
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


def _settings() -> Settings:
    """Settings from the environment; a setting that fails validation is a clear error, not a trace."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        raise fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from exc


def _keys_ever_enabled(settings: Settings) -> bool:
    from app.keys.service import DbKeys
    from app.runtime import Runtime

    with Runtime(settings) as runtime:
        return DbKeys(runtime.open_database()).ever_enabled()


def bind_problem(host: str, settings: Settings, *, keys_ever_enabled: bool) -> str | None:
    """Why serving on `host` would be unsafe, or None: local mode (no keys) stays on loopback."""
    from app.auth import resolve_auth_mode

    if _is_loopback(host) or resolve_auth_mode(settings, keys_ever_enabled=keys_ever_enabled) == "keys":
        return None
    if settings.unsafe_remote_bind_without_keys:
        err.print(
            f"[yellow]warning:[/] serving {host} without API keys: anyone who reaches it is an admin",
            highlight=False,
        )
        return None
    return (
        f"refusing to bind {host} without API keys (local mode: every caller is an admin). Set "
        "MOCKINTERVIEW_AUTH=keys and create an admin key with `mockinterview keys create --role admin` "
        "(or set MOCKINTERVIEW_API_KEYS)"
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default from settings: 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default from settings: 8000)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (offline defaults: MiniLM scorer, rubric coach, SQLite)."""
    import uvicorn

    from app.main import create_app
    from app.server import uvicorn_config

    offline()
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    problem = bind_problem(host, settings, keys_ever_enabled=_keys_ever_enabled(settings))
    if problem is not None:
        raise fail(problem)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = uvicorn_config(
        create_app(settings), settings=settings, host=host, port=port, log_level=log_level
    )
    uvicorn.Server(config).run()


for feature in (
    bank_cli,
    interviews_cli,
    scoring_cli,
    keys_cli,
    review_cli,
):  # review last: it adds `bank export`
    feature.register(app)
