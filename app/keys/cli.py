"""`mockinterview keys create|list|revoke`: API keys in the database (registered by app/cli.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.auth import Role
from app.config import Settings
from app.terminal import console, err, fail

__all__ = ["register"]

keys_app = typer.Typer(help="Manage API keys (stored hashed in the database).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `keys` group to the console script."""
    app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="candidate, reviewer or admin")] = Role.candidate,
    label: Annotated[str, typer.Option(help="who or what the key is for")] = "",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from app.keys.service import create_key
    from app.runtime import database_session

    with database_session(Settings()) as session:
        made = create_key(session=session, role=role, label=label)
    err.print(f"created key {made.id} ({made.role}); it is shown only now:")
    typer.echo(made.key)  # stdout carries only the secret: KEY=$(mockinterview keys create ...)


@keys_app.command("list")
def keys_list() -> None:
    """Every key without its secret."""
    from app.keys.service import list_keys
    from app.runtime import database_session

    with database_session(Settings()) as session:
        rows = list_keys(session=session)
    table = Table(header_style="bold")
    for col in ("id", "prefix", "role", "label", "created", "revoked"):
        table.add_column(col)
    for k in rows:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else ""
        created = k.created_at.isoformat(timespec="seconds")
        table.add_row(str(k.id), k.prefix + "…", k.role, k.label, created, revoked)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the id from `keys list`")]) -> None:
    """Revoke a key at once (running servers see it on the next request)."""
    from app.errors import DomainError
    from app.keys.service import revoke_key
    from app.runtime import database_session

    with database_session(Settings()) as session:
        try:
            revoke_key(session=session, key_id=key_id)
        except DomainError as exc:
            raise fail(exc.message) from exc
    console.print(f"revoked key {key_id}")
