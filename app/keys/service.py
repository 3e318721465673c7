"""API keys in the database: create (the secret is shown once), list without secrets, revoke; and
the lookup app/auth.py consults.

Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them: there is nothing to
brute-force, and lookup by digest needs no per-key comparison.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth import Role
from app.db.base import utcnow
from app.errors import NotFound
from app.keys.models import ApiKey, AuthState
from app.keys.schemas import KeyCreated, KeyOut

__all__ = ["DbKeys", "create_key", "list_keys", "revoke_key"]

_PREFIX = "mik_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _out(row: ApiKey) -> KeyOut:
    return KeyOut(
        id=row.id,
        prefix=row.prefix,
        role=Role(row.role),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create_key(*, session: Session, role: Role, label: str = "") -> KeyCreated:
    secret = _PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(key_hash=_digest(secret), prefix=secret[:10], role=role.value, label=label)
    session.add(row)
    # The first key switches the service to keys mode for good, in the same transaction as the key.
    session.execute(
        update(AuthState)
        .where(AuthState.id == 1, AuthState.keys_enabled_at.is_(None))
        .values(keys_enabled_at=utcnow())
    )
    session.commit()
    return KeyCreated(**_out(row).model_dump(), key=secret)


def list_keys(*, session: Session, include_revoked: bool = True) -> list[KeyOut]:
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return [_out(r) for r in session.scalars(stmt)]


def revoke_key(*, session: Session, key_id: int) -> KeyOut:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return _out(row)


class DbKeys:
    """The KeyLookup app/auth.py consults; reads the table on every call so revocation is immediate."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._enabled = False  # once true it stays true, so it need not be read again

    def ever_enabled(self) -> bool:
        if not self._enabled:
            with self._sessions() as session:
                flagged = session.scalar(select(AuthState.keys_enabled_at).where(AuthState.id == 1))
                # Any stored key counts too, should a key row reach the table some other way.
                self._enabled = flagged is not None or (
                    session.scalar(select(ApiKey.id).limit(1)) is not None
                )
        return self._enabled

    def role_for(self, key: str) -> Role | None:
        with self._sessions() as session:
            role = session.scalar(
                select(ApiKey.role).where(ApiKey.key_hash == _digest(key), ApiKey.revoked_at.is_(None))
            )
        return Role(role) if role is not None else None
