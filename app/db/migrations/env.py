"""Alembic environment: runs on the connection handed over by app.db.migrate.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app.config import Settings
from app.db.base import load_models

target_metadata = load_models()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line: use the configured database
    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    with create_engine(url).begin() as conn:
        _run(conn)
