"""API keys as the admin API shows them: without their secrets, a page at a time."""

from __future__ import annotations

from sqlmodel import Session

from service.admin import keys
from service.admin.schemas import KeyList, KeyPublic, KeyRotated
from service.auth.principal import Principal


def key_public(row: keys.KeyRow) -> KeyPublic:
    key = row.key
    assert key.id is not None
    return KeyPublic(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=key.role,
        agency_code=row.agency_code,
        status=row.status,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
    )


def page(session: Session, principal: Principal, cursor: int, limit: int) -> KeyList:
    """The keys after id `cursor`; `next_cursor` when there may be more."""
    rows = keys.list_keys(session, principal, after=cursor, limit=limit)
    data = [key_public(row) for row in rows]
    more = len(rows) == limit
    return KeyList(data=data, count=len(data), next_cursor=data[-1].id if more else None)


def revoke(session: Session, principal: Principal, key_id: int) -> KeyPublic:
    key = keys.revoke_key(session, key_id, actor=principal.actor, principal=principal)
    return key_public(keys.key_row(session, key))


def rotate(session: Session, principal: Principal, key_id: int) -> KeyRotated:
    new, raw = keys.rotate_key(session, key_id, actor=principal.actor, principal=principal)
    return KeyRotated(key=raw, replaces=key_id, data=key_public(keys.key_row(session, new)))
