"""API keys (migration 0002) and the auth state that records when keys were first switched on (0003)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, utcnow

__all__ = ["ApiKey", "AuthState"]


class ApiKey(Base):
    """A bearer key: only its SHA-256 is stored; `prefix` lets people tell keys apart in a list."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuthState(Base):
    """The single row (id 1, seeded by migration 0003) recording when the first API key was created.

    Once set it stays set: the service then wants a key on every /v1 call, even after every key is
    revoked, until an admin creates a new one with the CLI.
    """

    __tablename__ = "auth_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    keys_enabled_at: Mapped[datetime | None] = mapped_column(default=None)
