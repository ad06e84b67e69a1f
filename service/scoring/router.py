"""HTTP for scores, rankings, explanations, per-staff scores and period inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from service.admin.agencies import (
    chosen_agencies,
    visible_agency,
    visible_children,
    visible_dossier,
)
from service.auth.principal import Principal
from service.errors import field_error
from service.models import Agency
from service.periods import Period, period_field
from service.scoring import explain, inputs, service, staff, tt01_read
from service.scoring.etag import CONDITIONAL, conditional_json
from service.scoring.schemas import (
    Explanation,
    InputsUpdate,
    Score,
    ScoreList,
    StaffScoreList,
)
from service.scoring.tt01_schemas import DossierTt01Score, Tt01Score, Tt01ScoreList
from service.text_clean import OptionalCodeText
from service.unit_of_work import UnitOfWork
from service.web.deps import ManagerWork, ReaderWork
from service.web.errors import error_responses
from service.web.params import (
    AgencyQuery,
    CodePath,
    DossierCodePath,
    ParentQuery,
    PeriodPath,
    PeriodQuery,
    ProfileQuery,
)

# Every route here can meet the same errors: a missing or unfit key (401, 403), an unknown
# agency (404), a malformed period (422).
router = APIRouter(prefix="/api/v1", tags=["scores"], responses=error_responses(401, 403, 404, 422))


def _scores(
    session: Session, agencies: Sequence[Agency], period: Period, work: UnitOfWork, scoring: str
) -> list[Score] | list[Tt01Score]:
    if scoring == "tt01":
        return tt01_read.tt01_scores(session, agencies, period, work.profile)
    return service.scores(session, agencies, period, work.profile)


def _listed(data: list[Score] | list[Tt01Score]) -> ScoreList | Tt01ScoreList:
    if data and isinstance(data[0], Tt01Score):
        return Tt01ScoreList(data=data, count=len(data))
    return ScoreList(data=cast(list[Score], data), count=len(data))


async def _score_list(
    request: Request,
    work: UnitOfWork,
    period: str,
    profile: str | None,
    agencies: Callable[[Session, Principal], list[Agency]],
    ranked: bool = False,
) -> Response:
    """The scores of a period for the agencies `agencies(session, principal)` chooses, in
    their order, or by rank (ties share one; unranked last) when `ranked`."""
    parsed = period_field(period)

    def read(session: Session) -> ScoreList | Tt01ScoreList:
        principal = work.principal(session)
        scoring = service.choose_scoring(work.profile, profile)
        data = _scores(session, agencies(session, principal), parsed, work, scoring)
        if ranked:
            data.sort(key=lambda s: (s.rank is None, s.rank or 0, s.agency_code))
        return _listed(data)

    return conditional_json(request, await work.run(read))


@router.get(
    "/scores",
    response_model=ScoreList | Tt01ScoreList,
    summary="Scores of a period: one agency, a parent's children, or all you can see",
    responses=CONDITIONAL,
)
async def list_scores(
    request: Request,
    period: PeriodQuery,
    work: ReaderWork,
    agency_code: AgencyQuery = None,
    parent_code: ParentQuery = None,
    profile: ProfileQuery = None,
) -> Response:
    def agencies(session: Session, principal: Principal) -> list[Agency]:
        return chosen_agencies(session, principal, agency_code, parent_code)

    return await _score_list(request, work, period, profile, agencies)


@router.get(
    "/agencies/{code}/scores/{period}",
    response_model=Score | Tt01Score,
    summary="One agency's score for a period",
    responses=CONDITIONAL,
)
async def one_score(
    request: Request,
    code: CodePath,
    period: PeriodPath,
    work: ReaderWork,
    profile: ProfileQuery = None,
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> Score | Tt01Score:
        agency = visible_agency(session, work.principal(session), code)
        scoring = service.choose_scoring(work.profile, profile)
        return _scores(session, [agency], parsed, work, scoring)[0]

    return conditional_json(request, await work.run(read))


@router.get(
    "/dossiers/{dossier_code}/score",
    response_model=DossierTt01Score,
    summary="One dossier's TT 01/2018 score (the profile computed beside the K score)",
    # Two agencies the key sees hold the code: agency_code says which (contract audit).
    responses=error_responses(409),
)
async def dossier_score(
    dossier_code: DossierCodePath,
    work: ReaderWork,
    profile: ProfileQuery = None,
    agency_code: Annotated[
        str | None,
        Query(max_length=64, description="The dossier's agency, when agencies share the code"),
        OptionalCodeText,
    ] = None,
) -> DossierTt01Score:
    asked = profile or (work.profile.also.name if work.profile.also else None)

    def read(session: Session) -> DossierTt01Score:
        principal = work.principal(session)
        if service.choose_scoring(work.profile, asked) != "tt01":
            raise field_error(
                "profile",
                "a score per dossier is TT 01/2018's; K is scored per agency (see explain)",
            )
        dossier, agency = visible_dossier(
            session,
            principal,
            dossier_code,
            agency_code,
            missing=f"No dossier you can see has the code '{dossier_code}'",
            purpose="whose dossier to score",
        )
        return tt01_read.dossier_tt01(session, dossier, agency, work.profile)

    return await work.run(read)


@router.get(
    "/agencies/{code}/scores/{period}/explain",
    response_model=Explanation,
    summary="The score with the dossiers, evaluations and petitions behind it",
    responses=CONDITIONAL,
)
async def explain_score(
    request: Request,
    code: CodePath,
    period: PeriodPath,
    work: ReaderWork,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    profile: ProfileQuery = None,
) -> Response:
    parsed = period_field(period)

    def read(session: Session) -> Explanation:
        agency = visible_agency(session, work.principal(session), code)
        # Explained is the main profile's score: `profile=` naming TT 01 (or a typo) was
        # dropped, and K's explanation came back as if it were the one asked for (audit).
        if service.choose_scoring(work.profile, profile) != "k_score":
            raise field_error(
                "profile",
                f"explain covers the {work.profile.name} score; for TT 01/2018 read "
                "/api/v1/agencies/{code}/scores/{period}?profile= and "
                "/api/v1/dossiers/{dossier_code}/score",
            )
        profile_rules = work.profile
        score = service.scores(session, [agency], parsed, profile_rules)[0]
        return Explanation(
            **dict(score),
            score=score,
            formulas=explain.formulas(profile_rules),
            dossiers=explain.dossier_rows(session, agency, parsed, profile_rules, limit),
            evaluations=explain.evaluation_rows(session, agency, parsed, profile_rules, limit),
            petitions=explain.petition_rows(session, agency, parsed, profile_rules, limit),
        )

    return conditional_json(request, await work.run(read))


@router.get(
    "/rankings",
    summary="A parent's children ordered by K (or by the TT 01/2018 total); ties share a rank",
    response_model=ScoreList | Tt01ScoreList,
    responses=CONDITIONAL,
)
async def rankings(
    request: Request,
    period: PeriodQuery,
    parent_code: Annotated[str, Query(max_length=64)],
    work: ReaderWork,
    profile: ProfileQuery = None,
) -> Response:
    def children(session: Session, principal: Principal) -> list[Agency]:
        return visible_children(session, principal, parent_code)

    return await _score_list(request, work, period, profile, children, ranked=True)


@router.get(
    "/agencies/{code}/staff-scores/{period}",
    response_model=StaffScoreList,
    summary="Per-staff A, B, C; B and C withheld below the anonymity minimum",
)
async def staff_scores(code: CodePath, period: PeriodPath, work: ManagerWork) -> StaffScoreList:
    parsed = period_field(period)

    def read(session: Session) -> StaffScoreList:
        agency = visible_agency(session, work.principal(session), code)
        return staff.staff_scores(session, agency, parsed, work.profile)

    return await work.run(read)


@router.put(
    "/agencies/{code}/periods/{period}/inputs",
    response_model=Score,
    summary="Set or clear D and E for an agency and period",
)
async def put_inputs(
    code: CodePath, period: PeriodPath, update: InputsUpdate, work: ManagerWork
) -> Score:
    parsed = period_field(period)

    def write(session: Session) -> Score:
        principal = work.principal(session)
        agency = visible_agency(session, principal, code)
        inputs.set_inputs(session, principal, agency, parsed, update, work.profile)
        return service.scores(session, [agency], parsed, work.profile)[0]

    return await work.run(write)
