"""The managers' e-mails: planned with the alert, sent by the worker outside any
transaction through the e-mail channel (service/messaging/channels/email.py), retried.

Why a small table of its own rather than the message outbox (`outgoing_message`): every
row there is an invitation's message to a citizen (its invitation id is required and
unique with the channel and kind), and sending it checks what only a citizen's message
needs (consent, opt-out, quiet hours, the agency's daily cap). An alert goes to officials,
at any hour, from an official's role and scope. What is shared is the channel (the same
SMTP settings and code) and the way of sending (service/messaging/leased.py): a claim with
a compare-and-set lease, the channel called with no transaction open, temporary failures
(SMTP 4xx, no connection) retried with backoff until HAILONG_MESSAGE_GIVE_UP_HOURS.

Recipients: the officials with the role manager or admin, not disabled, whose scope covers
the agency (no agency: every agency; else that agency and its descendants). With no
e-mail channel configured, or nobody to tell, the alert is still recorded and its
`email_reason` says why no e-mail was planned.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.alerts import rules
from service.calendar.working_days import LOCAL_TZ
from service.messaging import leased
from service.messaging.channels.base import Channel, OutgoingMessage
from service.messaging.channels.registry import configured_names
from service.messaging.compose import keyed_tag
from service.messaging.leased import settle
from service.models import Agency, Alert, AlertEmail, Official, Petition, utcnow
from service.numbers import number, percent, typed, typed_percent
from service.periods import parse_period, period_words
from service.settings import Settings

log = logging.getLogger("hailong.alerts")
NOTIFIED_ROLES = ("manager", "admin")
Row = AlertEmail

# The console's alerts page (service/console/alerts_pages.py, which imports this package:
# named here rather than imported), where the alert, its figures and the agency's rules are.
ALERTS_PAGE = "/console/alerts"

RULE_TITLES = {
    "k_below_threshold": "Chỉ số hài lòng K dưới ngưỡng",
    "staff_c_falling": "Tỷ lệ thái độ phục vụ tốt (C) của cán bộ giảm",
    "petition_deadline": "Phản ánh, kiến nghị sắp đến hạn xử lý",
    "response_rate_low": "Tỷ lệ người dân trả lời khảo sát thấp",
}


def recipients(session: Session, agency: Agency) -> list[Official]:
    """Active managers and admins whose scope covers the agency."""
    rows = session.exec(
        select(Official, Agency.path)
        .join(Agency, col(Agency.id) == col(Official.agency_id), isouter=True)
        .where(col(Official.role).in_(NOTIFIED_ROLES), col(Official.disabled_at).is_(None))
        .order_by(col(Official.id))
    ).all()
    return [o for o, path in rows if _covers(o, path, agency)]


def _covers(official: Official, scope_path: str | None, agency: Agency) -> bool:
    """Whether the official's scope (its agency's path; every agency without one) covers
    the agency."""
    return official.agency_id is None or (scope_path is not None and agency.is_within(scope_path))


def plan(session: Session, settings: Settings, alert: Alert) -> None:
    """In the alert's own transaction: one pending e-mail per recipient, or the reason."""
    assert alert.id is not None
    agency = session.get(Agency, alert.agency_id)
    assert agency is not None
    if "email" not in configured_names(settings):
        alert.email_reason = leased.CHANNEL_NOT_CONFIGURED
    else:
        people = recipients(session, agency)
        if not people:
            alert.email_reason = "no_recipients"
        for official in people:
            assert official.id is not None
            session.add(Row(alert_id=alert.id, official_id=official.id, next_attempt_at=utcnow()))
    session.add(alert)
    session.flush()


# The figures' names as a manager reads them (the API keeps the keys).
VALUE_LABELS = {
    "k": "Chỉ số K",
    "k_max": "Chỉ số K cao nhất còn có thể đạt (chưa đủ dữ liệu)",
    "group": "Nhóm",
    "c": "C kỳ này",
    "previous_c": "C kỳ trước",
    "previous_period": "Kỳ trước",
    "drop": "Mức giảm của C",
    "evaluations": "Số phiếu kỳ này",
    "previous_evaluations": "Số phiếu kỳ trước",
    "deadline_at": "Hạn xử lý",
    "working_days_left": "Số ngày làm việc còn lại",
    "rate": "Tỷ lệ trả lời",
    "issued": "Số phiếu đã phát",
    "answered": "Số phiếu đã trả lời",
    "floor": "Ngưỡng",
    "threshold": "Ngưỡng",
    "min_issued": "Số phiếu tối thiểu để xét",
    "settle_days": "Chỉ xét phiếu phát từ bấy nhiêu ngày trước",
}


GROUP_WORDS = {
    "hai_long": "Hài lòng",
    "khong_hai_long": "Không hài lòng",
    "chua_du_du_lieu": "Chưa đủ dữ liệu",
}


def figure(value: float) -> Decimal:
    """An alert's figure as stored (a JSON float), for people: the decimal the float is (its
    shortest form, `repr`), then cut to the places shown by service/numbers.py's rule, never
    cleaned up. numbers.py cleans a float of arithmetic's binary noise at 15 significant
    digits, which read the K 19.99999999999996 (3 + 15.99999999999996 + 1, found below 20)
    as "20" beside "Ngưỡng: 20" (audit). An alert's figures carry no such noise: each is the
    float of an exact value (K, C, a rate; evaluate.py), or one written so (a threshold).
    The e-mails and the console's alerts page both read an alert's figures through here."""
    return Decimal(repr(float(value)))


def _value_text(name: str, value: object) -> str:
    """A time in Vietnam's (a deadline stored in UTC read as 10:00 for 17:00: audit); a
    number by the pages' one rule (service/numbers.py: rounded down, a decimal comma; read
    by `figure`): to four figures, a K of 19.996 read "20" beside "Ngưỡng: 20" and "Không
    hài lòng", and a response rate of 29.996 % "0,3" beside its floor "0,3" (audit)."""
    if isinstance(value, str):
        if value in GROUP_WORDS:
            return GROUP_WORDS[value]
        if name == "previous_period":
            return _period_text(value)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if name in rules.SETTING_FIGURES:
            in_percent = name in rules.PERCENT_FIGURES
            return typed_percent(value, "vi") if in_percent else typed(value, "vi")
        exact = figure(value)
        return percent(exact, "vi") if name in rules.PERCENT_FIGURES else number(exact, "vi")
    return str(value)


def _period_text(key: str, *, inside: bool = False) -> str:
    """'Quý IV năm 2026' for '2026-Q4': an e-mail read by officials, in their words (the
    subject said '(2026-Q4)' where the pages and the report say the quarter; audit)."""
    try:
        return period_words(parse_period(key), inside=inside)
    except ValueError:
        return key


def _values_text(values: Mapping[str, object]) -> str:
    return "\n".join(
        f"- {VALUE_LABELS.get(name, name)}: {_value_text(name, value)}"
        for name, value in values.items()
    )


def _once_per(alert: Alert) -> str:
    """The footer: when another e-mail of this alert may come. A petition's comes again for
    each later deadline it is given (its occasion), which "once per alert and period"
    denied (review)."""
    if alert.rule == "petition_deadline":
        return (
            "Thư này được gửi tự động một lần cho mỗi phản ánh, kiến nghị và hạn xử lý; "
            "nếu hạn được gia hạn, thư sẽ được gửi lại khi hạn mới đến gần."
        )
    return "Thư này được gửi tự động một lần cho mỗi cảnh báo và kỳ."


# A petition's deadline alert sent once the deadline has passed (an e-mail retried while
# the mail server refused it for hours): "approaching" would read as still time to act.
OVERDUE_TITLE = "Phản ánh, kiến nghị đã quá hạn xử lý"


def _told_deadline(alert: Alert) -> datetime | None:
    """The deadline a petition's alert was raised with (its figures keep it as text)."""
    with suppress(KeyError, TypeError, ValueError):
        return datetime.fromisoformat(alert.values["deadline_at"])
    return None


def _overdue(alert: Alert, now: datetime) -> bool:
    """A petition's deadline alert going out once its deadline has passed."""
    told = _told_deadline(alert) if alert.rule == "petition_deadline" else None
    return told is not None and told <= now


def compose(
    settings: Settings,
    row: Row,
    alert: Alert,
    agency: Agency,
    official: Official,
    now: datetime | None = None,
) -> OutgoingMessage:
    overdue = _overdue(alert, now or utcnow())
    title = OVERDUE_TITLE if overdue else RULE_TITLES.get(alert.rule, alert.rule)
    # Past the deadline, the working days left it was raised with are none.
    shown = {k: v for k, v in alert.values.items() if not (overdue and k == "working_days_left")}
    # The agency's alerts, not the console's front page a manager had to find them from
    # (audit).
    link = f"{settings.base_url}{ALERTS_PAGE}?{urlencode({'agency': agency.code})}"
    about = f"Đối tượng: {alert.subject}\n" if alert.subject else ""
    text = (
        f"Kính gửi {official.name},\n\n"
        f"hailong cảnh báo cho {agency.name} ({agency.code}), "
        f"{_period_text(alert.period, inside=True)}: {title}.\n"
        f"{about}"
        "\n"
        f"Số liệu:\n{_values_text(shown)}\n\n"
        f"Xem chi tiết trong trang quản lý: {link}\n\n"
        f"{_once_per(alert)}"
    )
    assert row.id is not None
    return OutgoingMessage(
        message_id=row.id,
        channel="email",
        kind="alert",
        recipient=official.email,
        subject=f"[hailong] {title}: {agency.name} ({_period_text(alert.period)})",
        text=text,
        link=link,
        opt_out_link="",
        agency_name=agency.name,
        dossier_code="",
        language="vi",
        link_key=_alert_key(settings.signing_key(), row, alert),
    )


def _alert_key(signing_key: bytes, row: Row, alert: Alert) -> str:
    """What tells this alert e-mail from another install's (or a rebuilt database's) with
    the same row id, keyed so that it tells nothing: its Message-ID was the row id alone,
    and a mailbox that drops a Message-ID it has seen hid the second alert (audit)."""
    return keyed_tag(signing_key, f"alert-email:{row.id}:{alert.id}:{alert.raised_at.isoformat()}")


def _petition_settled(session: Session, alert: Alert) -> str | None:
    """Why a petition's deadline alert, retried while the mail server refused it, is no
    news any more: the petition was handled, or given another deadline (which has its own
    alert). Sent anyway, one handled in time went out titled overdue (review)."""
    if alert.rule != "petition_deadline":
        return None
    petition = session.exec(
        select(Petition).where(
            Petition.agency_id == alert.agency_id, Petition.code == alert.subject
        )
    ).first()
    if petition is None or petition.handled_at is not None:
        return "petition_handled"
    told = _told_deadline(alert)
    if petition.deadline_at is None or told is None or petition.deadline_at != told:
        return "deadline_changed"
    return None


def _decide(
    session: Session, settings: Settings, row: Row, now: datetime
) -> OutgoingMessage | None:
    waited = row.first_attempt_at is None and row.reason == leased.CHANNEL_NOT_CONFIGURED
    if waited and now - row.created_at >= timedelta(hours=settings.message_give_up_hours):
        # It waited for SMTP, never tried, for as long as a failing one is retried: the
        # alert is old news ("deadline in one hour", sent 90 days on: review). One that was
        # tried keeps its retries and ends with the server's answer (review).
        settle(session, row, status="skipped", reason="expired")
        return None
    official = session.get(Official, row.official_id)
    if official is None or official.disabled_at is not None:
        settle(session, row, status="skipped", reason="official_disabled")
        return None
    if official.role not in NOTIFIED_ROLES:
        settle(session, row, status="skipped", reason="official_role_changed")
        return None
    alert = session.get(Alert, row.alert_id)
    assert alert is not None
    agency = session.get(Agency, alert.agency_id)
    assert agency is not None
    if (settled := _petition_settled(session, alert)) is not None:
        settle(session, row, status="skipped", reason=settled)
        return None
    # Moved to another agency since the alert was raised: not theirs to read any more (an
    # e-mail retried for hours went to the official's new ward: audit).
    scope = session.get(Agency, official.agency_id) if official.agency_id is not None else None
    if not _covers(official, scope.path if scope is not None else None, agency):
        settle(session, row, status="skipped", reason="official_scope_changed")
        return None
    return compose(settings, row, alert, agency, official, now)


def run_round(
    engine: Engine,
    settings: Settings,
    channels: Mapping[str, Channel],
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Every due alert e-mail (up to leased.ROUND_LIMIT, or until `stop` is set): the work
    done. A worker without the e-mail channel leaves them pending, saying why (they go
    once a worker has it): skipped for good, they were never sent once the operator
    configured SMTP, e.g. on a worker started without the SMTP settings of the one that
    raised the alert (audit). An alert has no end of its own to skip it for; the official's
    role and scope are checked when it is sent."""
    if "email" not in channels:
        _say_waiting(engine)
        return 0

    def decide(session: Session, row: Row) -> OutgoingMessage | None:
        return _decide(session, settings, row, now or utcnow())

    return leased.send_due(engine, settings, channels, Row, decide, now, stop=stop)


def _say_waiting(engine: Engine) -> None:
    """Mark the pending alert e-mails with why they wait (the alert's listing shows it),
    once, and log how many began waiting."""
    marked = leased.mark_waiting(engine, Row)
    if marked:
        log.warning(
            "%d alert e-mails wait for SMTP, which this worker has not configured; they go "
            "once it is",
            marked,
        )
