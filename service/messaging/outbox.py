"""The messages a handover plans, written in the handover's own transaction.

Each known channel gets a row when it is configured or the contact names an address for
it: `pending` when the citizen consented, gave the address, the channel is configured and
the contact has not opted out; otherwise `skipped`, with the reason. No channel configured
and no contact: no rows (messaging is not in use). A dossier posted again plans nothing:
its invitation keeps the messages it had (the unique index says so too), unless its survey
had been revoked: then the new link is sent again (reposts.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from service import db
from service.messaging import contacts, leased
from service.messaging.channels.base import ChannelName
from service.messaging.channels.registry import CHANNEL_ORDER, configured_names
from service.messaging.schemas import ContactIn, MessagePublic
from service.messaging.sending import address_of, address_refusal, survey_over
from service.models import (
    Invitation,
    InvitationContact,
    MessageOptOut,
    OutgoingMessageRow,
    utcnow,
)
from service.settings import Settings


def address_for(channel: str, phone: str | None, email: str | None) -> str | None:
    return email if channel == "email" else phone


@dataclass(frozen=True)
class Planned:
    channel: ChannelName
    status: str
    reason: str | None
    address: str | None

    def public(self) -> MessagePublic:
        return MessagePublic(channel=self.channel, status=self.status, reason=self.reason)


def plan(contact: ContactIn | None, configured: Collection[str]) -> list[Planned]:
    """The rows before opt-outs are looked at (they need the database)."""
    phone = contact.phone if contact else None
    email = contact.email if contact else None
    planned = []
    for channel in CHANNEL_ORDER:
        address = address_for(channel, phone, email)
        if channel not in configured and address is None:
            continue
        reason = None
        if address is None:
            reason = "no_contact"
        elif contact is None or not contact.consent:
            reason = "no_consent"
        elif channel not in configured:
            reason = leased.CHANNEL_NOT_CONFIGURED
        planned.append(Planned(channel, "skipped" if reason else "pending", reason, address))
    return planned


def record_opt_out(session: Session, channel: str, hashed: str) -> None:
    """The opt-out of a contact (its hash) from a channel, for good; recorded once."""
    table = MessageOptOut.__table__  # type: ignore[attr-defined]
    statement = db.dialect_insert(session.get_bind().dialect.name, table)
    session.execute(
        statement.values(
            contact_hash=hashed, channel=channel, created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["contact_hash", "channel"])
    )


def opted_out(session: Session, hashes: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (contact hash, channel) opted out."""
    if not hashes:
        return set()
    pair = tuple_(col(MessageOptOut.contact_hash), col(MessageOptOut.channel))
    rows = session.exec(
        select(MessageOptOut.contact_hash, MessageOptOut.channel).where(pair.in_(list(hashes)))
    ).all()
    return {(str(h), str(c)) for h, c in rows}


def planned_with_opt_outs(
    session: Session, key: bytes, plans: Sequence[list[Planned]]
) -> list[list[Planned]]:
    """The plans with each pending message to an address that opted out skipped
    (`opted_out`): an opt-out from any channel reaching the same address (SMS and Zalo:
    the number)."""
    wanted = {
        (contacts.contact_hash(key, p.address), channel)
        for planned in plans
        for p in planned
        if p.status == "pending" and p.address is not None
        for channel in contacts.same_address_channels(p.channel)
    }
    refused = opted_out(session, wanted)

    def checked(p: Planned) -> Planned:
        hashed = contacts.contact_hash(key, p.address) if p.address else ""
        reaching = contacts.same_address_channels(p.channel)
        if p.status == "pending" and any((hashed, c) in refused for c in reaching):
            return Planned(p.channel, "skipped", "opted_out", p.address)
        return p

    return [[checked(p) for p in planned] for planned in plans]


def invitation_row(agency_id: int, p: Planned, now: datetime) -> dict[str, Any]:
    """An invitation message's row as planned (its invitation named by the caller)."""
    return {
        "agency_id": agency_id,
        "channel": p.channel,
        "kind": "invitation",
        "status": p.status,
        "reason": p.reason,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "first_attempt_at": None,
        "sent_at": None,
        "provider_id": None,
        "created_at": now,
    }


def stored(contact: ContactIn | None) -> bool:
    """Whether a handover's contact is kept: with consent, and an address."""
    return contact is not None and contact.consent and bool(contact.phone or contact.email)


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any]:
    """An invitation's id is unknown until the COMMIT: its rows find it by token hash."""
    invitation = Invitation.__table__  # type: ignore[attr-defined]
    invitation_id = (
        sa_select(invitation.c.id)
        .where(invitation.c.token_hash == bindparam("invitation_token_hash"))
        .scalar_subquery()
    )
    contact_table = OutgoingMessageRow.metadata.tables["invitation_contact"]
    message_table = OutgoingMessageRow.__table__  # type: ignore[attr-defined]
    return (
        insert(contact_table).values(invitation_id=invitation_id).inline(),
        insert(message_table).values(invitation_id=invitation_id).inline(),
    )


@dataclass(frozen=True)
class ForInvitation:
    """A new invitation about to be written, and the contact its handover carried."""

    token_hash: str
    agency_id: int
    contact: ContactIn | None


def write(
    session: Session, settings: Settings, new: Sequence[ForInvitation], now: datetime
) -> list[list[MessagePublic]]:
    """Plan each invitation's messages and write them (and the consented contact) with the
    COMMIT, after the invitations; returns what each handover's answer says of them."""
    configured = configured_names(settings)
    if not configured and all(item.contact is None for item in new):
        return [[] for _ in new]
    plans = planned_with_opt_outs(
        session, settings.signing_key(), [plan(item.contact, configured) for item in new]
    )
    contact_rows: list[dict[str, Any]] = []
    message_rows: list[dict[str, Any]] = []
    answers: list[list[MessagePublic]] = []
    for item, planned in zip(new, plans, strict=True):
        for p in planned:
            row = invitation_row(item.agency_id, p, now)
            message_rows.append({"invitation_token_hash": item.token_hash, **row})
        answers.append([p.public() for p in planned])
        if stored(item.contact):
            assert item.contact is not None
            contact_rows.append(
                {
                    "invitation_token_hash": item.token_hash,
                    "phone": item.contact.phone,
                    "email": item.contact.email,
                    "consent_at": now,
                }
            )
    insert_contacts, insert_messages = _statements()
    if contact_rows:
        db.at_commit(session, insert_contacts, contact_rows)
    if message_rows:
        db.at_commit(session, insert_messages, message_rows)
    return answers


def messages_of(
    session: Session, invitation_id: int | None, signing_key: bytes
) -> list[MessagePublic]:
    """What became of an invitation's messages (a dossier posted again, a revoke)."""
    if invitation_id is None:
        return []
    invitation = session.get(Invitation, invitation_id)
    rows = session.exec(
        select(OutgoingMessageRow)
        .where(OutgoingMessageRow.invitation_id == invitation_id)
        .order_by(col(OutgoingMessageRow.id))
    ).all()
    now = utcnow()
    over = None if invitation is None else survey_over(invitation, now)
    shown = [_shown(row, over, now) for row in rows]
    if over is None and any(_waiting(row, now) for row in rows):
        contact = session.exec(
            select(InvitationContact).where(InvitationContact.invitation_id == invitation_id)
        ).first()
        shown = [
            _unless_refused(session, signing_key, contact, row) if _waiting(row, now) else m
            for m, row in zip(shown, rows, strict=True)
        ]
    return shown


def _waiting(row: OutgoingMessageRow, now: datetime) -> bool:
    """Pending and not being sent at this moment (a leased one may still go)."""
    return row.status == "pending" and not (row.lease_until is not None and row.lease_until > now)


def _shown(row: OutgoingMessageRow, over: str | None, now: datetime) -> MessagePublic:
    """A row as it stands, except that a pending message of a survey that is over is not
    sent, whenever the worker gets to it (decide skips it): listed pending, a message
    waiting for a channel, a backoff or a worker never said it would not go (audit). One
    being sent at this moment (leased) may still go: it stays pending until it is done."""
    status, reason = row.status, row.reason
    if over is not None and _waiting(row, now):
        status, reason = "skipped", over
    return MessagePublic(channel=row.channel, kind=row.kind, status=status, reason=reason)


def _unless_refused(
    session: Session, signing_key: bytes, contact: InvitationContact | None, row: OutgoingMessageRow
) -> MessagePublic:
    """A waiting message whose address opted out since it was planned (or was forgotten)
    does not go either, as the worker decides: a re-post's answer listed it pending."""
    address = address_of(contact, row.channel)
    refused = address_refusal(session, signing_key, row.channel, address)
    status, reason = ("skipped", refused) if refused is not None else (row.status, row.reason)
    return MessagePublic(channel=row.channel, kind=row.kind, status=status, reason=reason)
