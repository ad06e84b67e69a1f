"""HTTP for scores, rankings, explanations, per-staff scores and period inputs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import col, select

from service.admin.agencies import get_agency_by_code, list_agencies
from service.deps import AnyKey, ProfileDep, ScoreReaderKey, SessionDep
from service.errors import NotFound, error_responses, field_error
from service.models import Agency
from service.scoring import explain, inputs, service, staff
from service.scoring.periods import PERIOD_HELP, Period, parse_period
from service.scoring.schemas import (
    Explanation,
    InputsUpdate,
    Score,
    ScoreList,
    StaffScoreList,
)

router = APIRouter(prefix="/api/v1", tags=["scores"])
PeriodQuery = Annotated[str, Query(max_length=16, description=PERIOD_HELP, examples=["2025-Q3"])]
PeriodPath = Annotated[str, Path(max_length=16, description=PERIOD_HELP)]
CodePath = Annotated[str, Path(max_length=64, description="Agency code")]
READ_ERRORS = error_responses(401, 403, 404, 422)


def _period(text: str, field: str = "period") -> Period:
    try:
        return parse_period(text)
    except ValueError as exc:
        raise field_error(field, str(exc)) from None


def _visible_agency(session: SessionDep, principal: AnyKey, code: str) -> Agency:
    agency = get_agency_by_code(session, code)
    if agency is None:
        raise NotFound(f"No agency has the code '{code}'.")
    principal.require_scope(agency)
    return agency


@router.get(
    "/scores",
    response_model=ScoreList,
    responses=READ_ERRORS,
    summary="Scores of a period: one agency, a parent's children, or all you can see",
)
def list_scores(
    period: PeriodQuery,
    principal: ScoreReaderKey,
    session: SessionDep,
    profile: ProfileDep,
    agency_code: Annotated[str | None, Query(max_length=64)] = None,
    parent_code: Annotated[str | None, Query(max_length=64)] = None,
) -> ScoreList:
    parsed = _period(period)
    if agency_code:
        agencies = [_visible_agency(session, principal, agency_code)]
    elif parent_code:
        parent = _visible_agency(session, principal, parent_code)
        agencies = list(
            session.exec(
                select(Agency).where(Agency.parent_id == parent.id).order_by(col(Agency.code))
            ).all()
        )
    else:
        agencies = list_agencies(session, principal.scope_path)
    data = service.scores(session, agencies, parsed, profile)
    return ScoreList(data=data, count=len(data))


@router.get(
    "/agencies/{code}/scores/{period}",
    response_model=Score,
    responses=READ_ERRORS,
    summary="One agency's score for a period",
)
def one_score(
    code: CodePath,
    period: PeriodPath,
    principal: ScoreReaderKey,
    session: SessionDep,
    profile: ProfileDep,
) -> Score:
    agency = _visible_agency(session, principal, code)
    return service.scores(session, [agency], _period(period), profile)[0]


@router.get(
    "/agencies/{code}/scores/{period}/explain",
    response_model=Explanation,
    responses=READ_ERRORS,
    summary="The score with the dossiers, evaluations and petitions behind it",
)
def explain_score(
    code: CodePath,
    period: PeriodPath,
    principal: ScoreReaderKey,
    session: SessionDep,
    profile: ProfileDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> Explanation:
    agency = _visible_agency(session, principal, code)
    parsed = _period(period)
    return Explanation(
        score=service.scores(session, [agency], parsed, profile)[0],
        formulas=explain.formulas(profile),
        dossiers=explain.dossier_rows(session, agency, parsed, profile, limit),
        evaluations=explain.evaluation_rows(session, agency, parsed, profile, limit),
        petitions=explain.petition_rows(session, agency, parsed, limit),
    )


@router.get(
    "/rankings",
    response_model=ScoreList,
    responses=READ_ERRORS,
    summary="A parent's children ordered by K; ties share a rank",
)
def rankings(
    period: PeriodQuery,
    parent_code: Annotated[str, Query(max_length=64)],
    principal: ScoreReaderKey,
    session: SessionDep,
    profile: ProfileDep,
) -> ScoreList:
    parent = get_agency_by_code(session, parent_code)
    if parent is None:
        raise NotFound(f"No agency has the code '{parent_code}'.")
    children = list(session.exec(select(Agency).where(Agency.parent_id == parent.id)).all())
    visible = [a for a in children if principal.can_see(a)]
    data = service.scores(session, visible, _period(period), profile)
    data.sort(key=lambda s: (s.rank is None, s.rank or 0, s.agency_code))
    return ScoreList(data=data, count=len(data))


@router.get(
    "/agencies/{code}/staff-scores/{period}",
    response_model=StaffScoreList,
    responses=READ_ERRORS,
    summary="Per-staff A, B, C; B and C withheld below the anonymity minimum",
)
def staff_scores(
    code: CodePath, period: PeriodPath, principal: AnyKey, session: SessionDep, profile: ProfileDep
) -> StaffScoreList:
    principal.require_role("manager", "admin")
    agency = _visible_agency(session, principal, code)
    return staff.staff_scores(session, agency, _period(period), profile)


@router.put(
    "/agencies/{code}/periods/{period}/inputs",
    response_model=Score,
    responses=READ_ERRORS,
    summary="Set or clear D and E for an agency and period",
)
def put_inputs(
    code: CodePath,
    period: PeriodPath,
    update: InputsUpdate,
    principal: AnyKey,
    session: SessionDep,
    profile: ProfileDep,
) -> Score:
    principal.require_role("manager", "admin")
    agency = _visible_agency(session, principal, code)
    parsed = _period(period)
    inputs.set_inputs(session, principal, agency, parsed, update, profile)
    return service.scores(session, [agency], parsed, profile)[0]
