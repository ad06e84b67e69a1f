"""An issued invitation with its dossier: found by its token or another condition, and the
status it has now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from service.handovers import tokens
from service.handovers.schemas import InvitationStatus
from service.messaging.schemas import MessagePublic
from service.models import Agency, Dossier, Invitation, utcnow

# The roles that may issue and revoke.


@dataclass
class Issued:
    invitation: Invitation
    dossier: Dossier
    created: bool
    messages: list[MessagePublic] = field(default_factory=list)


def current_status(invitation: Invitation, now: datetime | None = None) -> InvitationStatus:
    """The stored status, except that an unanswered link past its expiry reads 'expired'."""
    if invitation.status in ("issued", "opened") and invitation.expires_at <= (now or utcnow()):
        return "expired"
    return cast(InvitationStatus, invitation.status)


def find_by_token(session: Session, token: str) -> Issued | None:
    # A real token is 43 characters (tokens.py): anything far longer is nobody's survey,
    # and not worth hashing.
    if not token or len(token) > 128:
        return None
    return find_issued(session, col(Invitation.token_hash) == tokens.hash_token(token))


def find_issued(session: Session, condition: ColumnElement[bool]) -> Issued | None:
    """The invitation meeting `condition`, with its dossier, in one query. Its agency is
    loaded by the same query into the session, where what answers and pages read of it
    (its code, its name) is then found without another (session.get)."""
    row = session.exec(
        select(Invitation, Dossier, Agency)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        .where(condition)
    ).first()
    return Issued(row[0], row[1], created=False) if row is not None else None
