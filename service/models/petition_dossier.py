"""The dossier a petition names, as far as the petition's agency may show it.

A petition names a dossier of its own agency or of one below it (checked when it is posted),
but agencies move: a ward moved from under a department takes its dossiers along, and the
department's petition still points at one. Its code then showed in the department's
explain, console and webhook events, to keys and officials who cannot see the ward (scope
audit). The link stays (the scores of the time were computed with it); its code is shown
only while the dossier's agency is the petition's or below it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from service.models.agency import Agency
from service.models.dossier import Dossier
from service.models.petition import Petition


def dossier_code(session: Session, petition: Petition, agency: Agency) -> str | None:
    """The code of `petition`'s dossier, whose agency is `agency`; None when it names none,
    or names one of an agency since moved out of `agency`'s tree."""
    if petition.dossier_id is None:
        return None
    dossier = session.get(Dossier, petition.dossier_id)
    owner = session.get(Agency, dossier.agency_id) if dossier is not None else None
    if dossier is None or owner is None or not owner.is_within(agency.path):
        return None
    return dossier.code


def of_the_tree(owner_path: Any, petition_agency_path: Any) -> Any:
    """SQL for the rule: `owner_path` (a dossier's agency's path column) is
    `petition_agency_path` (a column, or an agency's path) or below it. Compared as a
    prefix by length, not LIKE: '_' in codes is itself."""
    return func.substr(owner_path, 1, func.length(petition_agency_path)) == petition_agency_path


def shown_code(code: Any, owner_path: Any, petition_agency_path: Any) -> Any:
    """SQL for `dossier_code`: `code` (a dossier's code column) where its agency is of the
    petition's agency's tree (`of_the_tree`), else NULL."""
    return case((of_the_tree(owner_path, petition_agency_path), code), else_=None)


def petitions_with_dossier_codes(agency: Agency) -> Any:
    """SELECT petition, its dossier's code as `dossier_code` says it, for petitions of
    `agency` (the caller's WHERE names them)."""
    owner = aliased(Agency)
    return (
        select(Petition, shown_code(col(Dossier.code), col(owner.path), agency.path))
        .join(Dossier, col(Dossier.id) == col(Petition.dossier_id), isouter=True)
        .join(owner, col(owner.id) == col(Dossier.agency_id), isouter=True)
    )
