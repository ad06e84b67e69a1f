"""Revoking a dossier's survey, so that its link can no longer be answered."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from service.admin.agencies import visible_dossier
from service.audit import record
from service.auth.principal import Principal
from service.errors import Conflict
from service.handovers.invitations import Issued
from service.messaging import outbox as messages
from service.models import Invitation, utcnow


def revoke(
    session: Session,
    principal: Principal,
    signing_key: bytes,
    dossier_code: str,
    agency_code: str | None = None,
) -> Issued:
    """Revoke the survey of the dossier with this code among those the key can see (and of
    `agency_code`, when given). A dossier outside the key's scope is "not found", as if it
    did not exist; two visible dossiers with the code need `agency_code` to choose."""
    dossier, agency = visible_dossier(
        session,
        principal,
        dossier_code,
        agency_code,
        missing=f"No survey was issued for dossier '{dossier_code}'",
        purpose="whose survey to revoke",
    )
    invitation = session.exec(select(Invitation).where(Invitation.dossier_id == dossier.id)).one()
    # Compare and set, as an answer claims the invitation: read, checked in memory and then
    # written, a revoke racing an answer stored both (a 201 to the citizen, then "revoked",
    # the survey reissued and every answer to it a 409; audit).
    # An expired survey is over, as an answered one is: revoked, it left the response
    # rate's issued surveys (an office could lift its rate by revoking what went
    # unanswered), and a re-post then issued a fresh 30-day survey (audit). Its revoke
    # changes nothing, as a second revoke does.
    now = utcnow()
    claimed = session.execute(
        update(Invitation)
        .where(
            col(Invitation.id) == invitation.id,
            col(Invitation.status).in_(("issued", "opened")),
            col(Invitation.expires_at) > now,
        )
        .values(status="revoked", revoked_at=now)
    )
    session.refresh(invitation)
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        record(
            session,
            principal.actor,
            "invitation.revoke",
            f"dossier:{agency.code}:{dossier_code}",
            {},
        )
        session.flush()
    elif invitation.status == "answered":
        raise Conflict(
            f"The survey for dossier '{dossier_code}' has already been answered; "
            "an answered survey cannot be revoked."
        )
    # Revoking twice is not an error: the second changes nothing and is not audited.
    # The answer is the handover's, messages too: `[]` there means "no channel and no
    # contact", which a revoke's answer said of every dossier (audit).
    return Issued(
        invitation, dossier, False, messages.messages_of(session, invitation.id, signing_key)
    )
