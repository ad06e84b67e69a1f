"""Making, listing, revoking and rotating API keys (the admin's side; checking them is
service/auth).

Each create, revoke and rotate writes one audit record. A key's scope is its agency: an
admin key scoped to an agency sees and manages only keys scoped within that agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code
from service.audit import record
from service.auth.keys import new_key_material, refusal
from service.auth.principal import Principal
from service.calendar.working_days import LOCAL_TZ
from service.db import rowcount
from service.errors import Conflict, NotFound, field_error, storable_field
from service.models import EVERY_AGENCY_ROLES, ROLES, Agency, ApiKey, WebhookSubscription, utcnow
from service.models.agency import path_within
from service.timebounds import check_day


@dataclass(frozen=True)
class KeyRow:
    key: ApiKey
    agency_code: str | None  # the scope; None: every agency

    @property
    def status(self) -> Literal["active", "expired", "revoked"]:
        if self.key.revoked_at is not None:
            return "revoked"
        return "expired" if refusal(self.key, utcnow()) else "active"


def expiry_from_date(day: date) -> datetime:
    """`--expires 2027-06-30`: the key works through that day, Vietnam time. A day outside
    the range the service takes is OutOfRange (a ValueError): 9999-12-31 overflowed."""
    return datetime.combine(check_day(day) + timedelta(days=1), time(), tzinfo=LOCAL_TZ)


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _new_key(
    session: Session,
    *,
    name: str,
    role: str,
    agency_id: int | None,
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    made = new_key_material()
    key = ApiKey(
        name=name,
        role=role,
        agency_id=agency_id,
        key_hash=made.hash,
        prefix=made.prefix,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, made.raw


def create_key(
    session: Session,
    *,
    role: str,
    name: str,
    agency_code: str | None,
    actor: str,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise field_error("role", f"must be one of {', '.join(ROLES)}")
    if not 1 <= len(name) <= 255:
        raise field_error("name", "give a name of 1 to 255 characters")
    storable_field("name", name)  # the API's rule: a control character (not only NUL)
    if expires_at is not None and expires_at <= utcnow():
        raise field_error("expires", "must be in the future")
    agency_id = None
    if agency_code is not None:
        if role in EVERY_AGENCY_ROLES:  # a key that could read nothing (audit)
            raise field_error("agency", f"{EVERY_AGENCY_ROLES[role]}: leave the agency out")
        agency = get_agency_by_code(session, agency_code)
        if agency is None:
            raise field_error("agency", f"no agency has the code '{agency_code}'")
        agency_id = agency.id
    key, raw = _new_key(session, name=name, role=role, agency_id=agency_id, expires_at=expires_at)
    detail: dict[str, Any] = {"role": role, "name": name, "agency": agency_code}
    record(
        session,
        actor,
        "key.create",
        f"api_key:{key.id}",
        {**detail, "expires_at": _stamp(expires_at), "from": None, "to": {"id": key.id}},
    )
    return key, raw


def list_keys(
    session: Session, principal: Principal | None, *, after: int = 0, limit: int = 100
) -> list[KeyRow]:
    """Keys by id, those after the id `after` (the cursor); `principal` None: the CLI."""
    query = (
        select(ApiKey, Agency.code)
        .join(Agency, ApiKey.agency_id == Agency.id, isouter=True)  # type: ignore[arg-type]
        .where(col(ApiKey.id) > after)
        .order_by(col(ApiKey.id))
        .limit(limit)
    )
    if principal is not None and principal.scope_path is not None:
        query = query.where(path_within(col(Agency.path), principal.scope_path))
    return [KeyRow(key, code) for key, code in session.exec(query).all()]


def _manageable(session: Session, key_id: int, principal: Principal | None) -> ApiKey:
    # One sentence for a key that does not exist and one beyond the caller's agencies: two
    # told a scoped admin walking the ids which keys other agencies hold (audit).
    # The listing in the caller's own words: the CLI's operator was sent to the API.
    listing = "`hailong keys list`" if principal is None else "`GET /api/v1/keys`"
    missing = f"No API key has the id {key_id}; {listing} lists the keys you manage."
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(missing)
    if principal is not None and principal.scope_path is not None:
        agency = session.get(Agency, key.agency_id) if key.agency_id is not None else None
        principal.require_visible(agency, missing)
    return key


def shown_as(actor: str, principal: Principal | None) -> str:
    """Who revoked a key, as the keys API shows it to admins of the key's agency: an
    official by name, not the mailbox the audit log keeps (Principal.signature). A
    province's official unpairing a ward's tablet handed their address to the ward's admin
    key (scope audit)."""
    return principal.signature if principal is not None else actor


def mark_revoked(session: Session, key: ApiKey, actor: str) -> None:
    """Revokes `key` (by `actor`, now, as `shown_as` names them): a Conflict naming who
    revoked it before, if anyone. The row is locked and read afresh first: two rotations of
    one key at once both found it live on PostgreSQL, and left two successors (and two
    audit records) (audit)."""
    session.refresh(key, with_for_update={"key_share": True})  # FOR NO KEY UPDATE
    if key.revoked_at is not None:
        raise Conflict(
            f"API key {key.id} was already revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC "
            f"by {key.revoked_by or 'an earlier version of hailong'}."
        )
    key.revoked_at = utcnow()
    key.revoked_by = actor
    session.add(key)


def revoke_key(
    session: Session, key_id: int, *, actor: str, principal: Principal | None = None
) -> ApiKey:
    """Revoke a key: every process refuses it within `auth_cache_seconds`."""
    key = _manageable(session, key_id, principal)
    mark_revoked(session, key, shown_as(actor, principal))
    record(
        session,
        actor,
        "key.revoke",
        f"api_key:{key_id}",
        {"from": {"revoked_at": None}, "to": {"revoked_at": _stamp(key.revoked_at)}},
    )
    return key


def rotate_key(
    session: Session, key_id: int, *, actor: str, principal: Principal | None = None
) -> tuple[ApiKey, str]:
    """Revoke a key and make its successor: same name, role, scope and expiry."""
    old = _manageable(session, key_id, principal)
    if old.role == "kiosk":
        raise Conflict(
            "A kiosk device key is replaced by pairing the tablet again (hailong kiosk pair)."
        )
    if old.revoked_at is None and old.expires_at is not None and old.expires_at <= utcnow():
        raise Conflict(
            f"API key {old.id} expired on {old.expires_at:%Y-%m-%d %H:%M} UTC; a successor "
            "would expire too: create a new key (hailong keys create --expires ...)."
        )
    mark_revoked(session, old, shown_as(actor, principal))
    new, raw = _new_key(
        session,
        name=old.name,
        role=old.role,
        agency_id=old.agency_id,
        expires_at=old.expires_at,
    )
    # The successor is the same portal: its webhook subscriptions go with it (a revoked
    # key's are sent nothing more, delivery/fan_out.py).
    moved = session.execute(
        update(WebhookSubscription)
        .where(col(WebhookSubscription.owner_key_id) == old.id)
        .values(owner_key_id=new.id)
    )
    detail: dict[str, Any] = {"from": {"id": old.id}, "to": {"id": new.id}}
    if rowcount(moved):
        detail["webhooks_moved"] = rowcount(moved)
    record(session, actor, "key.rotate", f"api_key:{old.id}", detail)
    return new, raw


def key_row(session: Session, key: ApiKey) -> KeyRow:
    agency = session.get(Agency, key.agency_id) if key.agency_id is not None else None
    return KeyRow(key, agency.code if agency is not None else None)
