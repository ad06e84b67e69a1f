"""Writing new dossiers with their invitations: any number in one transaction.

The handover batch (batching.py) writes the new dossiers posted at about the same time
through here, and the one-by-one path (service.py) writes a single one the same way. The
rows are built as the models (service/models) and turned into rows of their tables
(db.row): a new column is written by both paths or by neither. Each table's rows go out
as one multi-row INSERT with the COMMIT (db.at_commit, SQLAlchemy's "insertmanyvalues"),
whatever their number, and nothing waits for an answer before it: the counters are summed
and upserted once, last (counters.apply).

A concurrent post of the same dossier code for the same agency fails the write on the
unique index (agency_id, code); a short code drawn twice fails it on the invitation's.
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
from service.calendar.working_days import local_date
from service.handovers import tokens
from service.handovers.schemas import HandoverCreate
from service.models import Agency, Dossier, Invitation, OutboxEvent, utcnow
from service.profile import Profile
from service.scoring import counters
from service.scoring.contributions import Delta, dossier_delta
from service.scoring.events import timeliness
from service.settings import Settings
from service.webhooks import outbox, payloads


@dataclass(frozen=True)
class NewHandover:
    """A new dossier to write: its payload, and the rows it names, already looked up."""

    payload: HandoverCreate
    agency: Agency
    staff_ids: Mapping[str, int]  # by staff code; every code of the payload is here
    counter_id: int | None


@dataclass(frozen=True)
class Written:
    """One dossier written, with its invitation and the link's token (never stored)."""

    dossier: Dossier
    invitation: Invitation
    token: str


def copy_facts(
    dossier: Dossier,
    payload: HandoverCreate,
    staff_ids: Mapping[str, int],
    counter_id: int | None,
    overrides: Callable[[], Mapping[date, bool]],
) -> None:
    """Copy a handover's facts onto its dossier (new or known), and derive what the scores
    need from them. `overrides`: the working-day calendar, only read for a late dossier."""
    p = payload
    dossier.procedure_code = p.procedure_code
    dossier.procedure_name = p.procedure_name
    dossier.received_at = p.received_at
    dossier.due_at = p.due_at
    dossier.resolved_at = p.resolved_at
    dossier.handed_over_at = p.handed_over_at
    dossier.supplement_requests = p.supplement_requests
    dossier.channel = p.channel
    staff = p.staff
    dossier.receiving_staff_id = staff_ids[staff.receiving] if staff.receiving else None
    dossier.handling_staff_id = staff_ids[staff.handling] if staff.handling else None
    dossier.returning_staff_id = staff_ids[staff.returning] if staff.returning else None
    dossier.counter_id = counter_id
    derived = timeliness(p.resolved_at, p.due_at, overrides)
    dossier.resolved_day = derived.resolved_day
    dossier.is_late = derived.is_late
    dossier.overdue_working_days = derived.overdue_working_days


def _short_codes(count: int) -> list[str]:
    """Distinct within the batch; a clash with a stored code fails the INSERT (the unique
    index), and the caller redoes the work."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(tokens.new_short_code())
    return list(codes)


def _invitation(
    language: str, short_code: str, settings: Settings, now: datetime
) -> tuple[Invitation, str]:
    """The invitation's row but its dossier_id (set by the INSERT), and its link's token."""
    seed = tokens.new_seed()
    token = tokens.token_from_seed(settings.signing_key(), seed)
    invitation = Invitation(
        public_id=str(uuid.uuid4()),
        dossier_id=0,  # the INSERT's subquery gives the real one
        token_seed=seed,
        token_hash=tokens.hash_token(token),
        short_code=short_code,
        language=language,
        status="issued",
        issued_at=now,
        expires_at=now + timedelta(days=settings.invitation_ttl_days),
    )
    return invitation, token


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any]:
    """Built once, from the tables. Nothing is read back, so that all go out with the
    COMMIT: an invitation finds its dossier by agency and code, its id unknown until then."""
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


def write(
    session: Session, handovers: Sequence[NewHandover], settings: Settings, profile: Profile
) -> list[Written]:
    """Write the dossiers, their invitations and events, and move the counters, all with
    the session's COMMIT (db.at_commit), one multi-row INSERT per table. The COMMIT raises
    IntegrityError when a dossier code or a short code was taken meanwhile; the caller then
    redoes the work. The models returned are not in the session and carry no ids."""
    if not handovers:
        return []
    now = utcnow()
    calendar: list[Mapping[date, bool]] = []

    def overrides() -> Mapping[date, bool]:  # read once, and only if a dossier is late
        if not calendar:
            calendar.append(load_overrides(session))
        return calendar[0]

    written: list[Written] = []
    dossier_rows, invitation_rows, event_rows = [], [], []
    change = Delta()
    for new, short_code in zip(handovers, _short_codes(len(handovers)), strict=True):
        assert new.agency.id is not None
        # The rest of the facts are set by copy_facts, which an update shares.
        dossier = Dossier(
            code=new.payload.dossier_code,
            agency_id=new.agency.id,
            resolved_at=new.payload.resolved_at,
            resolved_day=local_date(new.payload.resolved_at),
            created_at=now,
            updated_at=now,
        )
        copy_facts(dossier, new.payload, new.staff_ids, new.counter_id, overrides)
        invitation, token = _invitation(new.payload.language, short_code, settings, now)
        data = payloads.invitation_issued(
            invitation.public_id, dossier.code, new.agency.code, now, invitation.expires_at
        )
        event = outbox.event("invitation.issued", dossier.agency_id, data)
        dossier_rows.append(db.row(dossier))
        invitation_rows.append(
            {
                **db.row(invitation),
                "dossier_agency_id": dossier.agency_id,
                "dossier_code": dossier.code,
            }
        )
        event_rows.append(db.row(event))
        # A new dossier has no evaluation yet: its footprint is the dossier alone.
        change.add(dossier_delta(dossier, profile))
        written.append(Written(dossier, invitation, token))
    insert_dossiers, insert_invitations, insert_events = _statements()
    db.at_commit(session, insert_dossiers, dossier_rows)
    db.at_commit(session, insert_invitations, invitation_rows)
    db.at_commit(session, insert_events, event_rows)
    # Counters last (counters.apply): every handover of an agency and day updates the same
    # counter rows, so their row locks are taken just before the commit, once a batch.
    counters.apply(session, change)
    return written
