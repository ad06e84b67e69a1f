"""Period inputs D and E, set by the competent authority; every change is audited."""

from __future__ import annotations

from sqlmodel import Session, select

from service.admin.audit import record
from service.admin.keys import Principal
from service.errors import field_error
from service.models import Agency, PeriodInput, utcnow
from service.scoring.periods import Period
from service.scoring.profile import Profile
from service.scoring.schemas import InputsUpdate
from service.webhooks import outbox


def set_inputs(
    session: Session,
    principal: Principal,
    agency: Agency,
    period: Period,
    update: InputsUpdate,
    profile: Profile,
) -> PeriodInput:
    principal.require_role("manager", "admin")
    principal.require_scope(agency)
    sent = update.model_fields_set
    if "d" in sent and update.d is not None and update.d > profile.k_score.d_max:
        raise field_error("d", f"must be between 0 and {profile.k_score.d_max:g}")
    row = session.exec(
        select(PeriodInput).where(
            PeriodInput.agency_id == agency.id, PeriodInput.period == period.key
        )
    ).first()
    assert agency.id is not None
    before = {"d": row.d, "e": row.e} if row else {"d": None, "e": None}
    if row is None:
        row = PeriodInput(agency_id=agency.id, period=period.key, set_by=principal.actor)
    if "d" in sent:
        row.d = update.d
    if "e" in sent:
        row.e = update.e
    if "note" in sent:
        row.note = update.note
    row.set_by, row.set_at = principal.actor, utcnow()
    session.add(row)
    record(
        session,
        principal.actor,
        "inputs.set",
        f"agency:{agency.code}:{period.key}",
        {"before": before, "after": {"d": row.d, "e": row.e}, "note": row.note},
    )
    outbox.mark_periods_dirty(session, [(agency.id, period.key)])
    session.flush()
    return row
