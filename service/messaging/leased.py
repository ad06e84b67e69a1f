"""Sending from a table of messages with leases: the way both the citizens' messages
(service/messaging/sending.py) and the managers' alert e-mails (service/alerts/emails.py)
go out, written once.

A row is claimed with FOR UPDATE SKIP LOCKED on PostgreSQL and a compare-and-set on its
lease, so two workers never send one message and a worker that dies mid-send leaves the
lease to lapse; the caller's `decide` then says what to send (or settles the row without
sending); the channel is called with no transaction open; the outcome is recorded only if
the lease is still ours. Temporary failures are retried with exponential backoff until
HAILONG_MESSAGE_GIVE_UP_HOURS, others are final. A problem of the provider account
(channels/base.AccountProblem: an expired token, a balance run dry) postpones the message
without counting toward giving up, and is logged once a round. A message failed for good
is logged and counted (`failed_for_good`).

The table has an id and the columns of `LeasedSend` (service/models/leased.py): status
('pending', then 'sent', 'failed' or 'skipped'), reason, attempts, the lease and the times;
a `provider_id` column, where it has one, records the provider's id of the message.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, or_, update
from sqlmodel import Session, col, select

from service.db import rowcount, transaction
from service.messaging.channels.base import AccountProblem, Channel, OutgoingMessage, SendFailed
from service.messaging.contacts import without_contacts
from service.models import utcnow
from service.models.leased import LeasedSend
from service.ops.observability import MESSAGE_FAILURES
from service.settings import Settings
from service.text_clean import storable_text

log = logging.getLogger("hailong.messages")
LEASE = timedelta(minutes=5)  # longer than any channel's timeout
RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0
ROUND_LIMIT = 100  # messages handled per round; the next round takes the rest
# The reason of a message whose channel has no settings: where the API has none, skipped at
# handover (or no alert e-mail planned); where only the sending worker has none, pending
# until one has them.
CHANNEL_NOT_CONFIGURED = "channel_not_configured"
# Why a phone's SMS or Zalo message was not sent: the other one was (sending.py). A survey
# issued again sends them both again, each with its chance (reposts.py).
SENT_BY = {"zalo": "sent_by_zalo", "sms": "sent_by_sms"}

RowT = TypeVar("RowT", bound=LeasedSend)
Decide = Callable[[Session, Any], OutgoingMessage | None]


@dataclass(frozen=True)
class Claim:
    row_id: int
    lease: datetime
    message: OutgoingMessage | None  # None: decided without sending (skipped, postponed)


def settle(session: Session, row: Any, **values: object) -> None:
    """Set `values` on a claimed row and give its lease back."""
    for name, value in values.items():
        setattr(row, name, value)
    row.lease_until = None
    session.add(row)


def mark_waiting(engine: Engine, table: Any, *among: ColumnElement[bool]) -> int:
    """Mark the pending rows `among` selects with why they wait (CHANNEL_NOT_CONFIGURED), once:
    a reason already there (a provider's temporary failure) stays. Read first: the UPDATE,
    even of no row, would take SQLite's write lock at every round. The rows marked now."""
    unmarked = (col(table.status) == "pending", col(table.reason).is_(None), *among)
    with transaction(engine) as session:
        if session.exec(select(table.id).where(*unmarked).limit(1)).first() is None:
            return 0
        marked = session.execute(
            update(table).where(*unmarked).values(reason=CHANNEL_NOT_CONFIGURED),
            execution_options={"synchronize_session": False},
        )
        return rowcount(marked)


def backoff(attempts: int) -> timedelta:
    seconds = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def _lease_free(table: Any, now: datetime) -> ColumnElement[bool]:
    return or_(col(table.lease_until).is_(None), col(table.lease_until) < now)


def claim(
    engine: Engine,
    table: type[RowT],
    now: datetime,
    decide: Decide,
    among: Sequence[ColumnElement[bool]] = (),
) -> Claim | None:
    """Take the next due pending row (of those `among` selects), if any, and let `decide`
    say what to send."""
    lease = now + LEASE
    row_table: Any = table
    while True:
        with transaction(engine) as session:
            row_id = session.exec(
                select(row_table.id)
                .where(
                    row_table.status == "pending",
                    col(row_table.next_attempt_at) <= now,
                    _lease_free(row_table, now),
                    *among,
                )
                .order_by(col(row_table.next_attempt_at), col(row_table.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row_id is None:
                return None
            taken = session.execute(
                update(row_table)
                .where(
                    col(row_table.id) == row_id,
                    col(row_table.status) == "pending",
                    _lease_free(row_table, now),
                )
                .values(lease_until=lease),
                execution_options={"synchronize_session": False},
            )
            if rowcount(taken) != 1:
                continue  # another worker took it between the two statements
            row = session.get(table, row_id)
            assert row is not None
            session.refresh(row)
            return Claim(row_id, lease, decide(session, row))


def _kept(words: str) -> str:
    """A provider's words (its message id, its error) as the row can hold them: a NUL or
    an overlong id would fail the row's UPDATE, and the message, sent already, would be
    sent again when its lease lapsed."""
    return storable_text(words)[:255]


def failed_for_good(row: Any, channel: str, reason_class: str, reason: str) -> None:
    """Report a message marked failed: a WARNING and hailong_message_failures_total. Every
    citizen's invitation refused for an unregistered template was marked failed, and nobody
    was told (audit). The row id and the reason, never the contact or the link: the reason
    is kept without them (send)."""
    log.warning(
        "%s %s %d failed for good (%s): %s",
        channel,
        type(row).__tablename__,
        row.id,
        reason_class,
        reason,
    )
    MESSAGE_FAILURES.labels(channel, reason_class).inc()


def _said(error: SendFailed, message: OutgoingMessage) -> str:
    """A provider's words as the row keeps them (and the log shows them): no contact, and
    no link of the message (its short code or opt-out token opens the survey or opts out),
    should the provider quote the text it refused."""
    words = without_contacts(error.reason, message.recipient)
    for link, shown in ((message.link, "[link]"), (message.opt_out_link, "[opt-out link]")):
        if link:
            words = words.replace(link, shown)
    return _kept(words)


def send(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    table: type[RowT],
    claimed: Claim,
    now: datetime | None = None,
) -> tuple[str, str | None]:
    """Send a claimed message (no transaction open meanwhile) and record the outcome:
    'sent', 'retry', 'account' (postponed for an account problem), 'failed', or 'lost' (the
    lease lapsed and another worker took over); with the reason of a failure."""
    message = claimed.message
    assert message is not None
    error: SendFailed | None = None
    provider_id = None
    try:
        provider_id = channels[message.channel].send(message).provider_id
        provider_id = None if provider_id is None else _kept(provider_id)
    except SendFailed as exc:
        error = exc
    except Exception as exc:  # an adapter's bug must not stop the worker: try again later
        log.exception("channel %s raised", message.channel)
        error = SendFailed(f"{type(exc).__name__}: {exc}"[:255], retry=True)
    at = now or utcnow()
    with transaction(engine) as session:
        row: Any = session.get(table, claimed.row_id)
        if row is None or row.lease_until != claimed.lease or row.status != "pending":
            return "lost", None
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or at
        if error is None:
            sent: dict[str, object] = {"status": "sent", "sent_at": at, "reason": None}
            if hasattr(row, "provider_id"):
                sent["provider_id"] = provider_id
            settle(session, row, **sent)
            return "sent", None
        reason = _said(error, message)
        if isinstance(error, AccountProblem):
            # Not the message's fault: the time it waits does not count toward giving up
            # (the give-up clock starts again with its next attempt). Its survey's expiry
            # ends it (the caller's decide).
            later = at + backoff(row.attempts)
            settle(session, row, reason=reason, first_attempt_at=None, next_attempt_at=later)
            return "account", reason
        gave_up = at - row.first_attempt_at >= timedelta(hours=settings.message_give_up_hours)
        if error.retry and not gave_up:
            settle(session, row, reason=reason, next_attempt_at=at + backoff(row.attempts))
            return "retry", reason
        settle(session, row, status="failed", reason=reason)
        failed_for_good(row, message.channel, "gave_up" if error.retry else "refused", reason)
        return "failed", reason


def send_due(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    table: type[RowT],
    decide: Decide,
    now: datetime | None = None,
    among: Sequence[ColumnElement[bool]] = (),
    stop: threading.Event | None = None,
) -> int:
    """Every due row of `table` (of those `among` selects), up to ROUND_LIMIT, or until
    `stop` is set: the work done. A worker shutting down waits for the message under way,
    not for a round of a hundred behind a gateway that does not answer (audit: up to 100
    timeouts); the rest stay pending, unclaimed, for the next worker."""
    work = 0
    account: dict[str, tuple[int, str]] = {}  # channel -> (messages postponed, last reason)
    for _ in range(ROUND_LIMIT):
        if stop is not None and stop.is_set():
            break
        claimed = claim(engine, table, now or utcnow(), decide, among)
        if claimed is None:
            break
        work += 1
        if claimed.message is not None:
            outcome, reason = send(engine, settings, channels, table, claimed, now)
            if outcome == "account" and reason is not None:
                count = account.get(claimed.message.channel, (0, ""))[0]
                account[claimed.message.channel] = (count + 1, reason)
    for name, (postponed, said) in sorted(account.items()):
        # Once a round, not a line per message: the operator has one thing to fix.
        log.warning(
            "%s: %d messages wait for a problem of the provider account to be fixed: %s; "
            "they are retried until their surveys expire",
            name,
            postponed,
            said,
        )
    return work
