"""Data retention: citizens' contact details and free text do not live forever.

Purging changes no score: counters, answers' choices, petitions' dates and verdicts all
stay, and a complaint's text gives way to a fixed marker rather than to nothing (that one
was written is scored: models/response.PURGED_COMPLAINT). Console sessions that have
ended or expired go too (they are kept only so that a copied cookie finds its session
ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlmodel import Session, col

from service.audit import record
from service.db import alone, exclusive, rowcount
from service.models import (
    ConsoleSessionRecord,
    Invitation,
    InvitationContact,
    OutgoingMessageRow,
    Petition,
    Response,
    ResponseContact,
    utcnow,
)
from service.models.response import PURGED_COMPLAINT


@dataclass
class Purged:
    contacts: int
    complaints: int
    petition_texts: int
    cutoff: datetime
    console_sessions: int = 0
    invitation_contacts: int = 0


# "hal-prge": one process purges at a time (the workers each purge once a day; two at
# once updated the same rows in their own orders).
PURGE_LOCK = 0x68616C2D70726765


def purge(session: Session, older_than_days: int, *, actor: str) -> Purged:
    """Purge what is older than `older_than_days`, recorded in the audit log (an operator's
    run: `hailong purge`, which waits for a purge under way)."""
    exclusive(session, PURGE_LOCK, Response.__tablename__)
    return _purge(session, older_than_days, actor=actor, record_nothing=True)


def purge_unless_under_way(session: Session, older_than_days: int) -> Purged | None:
    """The worker's daily purge: None when another process is purging (PostgreSQL; the
    workers of one deployment start together, and one waited in the middle of its round
    for the other's: review). Recorded only when it purged something."""
    if not alone(session, PURGE_LOCK):  # on PostgreSQL, the lock is now this one's
        return None
    exclusive(session, PURGE_LOCK, Response.__tablename__)  # SQLite's write lock
    return _purge(session, older_than_days, actor="worker", record_nothing=False)


def _purge(session: Session, older_than_days: int, *, actor: str, record_nothing: bool) -> Purged:
    cutoff = utcnow() - timedelta(days=older_than_days)
    # A complaint awaiting its reply keeps its text and its contact until its deadline is as
    # old as the cutoff: a retention shorter than the handling deadline purged what the
    # citizen wrote, and where to answer them, before the office could reply (audit).
    # Only one the citizen asked an answer to: a comment given a deadline by the petition
    # system's connector is still a comment, and goes with the retention (review).
    awaiting_reply = select(col(Petition.response_id)).where(
        col(Petition.response_id).is_not(None),
        col(Petition.kind) == "petition",
        col(Petition.replied_at).is_(None),
        col(Petition.handled_at).is_(None),
        col(Petition.deadline_at) >= cutoff,
    )
    old = (col(Response.received_at) < cutoff, col(Response.id).not_in(awaiting_reply))
    old_responses = select(col(Response.id)).where(*old)
    contacts = session.execute(
        delete(ResponseContact).where(col(ResponseContact.response_id).in_(old_responses)),
        execution_options={"synchronize_session": False},
    )
    # Contacts given at handover (invitations by message): once the invitation was
    # answered, revoked or expired before the cutoff, nothing will be sent to them again.
    finished = select(col(Invitation.id)).where(
        or_(
            col(Invitation.answered_at) < cutoff,
            col(Invitation.revoked_at) < cutoff,
            col(Invitation.expires_at) < cutoff,
        )
    )
    invitation_contacts = session.execute(
        delete(InvitationContact).where(col(InvitationContact.invitation_id).in_(finished)),
        execution_options={"synchronize_session": False},
    )
    # With them, their messages' reasons: a provider's words may have quoted the contact
    # (mail servers quote a refused address) before reasons were kept without it.
    session.execute(
        update(OutgoingMessageRow)
        .where(
            col(OutgoingMessageRow.invitation_id).in_(finished),
            col(OutgoingMessageRow.reason).is_not(None),
        )
        .values(reason=None),
        execution_options={"synchronize_session": False},
    )
    complaints = session.execute(
        update(Response)
        .where(
            *old,
            col(Response.complaint).is_not(None),
            col(Response.complaint) != PURGED_COMPLAINT,
        )
        .values(complaint=PURGED_COMPLAINT),
        execution_options={"synchronize_session": False},
    )
    # A petition's texts are as old as their writing, not as its receipt: a reply written
    # today to a petition received three years ago stays (its follow-up page shows it).
    reply_old = func.coalesce(col(Petition.replied_at), col(Petition.received_at)) < cutoff
    outcome_old = col(Petition.updated_at) < cutoff
    petition_texts = session.execute(
        update(Petition)
        .where(
            or_(
                and_(col(Petition.outcome).is_not(None), outcome_old),
                and_(col(Petition.reply).is_not(None), reply_old),
            )
        )
        .values(
            outcome=case((outcome_old, None), else_=col(Petition.outcome)),
            reply=case((reply_old, None), else_=col(Petition.reply)),
        ),
        execution_options={"synchronize_session": False},
    )
    # An ended or expired session's cookie is refused either way; the row is not needed.
    console_sessions = session.execute(
        delete(ConsoleSessionRecord).where(
            or_(
                col(ConsoleSessionRecord.ended_at).is_not(None),
                col(ConsoleSessionRecord.expires_at) < utcnow(),
            )
        ),
        execution_options={"synchronize_session": False},
    )
    result = Purged(
        rowcount(contacts),
        rowcount(complaints),
        rowcount(petition_texts),
        cutoff,
        rowcount(console_sessions),
        rowcount(invitation_contacts),
    )
    counts = (
        result.contacts,
        result.complaints,
        result.petition_texts,
        result.console_sessions,
        result.invitation_contacts,
    )
    if not any(counts) and not record_nothing:
        return result
    record(
        session,
        actor,
        "retention.purge",
        None,
        {
            "older_than_days": older_than_days,
            "contacts": result.contacts,
            "complaints": result.complaints,
            "petition_texts": result.petition_texts,
            "console_sessions": result.console_sessions,
            "invitation_contacts": result.invitation_contacts,
        },
    )
    return result
