"""Sending the outbox: what may still go (consent, opt-out, quiet hours, the daily cap)
and the one reminder per channel; a message's words are compose.py's; claiming, sending
and recording are service/messaging/leased.py's, shared with the alert e-mails.

Like webhook deliveries (service/delivery/sending.py): candidates are picked with FOR
UPDATE SKIP LOCKED on PostgreSQL and every claim is a compare-and-set on a lease, so two
workers never send one message; a worker that dies mid-send leaves the lease to lapse.
Every function takes `now`, so tests move time without sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from functools import partial

from sqlalchemy import ColumnElement, Engine, and_, exists, func, or_, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from service.calendar.working_days import LOCAL_TZ
from service.db import dialect_insert, transaction
from service.messaging import contacts, leased
from service.messaging.channels.base import Channel, OutgoingMessage
from service.messaging.compose import compose
from service.messaging.leased import settle
from service.models import (
    Agency,
    Dossier,
    Invitation,
    InvitationContact,
    MessageOptOut,
    OutgoingMessageRow,
    utcnow,
)
from service.settings import Settings

log = logging.getLogger("hailong.messages")
REMINDER_BATCH = 500
Row = OutgoingMessageRow
LIVE = ("issued", "opened")  # a survey's statuses while it can still be answered


def survey_over(invitation: Invitation, now: datetime) -> str | None:
    """Why no message of this survey may go any more ('answered', 'revoked', 'expired'),
    or None while it can be answered."""
    if invitation.status not in LIVE:
        return invitation.status
    return "expired" if invitation.expires_at <= now else None


def _survey_over_sql(now: datetime) -> ColumnElement[bool]:
    """`survey_over` in SQL, for a message row."""
    return exists().where(
        col(Invitation.id) == col(Row.invitation_id),
        or_(col(Invitation.status).not_in(LIVE), col(Invitation.expires_at) <= now),
    )


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(settings: Settings, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in (aware), or None outside them."""
    local = now.astimezone(LOCAL_TZ)
    start, end = _clock(settings.message_quiet_start), _clock(settings.message_quiet_end)
    at = local.time()
    if start == end:
        return None
    inside = (start <= at or at < end) if start > end else (start <= at < end)
    if not inside:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, LOCAL_TZ)


def _local_day(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(LOCAL_TZ).date()
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return start, start + timedelta(days=1)


def _sent_today(session: Session, agency_id: int, now: datetime) -> int:
    start, end = _local_day(now)
    return session.exec(
        select(func.count())
        .select_from(Row)
        .where(
            Row.agency_id == agency_id,
            Row.status == "sent",
            col(Row.sent_at) >= start,
            col(Row.sent_at) < end,
        )
    ).one()


def address_of(contact: InvitationContact | None, channel: str) -> str | None:
    """Where a message on `channel` goes: None once the contact is purged (or never held
    that address)."""
    if contact is None:
        return None
    return contact.email if channel == "email" else contact.phone


def address_refusal(session: Session, key: bytes, channel: str, address: str | None) -> str | None:
    """Why nothing may go on `channel` to `address` ('no_contact', 'opted_out'), or None.
    An opt-out on any channel that reaches the address counts: a Zalo reminder went to a
    number whose owner had opted out by the SMS's link (audit)."""
    if address is None:
        return "no_contact"
    found = session.exec(
        select(MessageOptOut.id).where(
            MessageOptOut.contact_hash == contacts.contact_hash(key, address),
            col(MessageOptOut.channel).in_(contacts.same_address_channels(channel)),
        )
    ).first()
    return None if found is None else "opted_out"


# The advisory locks' first key (PostgreSQL's two-key form) for a phone's decisions.
PHONE_DECISIONS = 0x68616C70  # "halp"


def _phone_decisions_take_turns(session: Session, invitation_id: int) -> None:
    """A phone's SMS and Zalo decisions take turns, per invitation, until the transaction
    ends: each lane then sees the other's message claimed (its lease committed with its
    decision), and both were sent when decided at the same moment (alerts audit). An
    advisory lock, not the invitation's row: the message row is locked already, and a
    re-post of the dossier locks the invitation, then its messages (review: a deadlock).
    SQLite has one writer: the claim's write has taken its lock already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:kind, :invitation)"),
            {"kind": PHONE_DECISIONS, "invitation": invitation_id % 2**31},
        )


def _decide(
    session: Session,
    settings: Settings,
    channels: Mapping[str, Channel],
    row: Row,
    now: datetime,
) -> OutgoingMessage | None:
    """The message to send now, or None once the row is skipped or postponed."""
    if row.channel in PHONE_CHANNELS:
        _phone_decisions_take_turns(session, row.invitation_id)
    invitation = session.get(Invitation, row.invitation_id)
    assert invitation is not None
    if (over := survey_over(invitation, now)) is not None:
        settle(session, row, status="skipped", reason=over)
        return None
    if row.channel not in channels:  # upkeep claims no such row while its survey is live
        settle(session, row, reason=leased.CHANNEL_NOT_CONFIGURED)
        return None
    if row.reason == leased.CHANNEL_NOT_CONFIGURED:
        # This worker has the channel: held for the quiet hours or the daily cap below, the
        # message said it waited for a channel until it was sent (review).
        row.reason = None
    contact = session.exec(
        select(InvitationContact).where(InvitationContact.invitation_id == invitation.id)
    ).first()
    address = address_of(contact, row.channel)
    refused = address_refusal(session, settings.signing_key(), row.channel, address)
    if refused is not None or address is None:
        settle(session, row, status="skipped", reason=refused or "no_contact")
        return None
    if _one_phone_message(session, channels, row, now):
        return None
    quiet_end = quiet_until(settings, now)
    if quiet_end is not None:
        settle(session, row, next_attempt_at=quiet_end)
        return None
    if _sent_today(session, row.agency_id, now) >= settings.message_daily_cap:
        settle(session, row, next_attempt_at=_local_day(now)[1])
        return None
    dossier = session.get(Dossier, invitation.dossier_id)
    assert dossier is not None
    agency = session.get(Agency, dossier.agency_id)
    assert agency is not None
    try:
        return compose(settings, row, invitation, dossier, agency, address)
    except ValueError as exc:  # an SMS that cannot fit: a configuration problem
        reason = str(exc)[:255]
        settle(session, row, status="failed", reason=reason)
        leased.failed_for_good(row, row.channel, "cannot_fit", reason)
        return None


# How long an SMS waits for the Zalo message of its phone to be tried, past the time that
# one is due: a Zalo round tries a due message within seconds.
ZALO_FIRST_WAIT = timedelta(minutes=1)
AFTER_ZALO = "after_zalo"
AFTER_SMS = "after_sms"  # a Zalo message waiting for the SMS under way to its phone
# How long a phone's message waits for the other channel's send under way before it looks
# again: the send's lease is minutes (any timeout), the send itself seconds.
IN_FLIGHT_WAIT = timedelta(seconds=15)
PHONE_CHANNELS = ("sms", "zalo")


def _one_phone_message(
    session: Session, channels: Mapping[str, Channel], row: Row, now: datetime
) -> bool:
    """Whether an SMS or a Zalo message was settled because its phone gets the link the
    other way: skipped once the other one is sent, or (an SMS) postponed until its Zalo
    message has been tried. With both set up, a phone got the same link twice, by SMS and
    by Zalo, and each office paid twice (audit). Zalo goes first (most phones have it, and
    a ZNS costs less); the SMS goes where it could not deliver (no Zalo account, a
    failure, retries under way) and where this worker has no Zalo settings, and a Zalo
    retry that comes after the SMS went is not sent (review)."""
    if row.channel not in PHONE_CHANNELS:
        return False
    other_channel = "zalo" if row.channel == "sms" else "sms"
    other = session.exec(
        select(Row).where(
            Row.invitation_id == row.invitation_id,
            Row.channel == other_channel,
            Row.kind == row.kind,
        )
    ).first()
    if other is None:
        return False
    if other.status == "sent":
        settle(session, row, status="skipped", reason=leased.SENT_BY[other_channel])
        return True
    if other.status == "pending" and other.lease_until is not None and other.lease_until > now:
        # Being sent the other way (claimed, its outcome not yet recorded): wait for it,
        # then skip once it is sent, or go if it failed. Both were sent (alerts audit: a
        # Zalo retry under way read as "pending" to the SMS lane).
        after = AFTER_ZALO if other_channel == "zalo" else AFTER_SMS
        later = min(other.lease_until, now + IN_FLIGHT_WAIT)  # a send takes seconds
        settle(session, row, reason=after, next_attempt_at=later)
        return True
    zalo_untried = other.status == "pending" and other.attempts == 0
    if row.channel == "sms" and "zalo" in channels and zalo_untried:
        # Held as long as the Zalo message is (quiet hours, the daily cap), plus its try:
        # not claimed again every minute meanwhile (review).
        later = max(now, other.next_attempt_at) + ZALO_FIRST_WAIT
        settle(session, row, reason=AFTER_ZALO, next_attempt_at=later)
        return True
    if row.reason in (AFTER_ZALO, AFTER_SMS):  # it waits for nothing now
        row.reason = None
    return False


def create_reminders(engine: Engine, settings: Settings, now: datetime) -> int:
    """One reminder per channel that sent an invitation `message_reminder_days` ago, for
    invitations still unanswered and unexpired, whose contact is still kept: a citizen who
    withdrew consent since (reposts.consent_withdrawn) got a reminder planned, skipped as
    "no_contact" when due, which told the one-stop system that it had given no address
    (outreach audit). The unique index keeps it to one."""
    sent_before = now - timedelta(days=settings.message_reminder_days)
    reminder = aliased(Row)
    with transaction(engine) as session:
        due = session.exec(
            select(Row.invitation_id, Row.agency_id, Row.channel)
            .join(Invitation, col(Invitation.id) == col(Row.invitation_id))
            .where(
                Row.kind == "invitation",
                Row.status == "sent",
                col(Row.sent_at) <= sent_before,
                col(Invitation.status).in_(("issued", "opened")),
                col(Invitation.expires_at) > now,
                exists().where(col(InvitationContact.invitation_id) == col(Row.invitation_id)),
                ~exists().where(
                    and_(
                        col(reminder.invitation_id) == col(Row.invitation_id),
                        col(reminder.channel) == col(Row.channel),
                        col(reminder.kind) == "reminder",
                    )
                ),
            )
            .limit(REMINDER_BATCH)
        ).all()
        if not due:
            return 0
        rows = [
            {
                "invitation_id": invitation_id,
                "agency_id": agency_id,
                "channel": channel,
                "kind": "reminder",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for invitation_id, agency_id, channel in due
        ]
        table = Row.__table__  # type: ignore[attr-defined]
        statement = dialect_insert(engine.dialect.name, table).on_conflict_do_nothing(
            index_elements=["invitation_id", "channel", "kind"]
        )
        session.execute(statement, rows)
    return len(rows)


def run_round(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    *,
    reminders: bool = True,
) -> int:
    """Reminders due, then every due message (up to leased.ROUND_LIMIT a channel): the
    work done. The channels are sent side by side, each on a thread of its own (the
    worker runs each as a lane of its own instead: channel_lanes)."""
    work = upkeep(engine, settings, channels, now, reminders=reminders)
    lanes = list(channel_lanes(engine, settings, channels, now).values())
    if len(lanes) < 2:
        return work + sum(lane() for lane in lanes)
    with ThreadPoolExecutor(len(lanes), thread_name_prefix="message-channel") as pool:
        return work + sum(pool.map(run_lane, lanes))


def run_lane(lane: Callable[[], int]) -> int:
    """A lane's round (for a pool's map)."""
    return lane()


def upkeep(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    *,
    reminders: bool = True,
    stop: threading.Event | None = None,
) -> int:
    """The reminders now due (with `reminders`); the messages of a channel this worker has
    not configured whose survey is over, each skipped with the reason (decide); the work
    done. The others wait, pending, for the channel: skipped for good, they were never sent
    once the operator configured it, e.g. on a worker started without the SMS settings the
    API had (audit)."""
    at = now or utcnow()
    work = create_reminders(engine, settings, at) if reminders else 0
    unconfigured = col(Row.channel).not_in(sorted(channels))
    work += _sender(engine, settings, channels, now, stop)([unconfigured, _survey_over_sql(at)])
    _say_waiting(engine, sorted(channels))
    return work


def _say_waiting(engine: Engine, configured: list[str]) -> None:
    """Mark the pending messages of a channel not configured with why they wait (the
    handover's answer shows it), once, and log how many began waiting."""
    marked = leased.mark_waiting(engine, Row, col(Row.channel).not_in(configured))
    if marked:
        log.warning(
            "%d messages wait for a channel this worker has not configured (configured: %s); "
            "they go once it is",
            marked,
            ", ".join(configured) or "none",
        )


def channel_lanes(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Callable[[], int]]:
    """Per configured channel, one round of its due messages (up to leased.ROUND_LIMIT):
    work that waits for no other channel. An SMS gateway that does not answer held up every
    e-mail of every agency behind it, up to its timeout a message (audit). (The agencies'
    daily cap is counted across channels running side by side, so a round may pass it by a
    message or two.) A round ends early once `stop` is set (leased.send_due)."""
    send = _sender(engine, settings, channels, now, stop)
    return {name: partial(send, [col(Row.channel) == name]) for name in sorted(channels)}


def _sender(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None,
    stop: threading.Event | None = None,
) -> Callable[[list[ColumnElement[bool]]], int]:
    """Sends the due rows matching its conditions; each decided at its own moment."""

    def decide(session: Session, row: Row) -> OutgoingMessage | None:
        return _decide(session, settings, channels, row, now or utcnow())

    def send(among: list[ColumnElement[bool]]) -> int:
        return leased.send_due(engine, settings, channels, Row, decide, now, among, stop)

    return send
