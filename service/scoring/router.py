"""HTTP for scores, rankings, explanations, per-staff scores and period inputs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, select

from service.admin.agencies import (
    chosen_agencies,
    get_agency_by_code,
    visible_agency,
)
from service.errors import NotFound
from service.models import Agency
from service.periods import period_field
from service.scoring import explain, inputs, service, staff
from service.scoring.etag import conditional_json
from service.scoring.schemas import (
    Explanation,
    InputsUpdate,
    Score,
    ScoreList,
    StaffScoreList,
)
from service.web.deps import ApiWork
from service.web.errors import error_responses
from service.web.params import AgencyQuery, CodePath, ParentQuery, PeriodPath, PeriodQuery

# Every route here can meet the same errors: a missing or unfit key (401, 403), an unknown
# agency (404), a malformed period (422).
router = APIRouter(prefix="/api/v1", tags=["scores"], responses=error_responses(401, 403, 404, 422))
READERS = ("reader", "manager", "admin")


@router.get(
    "/scores",
    response_model=ScoreList,
    summary="Scores of a period: one agency, a parent's children, or all you can see",
)
async def list_scores(
    request: Request,
    period: PeriodQuery,
    work: ApiWork,
    agency_code: AgencyQuery = None,
    parent_code: ParentQuery = None,
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> ScoreList:
        principal = work.principal(session, *READERS)
        agencies = chosen_agencies(session, principal, agency_code, parent_code)
        data = service.scores(session, agencies, parsed, work.profile)
        return ScoreList(data=data, count=len(data))

    return conditional_json(request, await work.run(read))


@router.get(
    "/agencies/{code}/scores/{period}",
    response_model=Score,
    summary="One agency's score for a period",
)
async def one_score(
    request: Request, code: CodePath, period: PeriodPath, work: ApiWork
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> Score:
        agency = visible_agency(session, work.principal(session, *READERS), code)
        return service.scores(session, [agency], parsed, work.profile)[0]

    return conditional_json(request, await work.run(read))


@router.get(
    "/agencies/{code}/scores/{period}/explain",
    response_model=Explanation,
    summary="The score with the dossiers, evaluations and petitions behind it",
)
async def explain_score(
    request: Request,
    code: CodePath,
    period: PeriodPath,
    work: ApiWork,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> Explanation:
        agency = visible_agency(session, work.principal(session, *READERS), code)
        profile = work.profile
        return Explanation(
            score=service.scores(session, [agency], parsed, profile)[0],
            formulas=explain.formulas(profile),
            dossiers=explain.dossier_rows(session, agency, parsed, profile, limit),
            evaluations=explain.evaluation_rows(session, agency, parsed, profile, limit),
            petitions=explain.petition_rows(session, agency, parsed, profile, limit),
        )

    return conditional_json(request, await work.run(read))


@router.get(
    "/rankings",
    response_model=ScoreList,
    summary="A parent's children ordered by K; ties share a rank",
)
async def rankings(
    request: Request,
    period: PeriodQuery,
    parent_code: Annotated[str, Query(max_length=64)],
    work: ApiWork,
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> ScoreList:
        principal = work.principal(session, *READERS)
        parent = get_agency_by_code(session, parent_code)
        if parent is None:
            raise NotFound(f"No agency has the code '{parent_code}'.")
        children = session.exec(select(Agency).where(Agency.parent_id == parent.id)).all()
        visible = [a for a in children if principal.can_see(a)]
        data = service.scores(session, visible, parsed, work.profile)
        data.sort(key=lambda s: (s.rank is None, s.rank or 0, s.agency_code))
        return ScoreList(data=data, count=len(data))

    return conditional_json(request, await work.run(read))


@router.get(
    "/agencies/{code}/staff-scores/{period}",
    response_model=StaffScoreList,
    summary="Per-staff A, B, C; B and C withheld below the anonymity minimum",
)
async def staff_scores(code: CodePath, period: PeriodPath, work: ApiWork) -> StaffScoreList:
    parsed = period_field(period)

    def read(session: Session) -> StaffScoreList:
        agency = visible_agency(session, work.principal(session, "manager", "admin"), code)
        return staff.staff_scores(session, agency, parsed, work.profile)

    return await work.run(read)


@router.put(
    "/agencies/{code}/periods/{period}/inputs",
    response_model=Score,
    summary="Set or clear D and E for an agency and period",
)
async def put_inputs(
    code: CodePath, period: PeriodPath, update: InputsUpdate, work: ApiWork
) -> Score:
    parsed = period_field(period)

    def write(session: Session) -> Score:
        principal = work.principal(session, "manager", "admin")
        agency = visible_agency(session, principal, code)
        inputs.set_inputs(session, principal, agency, parsed, update, work.profile)
        return service.scores(session, [agency], parsed, work.profile)[0]

    return await work.run(write)
