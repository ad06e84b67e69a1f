"""The delivery worker evaluates the rules on its message thread, at most every
HAILONG_ALERT_EVERY_SECONDS, and e-mails the alerts in the same round."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.admin.agencies import get_agency_by_code
from service.alerts import emails as alert_emails
from service.alerts.evaluate import raise_alerts
from service.auth.officials import OfficialChange, update_official
from service.db import transaction
from service.delivery.worker import DeliveryWorker
from service.messaging.channels.registry import configured_channels
from service.models import AlertEmail, Official, utcnow
from service.ops.counters import CounterRebuild
from service.periods import parse_period
from service.profile import PROFILES_DIR, Profile, load_profile
from service.scoring.rebuild import rebuild_if_profile_changed
from service.scoring.service import evaluate
from service.settings import Settings
from tests.alerts.conftest import VN, Office, alerts, official
from tests.conftest import KeyFactory
from tests.messaging.conftest import Mailbox

pytestmark = pytest.mark.usefixtures("agencies")


def _petition_due_soon(
    engine: sa.Engine,
    office: Office,
    worker: DeliveryWorker,
    hours: float = 1,
    by_lane: bool = False,
) -> datetime:
    """A manager of 79.BTH, and the alert of a petition due in `hours`: raised now (returned),
    with `by_lane` by the worker's alert-rules lane (whose first round evaluates)."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    now = utcnow()
    office.petition(
        "P-SOON",
        "79.BTH",
        received_at=(now - timedelta(days=10)).isoformat(),
        deadline_at=(now + timedelta(hours=hours)).isoformat(),
    )
    assert (worker._alert_rules() if by_lane else len(worker.raise_alerts())) == 1
    return now


def test_the_worker_raises_on_its_interval_and_mails(
    engine: sa.Engine, office: Office, worker: DeliveryWorker, mailbox: Mailbox
) -> None:
    assert worker.settings.alert_every_seconds == 300
    # The alert rules' lane raises the alert (due at most one working day away), then the
    # message lanes send its e-mail.
    now = _petition_due_soon(engine, office, worker, by_lane=True)
    assert worker.send_messages() >= 1
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


def _alert_email(client: TestClient, make_key: KeyFactory) -> dict[str, object]:
    """The only alert's e-mail summary, as GET /api/v1/alerts gives it."""
    answer = client.get("/api/v1/alerts", headers=make_key("admin"))
    assert answer.status_code == 200, answer.text
    [alert] = answer.json()["data"]
    email: dict[str, object] = alert["email"]
    return email


def test_a_worker_without_smtp_leaves_the_alert_mail_waiting_until_one_has_it(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    worker: DeliveryWorker,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(audit) A worker started without the SMTP settings of the one that raised the alert
    marked its e-mails skipped, `channel_not_configured`, for good: once SMTP was
    configured, the managers never got them. They wait, saying why (logged once), and go
    with the first worker that has SMTP."""
    _petition_due_soon(engine, office, worker)
    without_smtp = settings.model_copy(update={"smtp_host": None})
    no_channels = configured_channels(without_smtp)
    with caplog.at_level(logging.WARNING, logger="hailong.alerts"):
        for _ in range(2):
            alert_emails.run_round(engine, without_smtp, no_channels)
    assert mailbox.received == []
    summary = _alert_email(client, make_key)
    assert (summary["pending"], summary["skipped"]) == (1, 0)
    assert summary["reason"] == "channel_not_configured"
    waiting = [r for r in caplog.records if "wait for SMTP" in r.getMessage()]
    assert len(waiting) == 1, caplog.text

    worker.send_messages()
    assert [m["To"] for m in mailbox.received] == ["truong.phong@tphcm.gov.vn"]
    summary = _alert_email(client, make_key)
    assert (summary["sent"], summary["pending"], summary["reason"]) == (1, 0, None)


def normal_counts_as_good(tmp_path: Path) -> Profile:
    """The default profile with a "normal" attitude earning C's point too: counters built
    under the default are another profile's for it."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    changed = text.replace('good_attitude = ["good"]', 'good_attitude = ["good", "normal"]')
    assert changed != text
    path = tmp_path / "normal-is-good.toml"
    path.write_text(changed, encoding="utf-8")
    return load_profile(str(path))


def test_no_alert_is_raised_from_counters_built_under_another_profile(
    engine: sa.Engine, settings: Settings, office: Office, tmp_path: Path
) -> None:
    """A worker started under a new scoring profile before the counters were rebuilt for it
    (or after the rebuild at start failed) judged the old profile's counters by the new
    profile's rules; raised once per period, the false alert (its webhook, its e-mail) was
    never taken back. The rules wait until the counters are the profile's (audit)."""
    # Under the running (default) profile a "normal" attitude earns no C point: K 19.5.
    office.dossier("BTH-1", "79.BTH", "2025-09-10", answer="normal")
    assert office.inputs("79.BTH", "2025-Q3", d=16.5) == 19.5
    # The operator's new profile counts "normal" as good too: K 20.5, not below 20.
    new = normal_counts_as_good(tmp_path)
    now = datetime.fromisoformat(f"2025-09-20T10:00:00{VN}")

    # The counters are still the old profile's: nothing is judged, nothing raised.
    assert raise_alerts(engine, settings, new, now) == []
    assert alerts(engine) == []
    # Once rebuilt under the new profile, K is 20.5: there was nothing to warn about.
    with transaction(engine) as session:
        rebuild_if_profile_changed(session, new)
        ward = get_agency_by_code(session, "79.BTH")
        assert ward is not None and ward.id is not None
        k = evaluate(session, [ward], parse_period("2025-Q3"), new)[ward.id].k
    assert k is not None and float(k) == 20.5
    assert raise_alerts(engine, settings, new, now) == []


def test_a_petition_near_its_deadline_is_announced_whatever_the_counters(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, tmp_path: Path
) -> None:
    """While the counters follow another profile only the rules read from them (K, staff
    C) wait: every rule did, and a worker left under another profile than the server's
    (whose watcher then rebuilds nothing) withheld every petition's deadline warning for
    good (review)."""
    received = f"2025-09-10T09:00:00{VN}"
    office.petition("P-MON", "79.BTH", received_at=received, deadline_at=f"2025-09-22T17:00:00{VN}")
    thursday = datetime.fromisoformat(f"2025-09-18T10:00:00{VN}")
    # The worker runs under a profile whose counted rules differ from the server's (say its
    # unit was not restarted after the profile file was edited, or the other way round).
    worker_profile = normal_counts_as_good(tmp_path)
    server_profile = client.app.state.profile  # type: ignore[attr-defined]
    # The server's watcher finds nothing to rebuild: the counters are its profile's.
    assert CounterRebuild(engine, server_profile)._rebuild("counter-watch") is False
    raise_alerts(engine, settings, worker_profile, thursday)
    # The petition's deadline reads no score counter: it must be announced.
    assert [(a.rule, a.subject) for a in alerts(engine)] == [("petition_deadline", "P-MON")]


def test_an_alert_mail_that_waited_for_smtp_past_the_give_up_hours_is_not_sent(
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    worker: DeliveryWorker,
    mailbox: Mailbox,
) -> None:
    """(review) A mail waiting for SMTP had no end: configured 90 days on, the managers got
    "deadline in one hour" about a petition long past it."""
    now = _petition_due_soon(engine, office, worker)
    without_smtp = settings.model_copy(update={"smtp_host": None})
    alert_emails.run_round(engine, without_smtp, configured_channels(without_smtp))
    # SMTP configured on a worker 90 days later: the petition's deadline is long past.
    later = now + timedelta(days=90)
    alert_emails.run_round(engine, settings, worker.channels, later)
    assert mailbox.received == []
    with transaction(engine) as session:
        [row] = session.exec(select(AlertEmail)).all()
        assert (row.status, row.reason) == ("skipped", "expired")


def test_an_alert_mail_failing_for_a_day_is_failed_with_the_smtp_answer(
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    worker: DeliveryWorker,
    mailbox: Mailbox,
) -> None:
    """(review) The expiry of a mail that waited for SMTP took every mail retried for a day:
    'skipped, expired', the SMTP server's answer lost."""
    now = _petition_due_soon(engine, office, worker, hours=30)
    mailbox.refuse = ["451 4.3.0 mailbox temporarily unavailable"] * 50
    hours = [0.0, 6.0, 12.0, 18.0, 23.5, 24.5]
    for h in hours:
        alert_emails.run_round(engine, settings, worker.channels, now + timedelta(hours=h))
    assert mailbox.received == []
    with transaction(engine) as session:
        [row] = session.exec(select(AlertEmail)).all()
        # Retried, as before b42a1f3, with the server's answer kept (the give-up clock runs
        # on the worker's own time, not this test's).
        assert row.status in ("pending", "failed"), (row.status, row.reason, row.attempts)
        assert row.reason is not None and "451" in row.reason
