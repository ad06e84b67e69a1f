"""Writing new dossiers with their invitations: any number in one transaction.

The handover batch (batching.py) writes the new dossiers posted at about the same time
through here, and the one-by-one path (service.py) writes a single one the same way. The
rows are plain dicts (building ORM objects cost more than their INSERTs: py-spy), checked
against their tables' columns (db.check_row), and a handover's columns are set by one
function, `facts`, for a new dossier and a known one alike. Each table's rows go out
as one multi-row INSERT with the COMMIT (db.at_commit, SQLAlchemy's "insertmanyvalues"),
whatever their number, and nothing waits for an answer before it: the counters are summed
and upserted once, last (counters.apply).

A concurrent post of the same dossier code for the same agency fails the write on the
unique index (agency_id, code); a short code drawn twice fails it on the invitation's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from service import db
from service.calendar.overrides import calendar_for_lateness
from service.handovers import tokens
from service.handovers.schemas import HandoverCreate
from service.messaging import outbox as messages
from service.messaging.schemas import MessagePublic
from service.models import Agency, Dossier, Invitation, utcnow
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
    """One dossier written, as the rows stored, with its link's token (never stored)."""

    dossier: dict[str, Any]
    invitation: dict[str, Any]
    token: str
    messages: list[MessagePublic] = field(default_factory=list)  # planned by message


def facts(
    payload: HandoverCreate,
    staff_ids: Mapping[str, int],
    counter_id: int | None,
    overrides: Callable[[], Mapping[date, bool]],
) -> dict[str, Any]:
    """The dossier columns a handover sets, new or known, with what the scores derive from
    them. `overrides`: the working-day calendar, only read for a late dossier."""
    p, staff = payload, payload.staff
    derived = timeliness(p.resolved_at, p.due_at, overrides)
    return {
        "procedure_code": p.procedure_code,
        "procedure_name": p.procedure_name,
        "received_at": p.received_at,
        "due_at": p.due_at,
        "resolved_at": p.resolved_at,
        "handed_over_at": p.handed_over_at,
        "supplement_requests": p.supplement_requests,
        "channel": p.channel,
        "receiving_staff_id": staff_ids[staff.receiving] if staff.receiving else None,
        "handling_staff_id": staff_ids[staff.handling] if staff.handling else None,
        "returning_staff_id": staff_ids[staff.returning] if staff.returning else None,
        "counter_id": counter_id,
        "resolved_day": derived.resolved_day,
        "is_late": derived.is_late,
        "overdue_working_days": derived.overdue_working_days,
    }


def _short_codes(count: int) -> list[str]:
    """Distinct within the batch; a clash with a stored code fails the INSERT (the unique
    index), and the caller redoes the work."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(tokens.new_short_code())
    return list(codes)


def _invitation(
    dossier: Mapping[str, Any], language: str, short_code: str, settings: Settings, now: datetime
) -> tuple[dict[str, Any], str]:
    """The invitation's row (its dossier named by agency and code, for the INSERT's
    subquery) and its link's token."""
    seed = tokens.new_seed()
    token = tokens.token_from_seed(settings.signing_key(), seed)
    row = {
        "public_id": str(uuid.uuid4()),
        "token_seed": seed,
        "token_hash": tokens.hash_token(token),
        "short_code": short_code,
        "language": language,
        "status": "issued",
        "issued_at": now,
        "expires_at": now + timedelta(days=settings.invitation_ttl_days),
        "opened_at": None,
        "answered_at": None,
        "revoked_at": None,
    }
    db.check_row(Invitation, row, leave_out={"id", "dossier_id"})
    return {
        **row,
        "dossier_agency_id": dossier["agency_id"],
        "dossier_code": dossier["code"],
    }, token


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
        outbox.insert_event(),
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
    overrides = cache(lambda: calendar_for_lateness(session))  # once, if a dossier is late

    written: list[Written] = []
    change = Delta()
    for new, short_code in zip(handovers, _short_codes(len(handovers)), strict=True):
        assert new.agency.id is not None
        dossier = {
            "code": new.payload.dossier_code,
            "agency_id": new.agency.id,
            **facts(new.payload, new.staff_ids, new.counter_id, overrides),
            "has_unsatisfied_evaluation": False,
            "has_petition": False,
            "created_at": now,
            "updated_at": now,
        }
        db.check_row(Dossier, dossier)
        invitation, token = _invitation(dossier, new.payload.language, short_code, settings, now)
        # A new dossier has no evaluation yet: its footprint is the dossier alone.
        change.add(dossier_delta(SimpleNamespace(**dossier), profile))
        written.append(Written(dossier, invitation, token))
    events = [
        outbox.event_row(
            "invitation.issued",
            w.dossier["agency_id"],
            payloads.invitation_issued(
                w.invitation["public_id"],
                w.dossier["code"],
                new.agency.code,
                now,
                w.invitation["expires_at"],
            ),
            now,
        )
        for new, w in zip(handovers, written, strict=True)
    ]
    insert_dossiers, insert_invitations, insert_events = _statements()
    db.at_commit(session, insert_dossiers, [w.dossier for w in written])
    db.at_commit(session, insert_invitations, [w.invitation for w in written])
    # The contact and its messages in the same transaction, after their invitations.
    planned = messages.write(
        session,
        settings,
        [
            messages.ForInvitation(
                w.invitation["token_hash"], w.dossier["agency_id"], n.payload.contact
            )
            for n, w in zip(handovers, written, strict=True)
        ],
        now,
    )
    for w, answer in zip(written, planned, strict=True):
        w.messages.extend(answer)
    db.at_commit(session, insert_events, events)
    # Counters last (counters.apply): every handover of an agency and day updates the same
    # counter rows, so their row locks are taken just before the commit, once a batch.
    counters.apply(session, change)
    return written
