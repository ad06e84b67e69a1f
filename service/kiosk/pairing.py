"""Pairing a tablet with a counter: a one-time code becomes a device key bound to it.

An admin or a manager of the agency creates a code for a counter; the tablet sends the code
once and receives a `kiosk` API key with the counter's id on it, which it keeps in an
httpOnly cookie. Unpairing revokes that key, so the device is signed out at its next call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code
from service.admin.keys import mark_revoked, shown_as
from service.audit import record
from service.auth.keys import hash_key, new_key_material, standing_principal
from service.auth.officials import official_principal
from service.auth.principal import Principal
from service.auth.roles import MANAGERS
from service.db import rowcount
from service.errors import Conflict, NotFound, Unauthorized, field_error
from service.handovers.schemas import Code
from service.handovers.tokens import SHORT_CODE_ALPHABET, normalize_short_code
from service.models import MAX_ROW_ID, Agency, ApiKey, Counter, KioskPairing, utcnow
from service.models.agency import path_within

CODE_LENGTH = 8
# Who may make a pairing code (the API's and the console's rule), and so still redeem one.


class PairingCodeInvalid(Unauthorized):
    code = "pairing_code_invalid"


@dataclass(frozen=True)
class NewPairing:
    code: str  # shown once, formatted "ABCD-EFGH"
    expires_at: datetime
    agency: Agency
    counter: Counter


@dataclass(frozen=True)
class Device:
    key: ApiKey
    counter: Counter
    agency: Agency


# The counter code as handovers and POST /api/v1/kiosk/pairings take it (`Code`).
COUNTER_CODE = TypeAdapter(Code)


def checked_counter_code(typed: str) -> str:
    """A counter code typed in the console or the CLI, trimmed, by the API's rule: a counter
    a handover named "Quầy 1" pairs there too, and a blank, a NUL or 65 characters is an
    InvalidInput naming counter_code (not a blank counter, nor PostgreSQL's DataError)."""
    try:
        return COUNTER_CODE.validate_python(typed.strip())
    except ValidationError as exc:
        problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise field_error("counter_code", problem) from None


def _hash_code(code: str) -> str:
    return hashlib.sha256(b"kiosk-pairing:" + normalize_short_code(code).encode()).hexdigest()


def _counter(session: Session, agency: Agency, counter_code: str, *, create: bool) -> Counter:
    counter = session.exec(
        select(Counter).where(Counter.agency_id == agency.id, Counter.code == counter_code)
    ).first()
    if counter is None:
        if not create:
            raise NotFound(f"Agency '{agency.code}' has no counter '{counter_code}'.")
        assert agency.id is not None
        counter = Counter(agency_id=agency.id, code=counter_code)
        session.add(counter)
        session.flush()
    return counter


def create_pairing(
    session: Session,
    *,
    agency_code: str,
    counter_code: str,
    actor: str,
    principal: Principal | None,
    minutes: int,
) -> NewPairing:
    """A new code for a counter (created if the agency has no such counter yet)."""
    agency = get_agency_by_code(session, agency_code)
    if agency is None:
        raise field_error("agency_code", f"no agency has the code '{agency_code}'")
    if principal is not None:
        principal.require_scope(agency)
    counter = _counter(session, agency, counter_code, create=True)
    assert counter.id is not None
    code = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(CODE_LENGTH))
    pairing = KioskPairing(
        counter_id=counter.id,
        code_hash=_hash_code(code),
        created_by=actor,
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    session.add(pairing)
    session.flush()
    record(
        session,
        actor,
        "kiosk.pairing_code",
        f"counter:{counter.id}",
        {"agency": agency.code, "counter": counter.code},
    )
    return NewPairing(f"{code[:4]}-{code[4:]}", pairing.expires_at, agency, counter)


def _maker_still_may(session: Session, created_by: str, agency: Agency) -> bool:
    """Whether the key or official that made a code (its actor text, Principal.actor) may
    still make one for this agency, as it stands now: a leaked manager key, revoked as soon
    as the leak was seen, still paired a tablet with its unused code, one that receives
    every survey handed over at that counter and that no revocation of the key reaches
    (operations audit); so did an official moved to another ward or made an auditor, and a
    manager's code for a ward moved out of their tree since (scope audit). The CLI's codes
    and actors of another shape are taken as made."""
    kind, _, rest = created_by.partition(":")
    number = rest.partition(":")[0]
    if not number.isdecimal() or not 1 <= int(number) <= MAX_ROW_ID:
        return True
    if kind == "key":
        maker = standing_principal(session, int(number))
    elif kind == "official":
        maker = official_principal(session, int(number))
    else:
        return True
    return maker is not None and maker.role in MANAGERS and maker.can_see(agency)


def redeem(session: Session, typed_code: str) -> tuple[Device, str]:
    """Exchange a valid, unused code for a new device key; returns the device and the key."""
    if len(normalize_short_code(typed_code)) != CODE_LENGTH:
        raise PairingCodeInvalid("A pairing code has 8 letters and digits, like 7KQ4-M2XD.")
    pairing = session.exec(
        select(KioskPairing).where(KioskPairing.code_hash == _hash_code(typed_code))
    ).first()
    now = utcnow()
    if pairing is None or pairing.expires_at <= now:
        raise PairingCodeInvalid(
            "This pairing code is unknown or has expired. Ask for a new one in the console."
        )
    counter = session.get(Counter, pairing.counter_id)
    assert counter is not None and counter.id is not None
    agency = session.get(Agency, counter.agency_id)
    assert agency is not None
    if not _maker_still_may(session, pairing.created_by, agency):
        raise PairingCodeInvalid(
            "This pairing code was made with a key since revoked, or by someone who no "
            "longer manages this counter's agency. Ask for a new one in the console."
        )
    # Claimed by a conditional UPDATE, not by the read above: of two tablets sending the
    # same code at once, the second waits on the row and then finds it used.
    claimed = session.execute(
        update(KioskPairing)
        .where(col(KioskPairing.id) == pairing.id, col(KioskPairing.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise PairingCodeInvalid("This pairing code was already used. Ask for a new one.")
    made = new_key_material()
    key = ApiKey(
        name=f"kiosk {agency.code}/{counter.code}",
        role="kiosk",
        agency_id=agency.id,
        counter_id=counter.id,
        key_hash=made.hash,
        prefix=made.prefix,
    )
    session.add(key)
    session.flush()
    pairing.used_at, pairing.api_key_id = now, key.id
    session.add(pairing)
    record(session, "kiosk", "kiosk.pair", f"api_key:{key.id}", {"counter": counter.code})
    return Device(key, counter, agency), made.raw


def _devices() -> Any:
    """Kiosk keys with their counter and agency: every device query starts here."""
    return (
        select(ApiKey, Counter, Agency)
        .join(Counter, col(ApiKey.counter_id) == col(Counter.id))
        .join(Agency, col(Counter.agency_id) == col(Agency.id))
        .where(ApiKey.role == "kiosk")
    )


def device_for_key(session: Session, raw_key: str) -> Device | None:
    """The paired device behind a key, or None (unknown, revoked, or not a kiosk's key)."""
    row = session.exec(_devices().where(ApiKey.key_hash == hash_key(raw_key))).first()
    if row is None or row[0].revoked_at is not None:
        return None
    return Device(*row)


def find_device(session: Session, key_id: int) -> Device | None:
    """A device by its key id, paired or already unpaired."""
    if not 1 <= key_id <= MAX_ROW_ID:  # no row has it; PostgreSQL refused the query
        return None
    row = session.exec(_devices().where(ApiKey.id == key_id)).first()
    return Device(*row) if row is not None else None


def list_devices(session: Session, scope_path: str | None) -> list[Device]:
    query = _devices().where(col(ApiKey.revoked_at).is_(None))
    if scope_path is not None:
        query = query.where(path_within(col(Agency.path), scope_path))
    query = query.order_by(col(Agency.code), col(Counter.code), col(ApiKey.id))
    return [Device(*row) for row in session.exec(query)]


class AlreadyUnpaired(Conflict):
    """A 409 "conflict", as any: the console names it (a double-pressed button)."""


def unpair(session: Session, key_id: int, *, actor: str, principal: Principal | None) -> Device:
    device = find_device(session, key_id)
    missing = f"No paired kiosk has the id {key_id}."
    if device is None:
        raise NotFound(missing)
    if principal is not None:
        principal.require_visible(device.agency, missing)
    if device.key.revoked_at is not None:
        raise AlreadyUnpaired(f"Kiosk {key_id} is already unpaired.")
    # As `keys revoke` does: GET /api/v1/keys then says who unpaired it.
    mark_revoked(session, device.key, shown_as(actor, principal))
    record(session, actor, "kiosk.unpair", f"api_key:{key_id}", {"counter": device.counter.code})
    return device
