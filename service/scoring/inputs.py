"""Period inputs D and E, set by the competent authority; every change is audited."""

from __future__ import annotations

from sqlmodel import Session, select

from service.audit import record
from service.auth.principal import Principal
from service.errors import Forbidden, field_error
from service.models import Agency, PeriodInput, utcnow
from service.periods import Period, refuse_unbegun
from service.profile import Profile
from service.score_markers import mark_periods_dirty
from service.scoring.schemas import InputsUpdate, Tt01Entered
from service.scoring.tt01_read import periods_reading_entered

NOBODY: tuple[None, None] = (None, None)


def is_competent(principal: Principal, agency: Agency) -> bool:
    """The competent authority for an agency's D and E (104/2024 art. 5.3, 7.3): an admin
    or a manager whose scope lies strictly above the agency (unscoped, the province's, above
    every agency). Never the agency itself: neither its own manager nor an admin key limited
    to it (DESIGN.md)."""
    return principal.role in ("manager", "admin") and principal.placed_above(agency)


def require_competent(principal: Principal, agency: Agency) -> None:
    principal.require_role("manager", "admin")
    principal.require_scope(agency)
    if not is_competent(principal, agency):
        raise Forbidden(
            f"D and E of agency '{agency.code}' are entered by the competent authority: an "
            "admin or a manager of an agency above it. Your key is the agency's own; you "
            "can read its scores but not set them."
        )


def set_inputs(
    session: Session,
    principal: Principal,
    agency: Agency,
    period: Period,
    update: InputsUpdate,
    profile: Profile,
) -> PeriodInput:
    require_competent(principal, agency)
    refuse_unbegun(
        period, "enter its inputs once it has begun, or choose the current or a past period"
    )
    sent = update.model_fields_set
    k = profile.k_score
    if "d" in sent and update.d is not None and update.d > k.d_max:
        raise field_error("d", f"must be between 0 and {k.d_max:g}")
    if "e" in sent and update.e is not None and update.e not in (0, k.e_max):
        raise field_error("e", f"must be 0 or {k.e_max:g}")
    row = session.exec(
        select(PeriodInput).where(
            PeriodInput.agency_id == agency.id, PeriodInput.period == period.key
        )
    ).first()
    assert agency.id is not None
    before = _values(row) if row else {"d": None, "e": None, "note": None}
    if row is None:
        row = PeriodInput(agency_id=agency.id, period=period.key, set_by=principal.signature)
    now = utcnow()
    # Who entered a value and when changes with the value only: the console's form sends D
    # back whenever E is saved, and named the official who picked E as D's (console audit).
    de_or_note = False  # whether D, E or the note changes
    if "d" in sent and update.d != row.d:
        row.d, de_or_note = update.d, True
        row.d_set_by, row.d_set_at = (principal.signature, now) if update.d is not None else NOBODY
    if "e" in sent and update.e != row.e:
        row.e, de_or_note = update.e, True
        row.e_set_by, row.e_set_at = (principal.signature, now) if update.e is not None else NOBODY
    if "note" in sent and update.note != row.note:
        row.note, de_or_note = update.note, True
    if update.indicators:
        row.indicators = _entered(row.indicators, update.indicators, profile)
        row.indicators_set_by, row.indicators_set_at = principal.signature, now
    # set_by/set_at: the last change to D, E or the note, which the console's D/E card names.
    # TT 01/2018's indicators keep their own: saving them named their official as D's and
    # E's last editor, even where neither was entered (audit).
    if de_or_note:
        row.set_by, row.set_at = principal.signature, now
    session.add(row)
    record(
        session,
        principal.actor,
        "inputs.set",
        f"agency:{agency.code}:{period.key}",
        {"before": before, "after": _values(row), "note": row.note},
    )
    # K's D and E are the period's own; TT 01's indicators reach the periods that read them.
    changed = [period]
    if update.indicators and profile.also is not None:
        changed = periods_reading_entered(period, profile.also)
    mark_periods_dirty(session, [(agency.id, p.key) for p in changed])
    session.flush()
    return row


def _values(row: PeriodInput) -> dict[str, object]:
    # The note too: it cites the document D and E come from, and a changed one kept only
    # the new text (audit).
    values: dict[str, object] = {"d": row.d, "e": row.e, "note": row.note}
    if row.indicators:
        values["indicators"] = dict(row.indicators)
    return values


def _entered(
    stored: dict[str, int] | None, sent: dict[Tt01Entered, int | None], profile: Profile
) -> dict[str, int] | None:
    """TT 01/2018's entered indicators after the update (a new dict: the column is JSON, and
    only a new value is seen as a change)."""
    if profile.also is None:
        raise field_error(
            "indicators",
            "are TT 01/2018's; this service computes no TT 01/2018 profile "
            "(HAILONG_SCORING_PROFILE_ALSO)",
        )
    limit = profile.also.max_points
    values = dict(stored or {})
    for key, value in sent.items():
        if value is None:
            values.pop(key, None)
        elif not 0 <= value <= limit:
            raise field_error(f"indicators.{key}", f"must be between 0 and {limit}")
        else:
            values[key] = value
    return values or None
