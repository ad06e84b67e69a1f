"""HTTP for response rates: GET /api/v1/response-rates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session, col, select

from service.admin.agencies import get_agency_by_code, list_agencies
from service.auth.principal import Principal
from service.errors import NotFound
from service.models import Agency
from service.periods import period_field
from service.scoring.reach import response_rates
from service.scoring.reach_schemas import Dimension, ReachList
from service.web.deps import ApiWork
from service.web.errors import error_responses
from service.web.params import ParentQuery, PeriodQuery

router = APIRouter(prefix="/api/v1", tags=["scores"], responses=error_responses(401, 403, 404, 422))
READERS = ("reader", "manager", "admin")

ByQuery = Annotated[
    Dimension,
    Query(
        description="Rows per agency (the totals alone), counter, staff member (those below "
        "the anonymity minimum together), the dossier's handover channel, or the channel an "
        "invitation message was sent on"
    ),
]
AgencyQuery = Annotated[str | None, Query(max_length=64, description="Only this agency")]
SubtreeQuery = Annotated[
    bool, Query(description="Count each agency's descendants' invitations with its own")
]


def _visible(session: Session, principal: Principal, code: str) -> Agency:
    agency = get_agency_by_code(session, code)
    if agency is None:
        raise NotFound(f"No agency has the code '{code}'.")
    principal.require_scope(agency)
    return agency


def chosen_agencies(
    session: Session, principal: Principal, agency_code: str | None, parent_code: str | None
) -> list[Agency]:
    """One agency, a parent's children, or every agency the key can see (as /scores)."""
    if agency_code:
        return [_visible(session, principal, agency_code)]
    if parent_code:
        parent = _visible(session, principal, parent_code)
        return list(
            session.exec(
                select(Agency).where(Agency.parent_id == parent.id).order_by(col(Agency.code))
            ).all()
        )
    return list_agencies(session, principal.scope_path)


@router.get(
    "/response-rates",
    response_model=ReachList,
    summary="Invitations issued, delivered, opened and answered per agency, counter, staff "
    "member or channel",
)
async def list_response_rates(
    period: PeriodQuery,
    work: ApiWork,
    agency_code: AgencyQuery = None,
    parent_code: ParentQuery = None,
    by: ByQuery = "agency",
    subtree: SubtreeQuery = False,
) -> ReachList:
    parsed = period_field(period)

    def read(session: Session) -> ReachList:
        principal = work.principal(session, *READERS)
        agencies = chosen_agencies(session, principal, agency_code, parent_code)
        return response_rates(session, agencies, parsed, by, work.profile, subtree)

    return await work.run(read)
