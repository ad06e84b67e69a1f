"""The delivery worker evaluates the rules on its message thread, at most every
HAILONG_ALERT_EVERY_SECONDS, and e-mails the alerts in the same round."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from service.auth.officials import OfficialChange, update_official
from service.db import transaction
from service.delivery.worker import DeliveryWorker
from service.models import AlertEmail, Official, utcnow
from tests.alerts.conftest import Office, alerts, official
from tests.messaging.conftest import Mailbox

pytestmark = pytest.mark.usefixtures("agencies")


def test_the_worker_raises_on_its_interval_and_mails(
    engine: sa.Engine, office: Office, worker: DeliveryWorker, mailbox: Mailbox
) -> None:
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    now = utcnow()
    office.petition(
        "P-SOON",
        "79.BTH",
        received_at=(now - timedelta(days=10)).isoformat(),
        deadline_at=(now + timedelta(hours=1)).isoformat(),  # at most one working day away
    )
    assert worker.settings.alert_every_seconds == 300
    # The alert rules' lane, then the message lanes: the alert raised, its e-mail sent.
    assert worker._alert_rules() + worker.send_messages() >= 2
    assert [(a.rule, a.subject) for a in alerts(engine)] == [("petition_deadline", "P-SOON")]
    assert len(mailbox.received) == 1
    office.petition(
        "P-SOON-2",
        "79.BTH",
        received_at=(now - timedelta(days=10)).isoformat(),
        deadline_at=(now + timedelta(hours=2)).isoformat(),
    )
    assert worker._alert_rules() == 0  # within the interval: not evaluated again
    assert len(alerts(engine)) == 1
    worker._next_alerts = 0.0  # the interval has passed
    worker._alert_rules()
    worker.send_messages()
    assert sorted(a.subject for a in alerts(engine)) == ["P-SOON", "P-SOON-2"]
    assert len(mailbox.received) == 2


def test_an_official_moved_to_another_agency_is_not_mailed_its_old_agencys_alert(
    engine: sa.Engine, office: Office, worker: DeliveryWorker, mailbox: Mailbox
) -> None:
    """Recipients are chosen when the alert is raised; the e-mail, retried for hours on a
    temporary SMTP refusal, still went to an official moved meanwhile to another ward
    (audit). Checked again before each sending."""
    official(engine, "bth@tphcm.gov.vn", "manager", "79.BTH")
    official(engine, "city@tphcm.gov.vn", "manager", "79")
    now = utcnow()
    office.petition(
        "P-SOON",
        "79.BTH",
        received_at=(now - timedelta(days=10)).isoformat(),
        deadline_at=(now + timedelta(hours=1)).isoformat(),
    )
    assert worker.raise_alerts()
    with transaction(engine) as session:
        moved = session.exec(select(Official).where(Official.email == "bth@tphcm.gov.vn")).one()
        assert moved.id is not None
        update_official(
            session, "test", moved.id, OfficialChange(set_agency=True, agency_code="79.SGN")
        )
    worker.send_messages()
    assert [m["To"] for m in mailbox.received] == ["city@tphcm.gov.vn"]
    with transaction(engine) as session:
        reasons = {r.reason for r in session.exec(select(AlertEmail)).all()}
    assert "official_scope_changed" in reasons
