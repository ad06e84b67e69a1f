"""The managers' e-mails: planned with the alert, sent by the worker outside any
transaction through the e-mail channel (service/messaging/channels/email.py), retried.

Why a small table of its own rather than the message outbox (`outgoing_message`): every
row there is an invitation's message to a citizen (its invitation id is required and
unique with the channel and kind), and sending it checks what only a citizen's message
needs (consent, opt-out, quiet hours, the agency's daily cap). An alert goes to officials,
at any hour, from an official's role and scope. What is shared is the channel (the same
SMTP settings and code) and the way of sending: a claim with a compare-and-set lease,
the channel called with no transaction open, temporary failures (SMTP 4xx, no connection)
retried with exponential backoff until HAILONG_MESSAGE_GIVE_UP_HOURS, 5xx answers final.

Recipients: the officials with the role manager or admin, not disabled, whose scope covers
the agency (no agency: every agency; else that agency and its descendants). With no
e-mail channel configured, or nobody to tell, the alert is still recorded and its
`email_reason` says why no e-mail was planned.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, or_, update
from sqlmodel import Session, col, select

from service.db import transaction
from service.messaging.channels.base import Channel, OutgoingMessage, SendFailed
from service.messaging.channels.registry import configured_names
from service.messaging.sending import LEASE, RETRY_BASE_SECONDS, RETRY_MAX_SECONDS
from service.models import Agency, Alert, AlertEmail, Official, utcnow
from service.settings import Settings

log = logging.getLogger("hailong.alerts")
ROUND_LIMIT = 100
NOTIFIED_ROLES = ("manager", "admin")
Row = AlertEmail

RULE_TITLES = {
    "k_below_threshold": "Chỉ số hài lòng K dưới ngưỡng",
    "staff_c_falling": "Tỷ lệ thái độ phục vụ tốt (C) của cán bộ giảm",
    "petition_deadline": "Phản ánh, kiến nghị sắp đến hạn xử lý",
    "response_rate_low": "Tỷ lệ người dân đánh giá thấp",
}


def recipients(session: Session, agency: Agency) -> list[Official]:
    """Active managers and admins whose scope covers the agency."""
    rows = session.exec(
        select(Official, Agency.path)
        .join(Agency, col(Agency.id) == col(Official.agency_id), isouter=True)
        .where(col(Official.role).in_(NOTIFIED_ROLES), col(Official.disabled_at).is_(None))
        .order_by(col(Official.id))
    ).all()
    return [o for o, path in rows if o.agency_id is None or (path and agency.is_within(path))]


def plan(session: Session, settings: Settings, alert: Alert) -> None:
    """In the alert's own transaction: one pending e-mail per recipient, or the reason."""
    assert alert.id is not None
    agency = session.get(Agency, alert.agency_id)
    assert agency is not None
    if "email" not in configured_names(settings):
        alert.email_reason = "channel_not_configured"
    else:
        people = recipients(session, agency)
        if not people:
            alert.email_reason = "no_recipients"
        for official in people:
            assert official.id is not None
            session.add(Row(alert_id=alert.id, official_id=official.id, next_attempt_at=utcnow()))
    session.add(alert)
    session.flush()


def _values_text(values: Mapping[str, object]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in values.items())


def compose(
    settings: Settings, row: Row, alert: Alert, agency: Agency, official: Official
) -> OutgoingMessage:
    title = RULE_TITLES.get(alert.rule, alert.rule)
    link = f"{settings.base_url}/console"
    about = f"Đối tượng: {alert.subject}\n" if alert.subject else ""
    text = (
        f"Kính gửi {official.name},\n\n"
        f"hailong cảnh báo cho {agency.name} ({agency.code}), kỳ {alert.period}: {title}.\n"
        f"{about}Quy tắc: {alert.rule}\n\n"
        f"Số liệu:\n{_values_text(alert.values)}\n\n"
        f"Xem chi tiết trong trang quản lý: {link}\n\n"
        "Thư này được gửi tự động một lần cho mỗi cảnh báo và kỳ."
    )
    assert row.id is not None
    return OutgoingMessage(
        message_id=row.id,
        channel="email",
        kind="alert",
        recipient=official.email,
        subject=f"[hailong] {title}: {agency.name} ({alert.period})",
        text=text,
        link=link,
        opt_out_link="",
        agency_name=agency.name,
        dossier_code="",
        language="vi",
    )


@dataclass(frozen=True)
class Claim:
    row_id: int
    lease: datetime
    message: OutgoingMessage | None  # None: settled without sending


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(col(Row.lease_until).is_(None), col(Row.lease_until) < now)


def _settle(session: Session, row: Row, **values: object) -> None:
    for name, value in values.items():
        setattr(row, name, value)
    row.lease_until = None
    session.add(row)


def _decide(
    session: Session, settings: Settings, channels: Mapping[str, Channel], row: Row
) -> OutgoingMessage | None:
    official = session.get(Official, row.official_id)
    if official is None or official.disabled_at is not None:
        _settle(session, row, status="skipped", reason="official_disabled")
        return None
    if official.role not in NOTIFIED_ROLES:
        _settle(session, row, status="skipped", reason="official_role_changed")
        return None
    if "email" not in channels:
        _settle(session, row, status="skipped", reason="channel_not_configured")
        return None
    alert = session.get(Alert, row.alert_id)
    assert alert is not None
    agency = session.get(Agency, alert.agency_id)
    assert agency is not None
    return compose(settings, row, alert, agency, official)


def claim(
    engine: Engine, settings: Settings, channels: Mapping[str, Channel], now: datetime
) -> Claim | None:
    lease = now + LEASE
    while True:
        with transaction(engine) as session:
            row_id = session.exec(
                select(Row.id)
                .where(Row.status == "pending", col(Row.next_attempt_at) <= now, _lease_free(now))
                .order_by(col(Row.next_attempt_at), col(Row.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row_id is None:
                return None
            taken = session.execute(
                update(Row)
                .where(col(Row.id) == row_id, col(Row.status) == "pending", _lease_free(now))
                .values(lease_until=lease),
                execution_options={"synchronize_session": False},
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took it between the two statements
            row = session.get(Row, row_id)
            assert row is not None
            session.refresh(row)
            return Claim(row_id, lease, _decide(session, settings, channels, row))


def _backoff(attempts: int) -> timedelta:
    seconds = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.0))


def send(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    claimed: Claim,
    now: datetime | None = None,
) -> str:
    """Send with no transaction open, then record: 'sent', 'retry', 'failed' or 'lost'."""
    message = claimed.message
    assert message is not None
    error: SendFailed | None = None
    try:
        channels["email"].send(message)
    except SendFailed as exc:
        error = exc
    except Exception as exc:  # a channel's bug must not stop the worker: try again later
        log.exception("alert e-mail raised")
        error = SendFailed(f"{type(exc).__name__}: {exc}"[:255], retry=True)
    at = now or utcnow()
    with transaction(engine) as session:
        row = session.get(Row, claimed.row_id)
        if row is None or row.lease_until != claimed.lease or row.status != "pending":
            return "lost"
        row.attempts += 1
        row.first_attempt_at = row.first_attempt_at or at
        if error is None:
            _settle(session, row, status="sent", sent_at=at, reason=None)
            return "sent"
        gave_up = at - row.first_attempt_at >= timedelta(hours=settings.message_give_up_hours)
        if error.retry and not gave_up:
            _settle(
                session, row, reason=error.reason[:255], next_attempt_at=at + _backoff(row.attempts)
            )
            return "retry"
        _settle(session, row, status="failed", reason=error.reason[:255])
        return "failed"


def run_round(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
) -> int:
    """Every due alert e-mail (up to ROUND_LIMIT): the work done."""
    work = 0
    for _ in range(ROUND_LIMIT):
        claimed = claim(engine, settings, channels, now or utcnow())
        if claimed is None:
            break
        work += 1
        if claimed.message is not None:
            send(engine, settings, channels, claimed, now)
    return work
