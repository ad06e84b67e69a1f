"""Officials as the admin API shows them: never the provider's subject itself."""

from __future__ import annotations

from sqlmodel import Session

from service.admin.schemas import OfficialCreate, OfficialList, OfficialPublic, OfficialUpdate
from service.auth import officials
from service.auth.principal import Principal
from service.errors import field_error


def _agency_code_given(agency_code: str | None) -> None:
    """An empty `agency_code` names no agency, nor every agency (null says that): it was a
    404 "No agency has the code ''" (audit), where the field is what is wrong."""
    if agency_code is not None and not agency_code.strip():
        raise field_error("agency_code", "give an agency's code, or null for every agency")


def official_public(row: officials.OfficialRow) -> OfficialPublic:
    official = row.official
    assert official.id is not None
    return OfficialPublic(
        id=official.id,
        email=official.email,
        name=official.name,
        role=official.role,
        agency_code=row.agency_code,
        created_at=official.created_at,
        last_sign_in_at=official.last_sign_in_at,
        disabled_at=official.disabled_at,
        disabled_by=official.disabled_by,
        subject_bound=official.subject is not None,
    )


def listing(session: Session, principal: Principal) -> OfficialList:
    data = [official_public(row) for row in officials.official_rows(session, principal)]
    return OfficialList(data=data, count=len(data))


def add(session: Session, principal: Principal, payload: OfficialCreate) -> OfficialPublic:
    _agency_code_given(payload.agency_code)
    official = officials.add_official_as(
        session, principal, payload.email, payload.name, payload.role, payload.agency_code
    )
    return official_public(officials.official_row(session, official))


def disable(session: Session, principal: Principal, official_id: int) -> OfficialPublic:
    official = officials.disable_official_as(session, principal, official_id)
    return official_public(officials.official_row(session, official))


def update(
    session: Session, principal: Principal, official_id: int, payload: OfficialUpdate
) -> OfficialPublic:
    _agency_code_given(payload.agency_code)
    change = officials.OfficialChange(
        name=payload.name,
        email=payload.email,
        role=payload.role,
        set_agency="agency_code" in payload.model_fields_set,
        agency_code=payload.agency_code,
        enabled=payload.enabled,
        unbind_subject=payload.subject_bound is False,
    )
    official = officials.update_official_as(session, principal, official_id, change)
    return official_public(officials.official_row(session, official))
