"""A dossier posted again, for its messages: a contact's consent withdrawn, or a revoked
survey issued again, whose new link is sent (to the contact the re-post gives, if it gives
another, else where the first link went). Called in the re-post's transaction
(service/handovers/one_by_one.py), with the invitation locked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, update
from sqlmodel import Session, col, select

from service.messaging.channels.registry import configured_names
from service.messaging.leased import SENT_BY
from service.messaging.outbox import invitation_row, plan, planned_with_opt_outs, stored
from service.messaging.schemas import ContactIn
from service.models import InvitationContact, OutgoingMessageRow
from service.settings import Settings


def consent_withdrawn(session: Session, invitation_id: int | None, link_renewed: bool) -> None:
    """A re-post saying the citizen does not agree (its contact's `consent` false): what
    waits to be sent is skipped (`no_consent`) and the address given before is forgotten.
    A revoked survey posted again so sent its new link to the old address, and the answer
    said "pending" (messaging audit). `link_renewed`: a revoked survey issued again, whose
    messages stand for the new link (resend_invitation), so those sent with the dead one
    are skipped too; otherwise a message sent stays sent."""
    waiting = col(OutgoingMessageRow.status) == "pending"
    if link_renewed:
        waiting = or_(
            col(OutgoingMessageRow.status).in_(("pending", "sent")),
            and_(
                col(OutgoingMessageRow.status) == "skipped",
                col(OutgoingMessageRow.reason) == "revoked",
            ),
        )
    session.execute(
        update(OutgoingMessageRow)
        .where(col(OutgoingMessageRow.invitation_id) == invitation_id, waiting)
        .values(status="skipped", reason="no_consent", lease_until=None),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(InvitationContact).where(col(InvitationContact.invitation_id) == invitation_id),
        execution_options={"synchronize_session": False},
    )


def resend_invitation(session: Session, invitation_id: int | None, now: datetime) -> None:
    """A revoked survey issued again: its invitation messages that went out with the dead
    link (or were held back because of the revocation) are sent again; a message is
    composed when it is sent, so with the new link. Most citizens never come to the counter:
    the new link reached nobody (delivery audit). What was not sent for another reason (no
    consent, an opt-out) stays as it was, and the sending rules apply again.

    One still pending is reset too, lease and all: one being sent at this moment carries the
    dead link, and recorded 'sent' when its send finished, the new link never went (audit).
    Its lease gone, that send is recorded as lost, and the row goes again with the new link.

    The dead link's reminders go: the new link gets its own, the usual delay after its
    invitation is sent (create_reminders adds one per invitation and channel that has
    none). Kept, a reminder sent or skipped for the dead link left the new one without,
    and one still waiting went out with the new invitation, no delay between (audit)."""
    session.execute(
        delete(OutgoingMessageRow).where(
            col(OutgoingMessageRow.invitation_id) == invitation_id,
            col(OutgoingMessageRow.kind) == "reminder",
        ),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(OutgoingMessageRow)
        .where(
            col(OutgoingMessageRow.invitation_id) == invitation_id,
            col(OutgoingMessageRow.kind) == "invitation",
            or_(
                col(OutgoingMessageRow.status).in_(("sent", "pending")),
                and_(
                    col(OutgoingMessageRow.status) == "skipped",
                    # Skipped as the other channel carried the dead link: the new one may
                    # not reach the phone that way (Zalo refusing it now; review).
                    col(OutgoingMessageRow.reason).in_(("revoked", *SENT_BY.values())),
                ),
            ),
        )
        .values(
            status="pending",
            reason=None,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            first_attempt_at=None,
            sent_at=None,
            provider_id=None,
        ),
        execution_options={"synchronize_session": False},
    )


def reissued(
    session: Session,
    settings: Settings,
    invitation_id: int,
    agency_id: int,
    contact: ContactIn | None,
    now: datetime,
) -> None:
    """A revoked survey issued again, its re-post not withdrawing consent: its new link is
    sent. Posted with a contact (consented, with an address) other than the one kept, the
    link goes to that contact: the office revoked a survey sent to a clerk's typo and posted
    the right address, and the new link went to the stranger again; a survey first posted
    without a contact sent its new link nowhere, and said `no_contact` (audit). Otherwise
    it goes where the first went (resend_invitation)."""
    if (
        contact is not None
        and stored(contact)
        and _another_contact(session, invitation_id, contact)
    ):
        _replace_contact(session, settings, invitation_id, agency_id, contact, now)
    else:
        resend_invitation(session, invitation_id, now)


def _another_contact(session: Session, invitation_id: int, contact: ContactIn) -> bool:
    kept = session.exec(
        select(InvitationContact).where(InvitationContact.invitation_id == invitation_id)
    ).first()
    return kept is None or (kept.phone, kept.email) != (contact.phone, contact.email)


def _replace_contact(
    session: Session,
    settings: Settings,
    invitation_id: int,
    agency_id: int,
    contact: ContactIn,
    now: datetime,
) -> None:
    """The contact the re-post gives replaces the one kept, and the survey's messages are
    planned afresh for it, as a handover plans them (opt-outs included): the first
    contact's messages, sent with the dead link or waiting, and their reminders go. One
    being sent at this moment finds its row gone and is recorded as lost (leased.send)."""
    session.execute(
        delete(InvitationContact).where(col(InvitationContact.invitation_id) == invitation_id),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        delete(OutgoingMessageRow).where(col(OutgoingMessageRow.invitation_id) == invitation_id),
        execution_options={"synchronize_session": False},
    )
    contact_table = InvitationContact.__table__  # type: ignore[attr-defined]
    session.execute(
        insert(contact_table).values(
            invitation_id=invitation_id, phone=contact.phone, email=contact.email, consent_at=now
        )
    )
    [planned] = planned_with_opt_outs(
        session, settings.signing_key(), [plan(contact, configured_names(settings))]
    )
    if planned:
        message_table = OutgoingMessageRow.__table__  # type: ignore[attr-defined]
        session.execute(
            insert(message_table),
            [
                {"invitation_id": invitation_id, **invitation_row(agency_id, p, now)}
                for p in planned
            ],
        )
