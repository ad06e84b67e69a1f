"""An agency's own response-rate floor, in the e-mail and on the console's alerts page, was
cut to one decimal of a percent like the rate found under it: a rate found below its floor
read equal to it ("Tỷ lệ trả lời: 33,3 %", "Ngưỡng: 33,3 %"). The K rule's threshold was
fixed for exactly this (rules.SETTING_FIGURES); the floor, a setting as well, is written
in every digit now, "33,34 %" (alerts audit)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.alerts import emails
from service.db import transaction
from service.messaging.channels.email import EmailChannel
from service.messaging.channels.registry import configured_channels
from service.models import Agency, Alert, AlertEmail, Invitation, Official, utcnow
from service.settings import Settings
from tests.alerts.conftest import VN, Office, alerts, evaluate, official
from tests.conftest import KeyFactory, make_settings
from tests.console.conftest import ConsoleClient, raw_key
from tests.messaging.conftest import Mailbox

pytestmark = pytest.mark.usefixtures("agencies")
WARD = "79.SGN"


def _figures(html: str, alert_id: int) -> str:
    row = re.search(rf'<tr data-alert="{alert_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"alert {alert_id} is not shown"
    cell = re.search(r'<td data-label="Số liệu">(.*?)</td>', row.group(1), re.S)
    assert cell
    return " ".join(re.sub(r"<[^>]+>", "", cell.group(1)).split())


def _raise_the_alert(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, make_key: KeyFactory
) -> int:
    admin = make_key("admin")
    # The ward's own floor: a third, rounded up ("0,3334").
    put = client.put(
        f"/api/v1/agencies/{WARD}/alert-rules",
        json={"response_rate_low": {"enabled": True, "threshold": 0.3334}},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    official(engine, "truong.phong@saigon.gov.vn", "manager", WARD)
    # 21 invitations issued, 7 answered: a rate of exactly one third, below 0.3334.
    for i in range(21):
        token = office.dossier(f"R{i}", WARD, "2025-09-10")
        if i < 7:
            office.answer(token, "good")
    with transaction(engine) as session:
        session.execute(
            sa.update(Invitation).values(
                issued_at=datetime.fromisoformat(f"2025-09-10T10:00:00{VN}")
            )
        )
    assert len(evaluate(client, settings, datetime.fromisoformat(f"2025-09-20T10:00:00{VN}"))) == 1
    [alert] = alerts(engine)
    assert alert.rule == "response_rate_low"
    assert alert.values["rate"] < alert.values["floor"]
    assert alert.id is not None
    return alert.id


def test_the_email_never_reads_a_rate_below_the_agencys_floor_as_equal_to_it(
    client: TestClient,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    mailbox: Mailbox,
    make_key: KeyFactory,
) -> None:
    _raise_the_alert(client, engine, settings, office, make_key)
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [text] = mailbox.texts()
    rate = re.search(r"- Tỷ lệ trả lời: (.*)\n", text)
    floor = re.search(r"- Ngưỡng: (.*)\n", text)
    assert rate and floor, text
    # The e-mail says the rate fell below the floor; its figures must not read equal.
    assert (rate.group(1), floor.group(1)) == ("33,3 %", "33,34 %"), text


def test_the_alerts_page_never_reads_a_rate_below_the_agencys_floor_as_equal_to_it(
    client: TestClient,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    make_key: KeyFactory,
) -> None:
    alert_id = _raise_the_alert(client, engine, settings, office, make_key)
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", WARD)))
    shown = _figures(console.get("/console/alerts").text, alert_id)
    found_rate = re.search(r"Tỉ lệ phản hồi: ([^;]*);", shown)
    found_floor = re.search(r"Ngưỡng: ([^;]*);", shown)
    assert found_rate and found_floor, shown
    assert (found_rate.group(1), found_floor.group(1)) == ("33,3 %", "33,34 %"), shown


def _alert_mail(
    settings: Settings, raised_at: datetime, rule: str = "k_below_threshold"
) -> EmailMessage:
    agency = Agency(id=1, code="79.BTH", name="Phường Bến Thành", path="/1/")
    alert = Alert(id=1, agency_id=1, rule=rule, period="2026-Q4", values={}, raised_at=raised_at)
    official = Official(id=1, email="truong@phuong.gov.vn", name="Trưởng", role="manager")
    row = AlertEmail(id=1, alert_id=1, official_id=1)
    channel = EmailChannel("127.0.0.1", sender="hailong@phuong.gov.vn")
    return channel.build(emails.compose(settings, row, alert, agency, official))


def test_alert_emails_of_two_installs_never_share_a_message_id(database_url: str) -> None:
    """The Message-ID was the row id alone: alert 1 of two installs sending from one domain,
    or of a rebuilt database, were one message to a mailbox that drops a Message-ID it has
    seen, and the second alert went unseen (messaging audit). One alert's attempts share
    theirs, so that a receiver may drop a repeat."""
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    here = make_settings(database_url)
    another_key = SecretStr("another-install-key-0123456789abcdef")
    there = here.model_copy(update={"secret_key": another_key})
    first = _alert_mail(here, at)["Message-ID"]
    assert first == _alert_mail(here, at)["Message-ID"]  # the same message, sent again
    assert first != _alert_mail(there, at)["Message-ID"]  # another install
    assert first != _alert_mail(here, at + timedelta(days=90))["Message-ID"]  # rebuilt
    assert first.endswith("@phuong.gov.vn>")


def test_a_petitions_alert_email_says_it_comes_again_for_a_later_deadline(
    database_url: str,
) -> None:
    """Its footer said "once per alert and period", while a petition given a later deadline
    is alerted again (alert.occasion): a manager told it would not come again (review)."""
    settings = make_settings(database_url)
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    petition = _plain(_alert_mail(settings, at, "petition_deadline"))
    assert "nếu hạn được gia hạn, thư sẽ được gửi lại" in petition
    assert "một lần cho mỗi cảnh báo và kỳ" not in petition
    k_mail = _plain(_alert_mail(settings, at))
    assert "một lần cho mỗi cảnh báo và kỳ" in k_mail


def _plain(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def test_a_petitions_alert_sent_after_its_deadline_says_it_is_overdue(database_url: str) -> None:
    """(alerts audit) An alert e-mail is retried while the mail server refuses it, for up to
    a day: "deadline approaching" could arrive after the deadline, read as time left."""
    settings = make_settings(database_url)
    deadline = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    agency = Agency(id=1, code="79.BTH", name="Phường Bến Thành", path="/1/")
    alert = Alert(
        id=1,
        agency_id=1,
        rule="petition_deadline",
        subject="PAKN-1",
        period="2026-Q4",
        values={"deadline_at": deadline.isoformat()},
        raised_at=deadline - timedelta(days=2),
    )
    official = Official(id=1, email="truong@phuong.gov.vn", name="Trưởng", role="manager")
    row = AlertEmail(id=1, alert_id=1, official_id=1)

    def subject(now: datetime) -> str:
        return emails.compose(settings, row, alert, agency, official, now).subject

    assert "sắp đến hạn xử lý" in subject(deadline - timedelta(hours=1))
    assert "đã quá hạn xử lý" in subject(deadline + timedelta(minutes=1))
