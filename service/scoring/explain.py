"""The rows behind a score, in the terms of the rules: what each dossier, evaluation and
petition of the period counted for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from service.calendar.working_days import LOCAL_TZ
from service.models import Agency, Dossier, Invitation, Petition, Response, utcnow
from service.models.petition_dossier import petitions_with_dossier_codes
from service.periods import Period
from service.profile import Profile
from service.scoring import contributions as rules
from service.scoring.schemas import (
    DossierRow,
    DossierRows,
    EvaluationRow,
    EvaluationRows,
    PetitionRow,
    PetitionRows,
)

BUCKET_NAMES = {
    "a_on_time": "on_time",
    "a_late_grace": "late_within_grace",
    "a_late_over": "late_over",
}


def formulas(profile: Profile) -> dict[str, str]:
    k, g5, p = profile.k_score, profile.group5, profile.petitions
    overdue_from = profile.supplements_overdue_from()
    open_rule = (
        "an open petition within its deadline is not counted yet"
        if p.open_within_deadline == "excluded"
        else "an open petition within its deadline counts as not handled on time"
    )
    if p.open_after_deadline == "late":
        open_rule += "; one still open past its deadline counts as handled late"
    whole = (
        "evaluations (one not answering the question: 0 points)"
        if k.unanswered_question == "zero_points"
        else "evaluations that answered the question"
    )
    # At the threshold itself K is satisfied or not as the profile says (compute.py), as
    # the rankings page words it: "above 20" told a portal a K of 20 was not (audit).
    threshold = f"{k.satisfied_threshold:g}"
    satisfied = (
        f"satisfied at {threshold} or above"
        if k.threshold_is_satisfied
        else f"satisfied above {threshold}"
    )
    # How a rate with nothing to divide by counts (compute.group5): without it, a ward with
    # no petitions read "6 × … for each of" three rates beside a group-5 score of 18 (audit).
    missing = (
        f"a rate with nothing to divide by is left out, and the others are scaled up to "
        f"{g5.maximum():g}"
        if g5.missing_rate_rule == "scale"
        else "a rate with nothing to divide by leaves the group without a score"
    )
    channel = (
        "petitions from the national petition system and survey comments asking for an answer"
        if p.survey_comments_are_petitions
        else "petitions from the national petition system only (survey comments do not count)"
    )
    return {
        "a": (
            f"(on time × {k.on_time_points} + late ≤ {k.late_zero_after_working_days} "
            f"working days × {k.late_within_grace_points}) ÷ dossiers resolved in the period"
            + (
                f"; {overdue_from}+ supplement requests count as overdue"
                if overdue_from is not None
                else ""
            )
        ),
        "b": (
            f"evaluations answering {' / '.join(profile.b_point_answers())} "
            f"(≤ {k.max_supplement_requests_for_point} supplement request(s)) "
            f"× {k.few_supplements_points:g} ÷ {whole}"
        ),
        "c": (
            f"evaluations rating the staff {' / '.join(profile.survey.good_attitude)} "
            f"× {k.good_attitude_points:g} ÷ {whole}"
        ),
        "d": f"imported D (0..{k.d_max:g}) if set, else group 5 (0..{g5.maximum():g})",
        "e": f"entered by the competent authority (0 or {k.e_max:g})",
        "group5": (
            f"{g5.points:g} × min(1, rate ÷ {g5.full_marks_rate:g}) for each of: "
            "petitions handled on time ÷ petitions within authority; "
            "petitions without an unsatisfied verdict, result complaint or late handling "
            "÷ petitions; dossiers without an unsatisfied evaluation, petition or "
            f"overdue ÷ dossiers; {missing}. Petitions: {channel}; {open_rule}"
        ),
        "k": f"A + B + C + D + E; {satisfied}",
    }


def received_in(model: type[Response | Petition], agency: Agency, period: Period) -> Any:
    """The agency's rows received in the period's local days (a WHERE clause's terms)."""
    start = datetime.combine(period.first_day, time(0), LOCAL_TZ)
    end = datetime.combine(period.last_day + timedelta(days=1), time(0), LOCAL_TZ)
    received = col(model.received_at)
    return (model.agency_id == agency.id, received >= start, received < end)


def count(session: Session, model: type[Dossier | Response | Petition], where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def resolved_dossiers(
    session: Session,
    agency: Agency,
    period: Period,
    limit: int,
    *also: ColumnElement[bool],
    skip: int = 0,
) -> tuple[int, Sequence[Dossier]]:
    """The agency's dossiers resolved in the period (and matching `also`), the most overdue
    first: how many there are, and `limit` of them after the first `skip`."""
    where = (
        col(Dossier.agency_id) == agency.id,
        col(Dossier.resolved_day).between(period.first_day, period.last_day),
        *also,
    )
    total = count(session, Dossier, where)
    found = session.exec(
        select(Dossier)
        .where(*where)
        .order_by(
            col(Dossier.overdue_working_days).desc(), col(Dossier.resolved_at), col(Dossier.id)
        )
        .offset(skip)
        .limit(limit)
    ).all()
    return total, found


def dossier_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, limit: int
) -> DossierRows:
    total, found = resolved_dossiers(session, agency, period, limit)
    rows = [
        DossierRow(
            dossier_code=d.code,
            resolved_at=d.resolved_at,
            due_at=d.due_at,
            overdue_working_days=d.overdue_working_days,
            bucket=BUCKET_NAMES[rules.a_bucket(d, profile)],
            points=rules.a_points(d, profile),
            counts_against_group5=rules.c_bad(d, profile),
        )
        for d in found
    ]
    return DossierRows(total=total, truncated=total > len(rows), rows=rows)


def evaluation_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, limit: int
) -> EvaluationRows:
    where = received_in(Response, agency, period)
    total = count(session, Response, where)
    found = session.exec(
        select(Response, Dossier.code)
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
        .where(*where)
        .order_by(col(Response.received_at))
        .limit(limit)
    ).all()
    rows = []
    worth = profile.k_score.maxima()
    for response, code in found:
        b_point, c_point = rules.b_point(response, profile), rules.c_point(response, profile)
        rows.append(
            EvaluationRow(
                dossier_code=code,
                received_at=response.received_at,
                supplement_requests=response.supplement_requests,
                b_point=b_point,
                b_points=None if b_point is None else b_point * worth["b"],
                staff_attitude=response.staff_attitude,
                c_point=c_point,
                c_points=None if c_point is None else c_point * worth["c"],
                overall=response.overall,
                unsatisfied=rules.is_unsatisfied(response, profile),
            )
        )
    return EvaluationRows(total=total, truncated=total > len(rows), rows=rows)


def petition_rows(
    session: Session,
    agency: Agency,
    period: Period,
    profile: Profile,
    limit: int,
    now: datetime | None = None,
) -> PetitionRows:
    """The period's petitions and feedback items, each as it counts at `now`: an open one is
    late once its deadline has passed, and not yet scored before (the profile's rules)."""
    now = now or utcnow()
    where = received_in(Petition, agency, period)
    total = count(session, Petition, where)
    found = session.exec(_petitions_with_dossier_codes(agency, where).limit(limit)).all()
    rows = [_petition_row(p, code, profile, now) for p, code in found]
    return PetitionRows(total=total, truncated=total > len(rows), rows=rows)


def late_petition_rows(
    session: Session, agency: Agency, period: Period, profile: Profile, limit: int, now: datetime
) -> tuple[list[PetitionRow], int]:
    """The period's petitions late at `now` that the score counts (at most `limit`, oldest
    first) and how many such there are. Every petition of the period is read, a few hundred
    at a time: the first `limit` petitions, late or not, missed the late ones received
    after them (the quarterly report listed none where the score counted two; audit). An
    open one past its deadline is in only where the profile counts it so (petition_scored:
    the report listed petitions its K left out; audit)."""
    where = received_in(Petition, agency, period)
    found = session.exec(
        _petitions_with_dossier_codes(agency, where).execution_options(yield_per=500)
    )
    late: list[PetitionRow] = []
    total = 0
    for petition, code in found:
        late_now = rules.petition_state(petition, now) == "late"
        if not late_now or not rules.petition_scored(petition, profile, now):
            continue
        total += 1
        if len(late) < limit:  # a row built only for what is listed
            late.append(_petition_row(petition, code, profile, now))
    return late, total


def _petitions_with_dossier_codes(agency: Agency, where: Any) -> Any:
    return (
        petitions_with_dossier_codes(agency)
        .where(*where)
        .order_by(col(Petition.received_at), col(Petition.id))
    )


def _petition_row(
    petition: Petition, code: str | None, profile: Profile, now: datetime
) -> PetitionRow:
    return PetitionRow(
        petition_code=petition.code,
        dossier_code=code,
        received_at=petition.received_at,
        deadline_at=petition.deadline_at,
        handled_at=petition.handled_at,
        within_authority=petition.within_authority,
        handled_on_time=petition.handled_on_time,
        kind=petition.kind,
        state=rules.petition_state(petition, now),
        counts_in_group5=rules.counts_in_group5(petition, profile),
        scored=rules.petition_scored(petition, profile, now),
        counts_against_group5=rules.petition_against_group5(petition, profile, now),
    )
