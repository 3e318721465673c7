"""The declarative base every ORM model inherits; its metadata is what Alembic migrates."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["MAX_INT", "MODEL_MODULES", "Base", "UTCDateTime", "load_models", "utcnow"]

MAX_INT = 2**31 - 1  # the largest value an INTEGER column holds on every backend (PostgreSQL's int4)

# Stable constraint names so migrations are the same on SQLite and PostgreSQL.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite stores no offset and hands back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {dict[str, object]: JSON, list[str]: JSON, datetime: UTCDateTime()}


# Every module that defines tables. Alembic compares the migrations with this metadata (a test fails
# on any difference), so a feature that adds a models module adds it here.
MODEL_MODULES = ("app.interviews.models", "app.keys.models", "app.review.models", "app.rubrics.models")


def load_models() -> MetaData:
    """Base.metadata with every table registered."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
