"""What the console reads: an agency's scores over periods, the dossiers that cost points,
and the evaluations' complaints. The petitions inbox is in petitions.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service.models import Agency, Dossier, Invitation, PeriodInput, Petition, Response
from service.periods import Period
from service.profile import Profile
from service.scoring import contributions as rules
from service.scoring.compute import exact
from service.scoring.explain import count, received_in, resolved_dossiers
from service.scoring.service import Scored, scored
from service.scoring.sql_rules import c_bad
from service.timebounds import EARLIEST_DAY

HISTORY_PERIODS = 4  # the chosen period and the three before it
LIST_LIMIT = 200


@dataclass
class Overview:
    """Each score with its exact fractions (`Scored.computed`): the page prints those, never
    the API's floats, of which a K a hair under the threshold reads as it (audit)."""

    score: Scored
    history: list[Scored]
    # The period's D, E and note; None while none of them is entered (a row holding only
    # TT 01/2018's indicators: its card says "not entered", not who saved those, audit).
    inputs: PeriodInput | None
    d_entered: Fraction | None  # the D entered, exactly as `inputs.d` was written
    children: list[Scored]


def overview(session: Session, agency: Agency, period: Period, profile: Profile) -> Overview:
    periods = [period]
    while len(periods) < HISTORY_PERIODS and periods[-1].first_day > EARLIEST_DAY:
        periods.append(periods[-1].previous())
    history = [scored(session, [agency], p, profile)[0] for p in periods]
    children = list(
        session.exec(
            select(Agency).where(Agency.parent_id == agency.id).order_by(col(Agency.code))
        ).all()
    )
    inputs = session.exec(
        select(PeriodInput).where(
            PeriodInput.agency_id == agency.id, PeriodInput.period == period.key
        )
    ).first()
    if inputs is not None and inputs.d is None and inputs.e is None and inputs.note is None:
        inputs = None
    return Overview(
        score=history[0],
        history=history,
        inputs=inputs,
        d_entered=exact(inputs.d) if inputs is not None and inputs.d is not None else None,
        children=scored(session, children, period, profile) if children else [],
    )


@dataclass
class CostlyDossier:
    code: str
    procedure_name: str | None
    due_at: datetime | None
    resolved_at: datetime
    overdue_working_days: int
    a_points: float
    reasons: list[str]  # late, supplements, unsatisfied, petition


def costly_dossiers(
    session: Session, agency: Agency, period: Period, profile: Profile, page: int = 1
) -> tuple[list[CostlyDossier], int]:
    """Dossiers resolved in the period that lost A points or count against group 5 c,
    LIST_LIMIT a page."""
    # Late (A's points lost, or some of them) or against group 5's c (which holds the rest).
    costs = or_(col(Dossier.is_late).is_(True), c_bad(profile))
    skip = (page - 1) * LIST_LIMIT
    total, found = resolved_dossiers(session, agency, period, LIST_LIMIT, costs, skip=skip)
    rows = []
    for dossier in found:
        reasons = []
        if dossier.is_late:
            reasons.append("late")
        if rules.supplements_overdue(dossier, profile):
            reasons.append("supplements")
        if dossier.has_unsatisfied_evaluation:
            reasons.append("unsatisfied")
        if dossier.has_petition:
            reasons.append("petition")
        rows.append(
            CostlyDossier(
                code=dossier.code,
                procedure_name=dossier.procedure_name,
                due_at=dossier.due_at,
                resolved_at=dossier.resolved_at,
                overdue_working_days=dossier.overdue_working_days,
                a_points=rules.a_points(dossier, profile),
                reasons=reasons,
            )
        )
    return rows, total


@dataclass
class ComplaintRow:
    received_at: datetime
    dossier_code: str
    text: str
    petition_id: int | None
    answered: bool
    # The petition's kind: "comment" when the citizen asked for no answer (the link says
    # so, not "Trả lời phản ánh"), "petition" when an answer is due.
    kind: str | None
    # The language the citizen wrote in (the answer's, else the survey's for answers stored
    # before it was kept): the text is read out with its rules (WCAG 3.1.2).
    lang: str = "vi"


def complaints(
    session: Session, agency: Agency, period: Period, page: int = 1
) -> tuple[list[ComplaintRow], int]:
    """Free-text complaints of the period's evaluations, newest first, LIST_LIMIT a page: the
    dossier code, never the contact."""
    where = (
        *received_in(Response, agency, period),
        col(Response.complaint).is_not(None),
        col(Response.complaint) != "",
    )
    total = count(session, Response, where)
    found = session.execute(
        sa_select(
            col(Response.received_at),
            col(Response.complaint),
            col(Dossier.code),
            col(Petition.id),
            col(Petition.handled_at),
            col(Petition.kind),
            func.coalesce(col(Response.language), col(Invitation.language)),
        )
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
        .join(Petition, col(Petition.response_id) == col(Response.id), isouter=True)
        .where(*where)
        .order_by(col(Response.received_at).desc(), col(Response.id).desc())
        .offset((page - 1) * LIST_LIMIT)
        .limit(LIST_LIMIT)
    ).all()
    rows = [
        ComplaintRow(
            received_at=received,
            dossier_code=code,
            text=text or "",
            petition_id=petition_id,
            answered=handled is not None,
            kind=kind,
            lang=lang,
        )
        for received, text, code, petition_id, handled, kind, lang in found
    ]
    return rows, total
