"""Bearer-key authentication and roles for /v1.

Keys come from two places: MOCKINTERVIEW_API_KEYS (operator keys, admin-equivalent) and the
api_keys table (created with `mockinterview keys create --role ...`, stored hashed).

The mode is a setting, never a count of live keys: MOCKINTERVIEW_AUTH=local (no keys, every caller is
the single admin; `serve` keeps it on loopback) or keys. Left unset it is keys as soon as API_KEYS is
set or a key has ever been created (recorded in the auth_state table), so revoking the last key leaves
a service that answers 401 until an admin creates a new key with the CLI.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings
from app.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from app.ratelimit import FailedAuthLimiter

__all__ = [
    "AuthMode",
    "CurrentPrincipal",
    "KeyLookup",
    "Owner",
    "OwnerId",
    "Principal",
    "Role",
    "auth_mode",
    "authenticate",
    "key_fingerprint",
    "keys_required",
    "resolve_auth_mode",
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


AuthMode = Literal["local", "keys"]


class KeyLookup(Protocol):
    """The database keys, set on app.state.key_lookup by create_app (app/keys/service.py)."""

    def ever_enabled(self) -> bool:
        """Whether a key was ever created in this database (revoked or not)."""
        ...

    def role_for(self, key: str) -> Role | None: ...


def key_fingerprint(key: str) -> str:
    """What we store as an interview's owner: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class OwnerId(str):
    """A key fingerprint that owns interviews; `admin` keys may also open ownerless interviews."""

    admin: bool

    def __new__(cls, fingerprint: str, *, admin: bool = False) -> OwnerId:
        made = super().__new__(cls, fingerprint)
        made.admin = admin
        return made


def resolve_auth_mode(settings: Settings, *, keys_ever_enabled: bool) -> AuthMode:
    """The setting when given; otherwise keys once env keys are set or a key was ever created."""
    if settings.auth is not None:
        return settings.auth
    return "keys" if settings.api_keys or keys_ever_enabled else "local"


def auth_mode(request: Request) -> AuthMode:
    settings: Settings = request.app.state.settings
    if settings.auth is not None or settings.api_keys:
        return resolve_auth_mode(settings, keys_ever_enabled=False)
    lookup: KeyLookup | None = getattr(request.app.state, "key_lookup", None)
    if lookup is None:  # the lifespan has not run: nothing tells us keys are off, so they are on
        return "keys"
    return resolve_auth_mode(settings, keys_ever_enabled=lookup.ever_enabled())


def keys_required(request: Request) -> bool:
    """Whether callers must send a key (the pages ask for one exactly then)."""
    return auth_mode(request) == "keys"


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller; in keys mode 401 for a missing, wrong or revoked key."""
    if not keys_required(request):
        return Principal(role=Role.admin, fingerprint=None, local=True)
    settings: Settings = request.app.state.settings
    lookup: KeyLookup | None = getattr(request.app.state, "key_lookup", None)
    limiter: FailedAuthLimiter | None = getattr(request.app.state, "auth_limiter", None)
    who = [f"addr:{request.client.host if request.client else 'unknown'}"]
    if credentials is not None:
        who.append(f"key:{key_fingerprint(credentials.credentials)}")
    if limiter is not None:
        limiter.check(*who)
    try:
        return _principal(settings, lookup, credentials)
    except Unauthorized:
        if limiter is not None and credentials is not None:  # a wrong key, not a missing one
            limiter.failed(*who)
        raise


def _principal(
    settings: Settings, lookup: KeyLookup | None, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
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


def require_api_key(principal: CurrentPrincipal) -> OwnerId | None:
    """The caller's key fingerprint, None in local mode; any role may pass."""
    if principal.fingerprint is None:
        return None
    return OwnerId(principal.fingerprint, admin=principal.role == Role.admin)


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


Owner = Annotated[OwnerId | None, Depends(require_api_key)]
