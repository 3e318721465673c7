"""/v1/keys for admins: list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from app.auth import Role, require_role
from app.db.base import MAX_INT
from app.deps import SessionDep
from app.keys.schemas import KeyCreate, KeyCreated, KeyOut
from app.keys.service import create_key, list_keys, revoke_key

__all__ = ["router"]

router = APIRouter(prefix="/keys", tags=["keys"], dependencies=[Depends(require_role(Role.admin))])


@router.get("")
def get_keys(session: SessionDep) -> list[KeyOut]:
    return list_keys(session=session)


@router.post("", status_code=status.HTTP_201_CREATED)
def post_key(body: KeyCreate, session: SessionDep) -> KeyCreated:
    return create_key(session=session, role=body.role, label=body.label)


@router.delete("/{key_id}")
def delete_key(key_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep) -> KeyOut:
    return revoke_key(session=session, key_id=key_id)
