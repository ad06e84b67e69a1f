"""Making and revoking API keys (the admin's side; checking them is service/auth)."""

from __future__ import annotations

from sqlmodel import Session

from service.admin.agencies import get_agency_by_code
from service.audit import record
from service.auth.keys import new_key_material
from service.errors import NotFound, field_error
from service.models import ROLES, ApiKey, utcnow


def create_key(
    session: Session, *, role: str, name: str, agency_code: str | None, actor: str
) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise field_error("role", f"must be one of {', '.join(ROLES)}")
    agency_id = None
    if agency_code is not None:
        agency = get_agency_by_code(session, agency_code)
        if agency is None:
            raise field_error("agency", f"no agency has the code '{agency_code}'")
        agency_id = agency.id
    made = new_key_material()
    key = ApiKey(name=name, role=role, agency_id=agency_id, key_hash=made.hash, prefix=made.prefix)
    session.add(key)
    session.flush()
    record(session, actor, "key.create", f"api_key:{key.id}", {"role": role, "name": name})
    return key, made.raw


def revoke_key(session: Session, key_id: int, *, actor: str) -> None:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key has the id {key_id}.")
    key.revoked_at = utcnow()
    session.add(key)
    record(session, actor, "key.revoke", f"api_key:{key_id}", {})
