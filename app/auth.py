"""Bearer-key authentication for /v1: off when MOCKINTERVIEW_API_KEYS is empty (the local default)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.errors import Unauthorized

__all__ = ["Owner", "key_fingerprint", "require_api_key"]

_bearer = HTTPBearer(auto_error=False, description="one of MOCKINTERVIEW_API_KEYS, when set")


def key_fingerprint(key: str) -> str:
    """What we store as an interview's owner: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The caller's key fingerprint, None in local mode; 401 for a missing or wrong key."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    given = credentials.credentials.encode()
    # Compare against every key without stopping early, so timing does not reveal which matched.
    matched = [secrets.compare_digest(given, k.get_secret_value().encode()) for k in settings.api_keys]
    if not any(matched):
        raise Unauthorized("invalid API key")
    return key_fingerprint(credentials.credentials)


Owner = Annotated[str | None, Depends(require_api_key)]
