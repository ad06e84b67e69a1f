"""Revoking a dossier's survey, so that its link can no longer be answered."""

from __future__ import annotations

from sqlmodel import Session, col, select

from service.audit import record
from service.auth.principal import Principal
from service.errors import Conflict, NotFound
from service.handovers.invitations import Issued
from service.models import Agency, Dossier, Invitation, utcnow


def revoke(
    session: Session, principal: Principal, dossier_code: str, agency_code: str | None = None
) -> Issued:
    """Revoke the survey of the dossier with this code among those the key can see (and of
    `agency_code`, when given). A dossier outside the key's scope is "not found", as if it
    did not exist; two visible dossiers with the code need `agency_code` to choose."""
    query = (
        select(Dossier, Agency)
        .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        .where(Dossier.code == dossier_code)
    )
    if principal.scope_path is not None:
        query = query.where(col(Agency.path).startswith(principal.scope_path, autoescape=True))
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    found = session.exec(query.limit(2)).all()
    if not found:
        where = f" of agency '{agency_code}'" if agency_code is not None else ""
        raise NotFound(f"No survey was issued for dossier '{dossier_code}'{where}.")
    if len(found) > 1:
        raise Conflict(
            f"Several agencies you can act for have a dossier '{dossier_code}'; add "
            f"'?agency_code=<agency code>' to say whose survey to revoke."
        )
    dossier, agency = found[0]
    principal.require_scope(agency)
    invitation = session.exec(select(Invitation).where(Invitation.dossier_id == dossier.id)).one()
    if invitation.status == "answered":
        raise Conflict(
            f"The survey for dossier '{dossier_code}' has already been answered; "
            "an answered survey cannot be revoked."
        )
    # Revoking twice is not an error: the second changes nothing and is not audited.
    if invitation.status != "revoked":
        invitation.status = "revoked"
        invitation.revoked_at = utcnow()
        session.add(invitation)
        record(
            session,
            principal.actor,
            "invitation.revoke",
            f"dossier:{agency.code}:{dossier_code}",
            {},
        )
        session.flush()
    return Issued(invitation, dossier, created=False)
