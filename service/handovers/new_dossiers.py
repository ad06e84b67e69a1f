"""Writing new dossiers with their invitations: any number in one transaction.

The handover batch (batching.py) writes the new dossiers posted at about the same time
through here, and the one-by-one path (service.py) writes a single one the same way. The
rows are the models themselves (service/models): a new column is written by both paths or
by neither. The ORM sends each table's rows as one multi-row INSERT ... RETURNING (its
"insertmanyvalues"), whatever their number; the counters are summed and upserted once,
just before the COMMIT (counters.apply).

A concurrent post of the same dossier code for the same agency fails the write on the
unique index (agency_id, code); a short code drawn twice fails it on the invitation's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from service.calendar.overrides import load_overrides
from service.calendar.working_days import local_date
from service.handovers import tokens
from service.handovers.schemas import HandoverCreate
from service.models import Agency, Dossier, Invitation, utcnow
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
    dossier: Dossier, language: str, short_code: str, settings: Settings, now: datetime
) -> tuple[Invitation, str]:
    assert dossier.id is not None
    seed = tokens.new_seed()
    token = tokens.token_from_seed(settings.signing_key(), seed)
    invitation = Invitation(
        public_id=str(uuid.uuid4()),
        dossier_id=dossier.id,
        token_seed=seed,
        token_hash=tokens.hash_token(token),
        short_code=short_code,
        language=language,
        status="issued",
        issued_at=now,
        expires_at=now + timedelta(days=settings.invitation_ttl_days),
    )
    return invitation, token


def write(
    session: Session, handovers: Sequence[NewHandover], settings: Settings, profile: Profile
) -> list[Written]:
    """Write the dossiers, their invitations and events, and move the counters (with the
    COMMIT). Raises IntegrityError when a dossier code or a short code was taken meanwhile;
    the caller's transaction is then to be rolled back and redone."""
    if not handovers:
        return []
    now = utcnow()
    calendar: list[Mapping[date, bool]] = []

    def overrides() -> Mapping[date, bool]:  # read once, and only if a dossier is late
        if not calendar:
            calendar.append(load_overrides(session))
        return calendar[0]

    dossiers = []
    for new in handovers:
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
        dossiers.append(dossier)
    session.add_all(dossiers)
    session.flush()  # their ids, for the invitations
    written: list[Written] = []
    change = Delta()
    for new, dossier, short_code in zip(
        handovers, dossiers, _short_codes(len(handovers)), strict=True
    ):
        invitation, token = _invitation(dossier, new.payload.language, short_code, settings, now)
        session.add(invitation)
        data = payloads.invitation_issued(
            invitation.public_id, dossier.code, new.agency.code, now, invitation.expires_at
        )
        outbox.emit(session, "invitation.issued", dossier.agency_id, data)
        # A new dossier has no evaluation yet: its footprint is the dossier alone.
        change.add(dossier_delta(dossier, profile))
        written.append(Written(dossier, invitation, token))
    counters.apply(session, change)
    return written
