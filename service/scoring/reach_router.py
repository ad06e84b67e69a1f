"""HTTP for response rates: GET /api/v1/response-rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from service.admin.agencies import (
    chosen_agencies,
)
from service.periods import Period, period_field
from service.scoring.reach import response_rates
from service.scoring.reach_schemas import Dimension, ReachList
from service.web.deps import ReaderWork
from service.web.errors import error_responses
from service.web.params import AgencyQuery, ParentQuery, PeriodQuery, SubtreeQuery

router = APIRouter(prefix="/api/v1", tags=["scores"], responses=error_responses(401, 403, 404, 422))

ByQuery = Annotated[
    Dimension,
    Query(
        description="Rows per agency (the totals alone), counter, staff member (those below "
        "the anonymity minimum together), the dossier's handover channel, or the channel an "
        "invitation message was sent on"
    ),
]


@dataclass(frozen=True)
class ReachChoice:
    """What a response-rate read is of: the list here and its CSV/XLSX files
    (service/portal/reach_router.py) take the same query parameters."""

    period: Period
    agency_code: str | None
    parent_code: str | None
    by: Dimension
    subtree: bool


def _reach_choice(
    period: PeriodQuery,
    agency_code: AgencyQuery = None,
    parent_code: ParentQuery = None,
    by: ByQuery = "agency",
    subtree: SubtreeQuery = False,
) -> ReachChoice:
    return ReachChoice(period_field(period), agency_code, parent_code, by, subtree)


ReachQuery = Annotated[ReachChoice, Depends(_reach_choice)]


@router.get(
    "/response-rates",
    response_model=ReachList,
    summary="Invitations issued, delivered, opened and answered per agency, counter, staff "
    "member or channel",
)
async def list_response_rates(work: ReaderWork, chosen: ReachQuery) -> ReachList:
    def read(session: Session) -> ReachList:
        principal = work.principal(session)
        agencies = chosen_agencies(session, principal, chosen.agency_code, chosen.parent_code)
        return response_rates(
            session, agencies, chosen.period, chosen.by, work.profile, chosen.subtree
        )

    return await work.run(read)
