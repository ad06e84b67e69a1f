"""API keys: created once, stored as a hash, checked on every API request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from service.admin.agencies import get_agency_by_code, is_within
from service.admin.audit import record
from service.errors import Forbidden, NotFound, Unauthorized, field_error
from service.models import ROLES, Agency, ApiKey, utcnow

KEY_PREFIX = "hl_"


def hash_key(raw_key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key, as the rest of the service sees it."""

    key_id: int
    name: str
    role: str
    scope_agency_id: int | None
    scope_path: str | None  # materialised path of the scope agency, if any

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}:{self.name}"

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            allowed = " or ".join(roles)
            raise Forbidden(f"This needs a key with the role {allowed}; yours is '{self.role}'.")

    def can_see(self, agency: Agency) -> bool:
        return self.scope_path is None or is_within(agency, self.scope_path)

    def require_scope(self, agency: Agency) -> None:
        if not self.can_see(agency):
            raise Forbidden(
                f"Your key is limited to another part of the agency tree and cannot act "
                f"for agency '{agency.code}'."
            )


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
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name, role=role, agency_id=agency_id, key_hash=hash_key(raw_key), prefix=raw_key[:8]
    )
    session.add(key)
    session.flush()
    record(session, actor, "key.create", f"api_key:{key.id}", {"role": role, "name": name})
    return key, raw_key


def revoke_key(session: Session, key_id: int, *, actor: str) -> None:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key has the id {key_id}.")
    key.revoked_at = utcnow()
    session.add(key)
    record(session, actor, "key.revoke", f"api_key:{key_id}", {})


def authenticate(session: Session, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized(
            "This endpoint needs an API key: send it as 'Authorization: Bearer <key>'."
        )
    scheme, _, raw_key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw_key.strip():
        raise Unauthorized("Send the API key as 'Authorization: Bearer <key>'.")
    row = session.exec(
        select(ApiKey, Agency.path)
        .join(Agency, ApiKey.agency_id == Agency.id, isouter=True)  # type: ignore[arg-type]
        .where(ApiKey.key_hash == hash_key(raw_key.strip()))
    ).first()
    if row is None or row[0].revoked_at is not None:
        raise Unauthorized("This API key is unknown or has been revoked. Ask for a new one.")
    key, scope_path = row
    assert key.id is not None
    return Principal(key.id, key.name, key.role, key.agency_id, scope_path)
