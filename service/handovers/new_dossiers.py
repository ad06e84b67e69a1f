"""Writing new dossiers with their invitations: any number in one transaction, no ORM.

The handover batch (batching.py) writes the new dossiers posted at about the same time
through here, and the one-by-one path (service.py) writes a single one the same way. Rows
are plain dicts and the statements are Core INSERTs built once: building an ORM object
costs more than running its INSERT, and on the hot path that was most of the time.

Per transaction, whatever the number of dossiers: the dossiers, their invitations and
events, one upsert of the summed counter changes and the score markers, all sent with the
COMMIT (db.at_commit). On PostgreSQL that is ONE statement (postgres_rows.py); on SQLite
an executemany per table. A concurrent post of the same dossier code for the same agency
fails the write on the unique index (agency_id, code).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from service import db
from service.calendar.overrides import load_overrides
from service.handovers import postgres_rows, tokens
from service.handovers.schemas import HandoverCreate
from service.models import Agency, Dossier, Invitation, OutboxEvent, utcnow
from service.scoring import counters
from service.scoring.contributions import Delta, dossier_delta
from service.scoring.events import timeliness
from service.scoring.profile import Profile
from service.settings import Settings
from service.webhooks import outbox, payloads


@dataclass(frozen=True)
class NewHandover:
    """A new dossier to write: its payload, and the rows it names, already looked up."""

    payload: HandoverCreate
    agency: Agency
    staff_ids: Mapping[str, int]  # by staff code; every code of the payload is here
    counter_id: int | None


@dataclass
class DossierRow:
    """The dossier table's columns but `id`; it also serves as the facts its counters read
    (contributions.DossierFacts)."""

    code: str
    agency_id: int
    procedure_code: str | None
    procedure_name: str | None
    received_at: datetime | None
    due_at: datetime | None
    resolved_at: datetime
    handed_over_at: datetime | None
    supplement_requests: int
    channel: str | None
    receiving_staff_id: int | None
    handling_staff_id: int | None
    returning_staff_id: int | None
    counter_id: int | None
    resolved_day: date
    is_late: bool
    overdue_working_days: int
    has_unsatisfied_evaluation: bool
    has_petition: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Written:
    """One dossier written, with what its answer needs (the token is never stored)."""

    dossier: DossierRow
    # The invitation's row, `dossier_agency_id` and `dossier_code` for its dossier_id.
    invitation: dict[str, Any]
    token: str


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any]:
    """Built once. None returns anything, so that all go out with the COMMIT: the
    invitation finds its dossier by agency and code, the id being unknown until then."""
    dossier = Dossier.__table__  # type: ignore[attr-defined]
    dossier_id = select(dossier.c.id).where(
        dossier.c.agency_id == bindparam("dossier_agency_id"),
        dossier.c.code == bindparam("dossier_code"),
    )
    return (
        insert(dossier).inline(),
        insert(Invitation.__table__).values(dossier_id=dossier_id.scalar_subquery()).inline(),  # type: ignore[attr-defined]
        insert(OutboxEvent.__table__).inline(),  # type: ignore[attr-defined]
    )


def _staff_id(new: NewHandover, code: str | None) -> int | None:
    return new.staff_ids[code] if code else None


def _dossier_row(
    new: NewHandover, now: datetime, overrides: Callable[[], Mapping[date, bool]]
) -> DossierRow:
    p = new.payload
    assert new.agency.id is not None
    derived = timeliness(p.resolved_at, p.due_at, overrides)
    return DossierRow(
        code=p.dossier_code,
        agency_id=new.agency.id,
        procedure_code=p.procedure_code,
        procedure_name=p.procedure_name,
        received_at=p.received_at,
        due_at=p.due_at,
        resolved_at=p.resolved_at,
        handed_over_at=p.handed_over_at,
        supplement_requests=p.supplement_requests,
        channel=p.channel,
        receiving_staff_id=_staff_id(new, p.staff.receiving),
        handling_staff_id=_staff_id(new, p.staff.handling),
        returning_staff_id=_staff_id(new, p.staff.returning),
        counter_id=new.counter_id,
        resolved_day=derived.resolved_day,
        is_late=derived.is_late,
        overdue_working_days=derived.overdue_working_days,
        has_unsatisfied_evaluation=False,
        has_petition=False,
        created_at=now,
        updated_at=now,
    )


def _short_codes(count: int) -> list[str]:
    """Distinct within the batch; a clash with a stored code fails the COMMIT (the unique
    index), and the caller redoes the work."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(tokens.new_short_code())
    return list(codes)


def write(
    session: Session, handovers: Sequence[NewHandover], settings: Settings, profile: Profile
) -> list[Written]:
    """Write the dossiers, their invitations and events, and move the counters, with the
    session's COMMIT (db.at_commit): one statement on PostgreSQL. The COMMIT raises
    IntegrityError when a dossier code or a short code was taken meanwhile."""
    if not handovers:
        return []
    now = utcnow()
    calendar: list[Mapping[date, bool]] = []

    def overrides() -> Mapping[date, bool]:  # read once, and only if a dossier is late
        if not calendar:
            calendar.append(load_overrides(session))
        return calendar[0]

    dossiers = [_dossier_row(new, now, overrides) for new in handovers]
    expires_at = now + timedelta(days=settings.invitation_ttl_days)
    signing_key = settings.signing_key()
    written: list[Written] = []
    events: list[dict[str, Any]] = []
    change = Delta()
    for new, dossier, short_code in zip(
        handovers, dossiers, _short_codes(len(handovers)), strict=True
    ):
        seed = tokens.new_seed()
        token = tokens.token_from_seed(signing_key, seed)
        survey_id = str(uuid.uuid4())
        invitation = {
            "public_id": survey_id,
            "dossier_code": dossier.code,
            "dossier_agency_id": dossier.agency_id,
            "token_seed": seed,
            "token_hash": tokens.hash_token(token),
            "short_code": short_code,
            "language": new.payload.language,
            "status": "issued",
            "issued_at": now,
            "expires_at": expires_at,
            "opened_at": None,
            "answered_at": None,
            "revoked_at": None,
        }
        data = payloads.invitation_issued(survey_id, dossier.code, new.agency.code, now, expires_at)
        events.append(outbox.event_row("invitation.issued", dossier.agency_id, data, now))
        # A new dossier has no evaluation yet: its footprint is the dossier alone.
        change.add(dossier_delta(dossier, profile))
        written.append(Written(dossier, invitation, token))
    if session.get_bind().dialect.name == "postgresql":
        # Everything in one statement, counters and markers included (postgres_rows.py).
        statement, params = postgres_rows.insert_all(
            [d.__dict__ for d in dossiers], [w.invitation for w in written], events, change, now
        )
        db.at_commit(session, statement, params)
        return written
    insert_dossiers, insert_invitations, insert_events = _statements()
    db.at_commit(session, insert_dossiers, [dossier.__dict__ for dossier in dossiers])
    db.at_commit(session, insert_invitations, [w.invitation for w in written])
    db.at_commit(session, insert_events, events)
    # Counters last (counters.apply): every handover of an agency and day updates the same
    # counter rows, so their row locks are taken just before the commit, once a batch.
    counters.apply(session, change)
    return written
