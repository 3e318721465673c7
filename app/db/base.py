"""The declarative base every ORM model inherits; its metadata is what Alembic migrates."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["MODEL_MODULES", "Base", "load_models", "utcnow"]

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {dict[str, object]: JSON, list[str]: JSON, datetime: DateTime(timezone=True)}


# Every module that defines tables. Alembic compares the migrations with this metadata (a test fails
# on any difference), so a feature that adds a models module adds it here.
MODEL_MODULES = ("app.interviews.models", "app.review.models", "app.rubrics.models")


def load_models() -> MetaData:
    """Base.metadata with every table registered."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
