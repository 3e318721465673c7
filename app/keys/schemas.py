"""What the key routes take and return: a key is listed without its secret, shown once on creation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.auth import Role

__all__ = ["KeyCreate", "KeyCreated", "KeyOut"]


class KeyOut(BaseModel):
    id: int
    prefix: str
    role: Role
    label: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="the secret; shown only in this response")


class KeyCreate(BaseModel):
    role: Role
    label: str = Field(default="", max_length=200)
