"""Bearer-key authentication and roles for /v1.

Keys come from two places: MOCKINTERVIEW_API_KEYS (operator keys, admin-equivalent) and the
api_keys table (created with `mockinterview keys create --role ...`, stored hashed). With neither,
the service runs in local mode: everything is open and every caller acts as an admin.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.errors import Forbidden, Unauthorized

__all__ = [
    "CurrentPrincipal",
    "KeyLookup",
    "Owner",
    "Principal",
    "Role",
    "authenticate",
    "key_fingerprint",
    "require_api_key",
    "require_role",
]

_bearer = HTTPBearer(
    auto_error=False, description="an API key (MOCKINTERVIEW_API_KEYS or `mockinterview keys`)"
)


class Role(StrEnum):
    candidate = "candidate"
    reviewer = "reviewer"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and the key fingerprint that owns their interviews (None in local mode)."""

    role: Role
    fingerprint: str | None
    local: bool = False


class KeyLookup(Protocol):
    """The database keys, set on app.state.key_lookup by create_app (app/review/keys.py)."""

    def any_active(self) -> bool: ...

    def role_for(self, key: str) -> Role | None: ...


def key_fingerprint(key: str) -> str:
    """What we store as an interview's owner: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def keys_required(request: Request) -> bool:
    """Whether callers must send a key: once any key exists, in the environment or the database."""
    settings: Settings = request.app.state.settings
    lookup: KeyLookup | None = getattr(request.app.state, "key_lookup", None)
    return bool(settings.api_keys) or (lookup is not None and lookup.any_active())


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; 401 for a missing or wrong key once any key (env or database) exists."""
    if not keys_required(request):
        return Principal(role=Role.admin, fingerprint=None, local=True)
    settings: Settings = request.app.state.settings
    lookup: KeyLookup | None = getattr(request.app.state, "key_lookup", None)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    given = credentials.credentials.encode()
    # Compare against every env key without stopping early, so timing does not reveal which matched.
    matched = [secrets.compare_digest(given, k.get_secret_value().encode()) for k in settings.api_keys]
    if any(matched):
        return Principal(role=Role.admin, fingerprint=key_fingerprint(credentials.credentials))
    role = lookup.role_for(credentials.credentials) if lookup is not None else None
    if role is None:
        raise Unauthorized("invalid API key")
    return Principal(role=role, fingerprint=key_fingerprint(credentials.credentials))


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_api_key(principal: CurrentPrincipal) -> str | None:
    """The caller's key fingerprint, None in local mode; any role may pass."""
    return principal.fingerprint


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"this needs the {' or '.join(sorted(allowed))} role; your key is {principal.role}"
            )
        return principal

    return check


Owner = Annotated[str | None, Depends(require_api_key)]
