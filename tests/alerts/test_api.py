"""Per-agency rule overrides, scopes, the alert list, and the e-mail when SMTP is absent
or answers "try later"."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.alerts import emails
from service.app import create_app
from service.db import transaction
from service.messaging.channels.registry import configured_channels
from service.models import AlertEmail, AuditLog, utcnow
from service.settings import Settings
from tests.alerts.conftest import VN, Office, alert_settings, alerts, evaluate, official
from tests.conftest import KeyFactory
from tests.messaging.conftest import Mailbox

pytestmark = pytest.mark.usefixtures("agencies")
NOW = datetime.fromisoformat(f"2025-09-20T10:00:00{VN}")


def _rules(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in body["rules"]}


def test_a_disabled_rule_raises_nothing_and_a_threshold_of_its_own_applies(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    assert office.ward_with_k("79.BTH", d=10) == 14.0
    assert office.ward_with_k("79.SGN", d=17) == 21.0
    ward = make_key("manager", agency="79.BTH")

    shown = client.get("/api/v1/agencies/79.BTH/alert-rules", headers=ward)
    assert shown.status_code == 200
    defaults = _rules(shown.json())
    assert defaults["k_below_threshold"] == {
        "rule": "k_below_threshold",
        "enabled": True,
        "threshold": 20.0,
        "default_threshold": 20.0,
        "overridden": False,
    }
    assert defaults["petition_deadline"]["threshold"] == 2
    assert defaults["response_rate_low"]["threshold"] == 0.3

    # Its alerts tell the city too: the ward's own key may not switch them off (audit).
    refused = client.put(
        "/api/v1/agencies/79.BTH/alert-rules",
        json={"k_below_threshold": {"enabled": False}},
        headers=ward,
    )
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert "agency above it" in refused.json()["detail"]
    city = make_key("manager", agency="79")
    off = client.put(
        "/api/v1/agencies/79.BTH/alert-rules",
        json={"k_below_threshold": {"enabled": False}},
        headers=city,
    )
    assert off.status_code == 200, off.text
    assert _rules(off.json())["k_below_threshold"]["enabled"] is False
    # The city warns 79.SGN earlier: below 22 rather than 20.
    earlier = client.put(
        "/api/v1/agencies/79.SGN/alert-rules",
        json={"k_below_threshold": {"enabled": True, "threshold": 22}},
        headers=city,
    )
    assert _rules(earlier.json())["k_below_threshold"]["threshold"] == 22.0

    evaluate(client, settings, NOW)
    found = [(a.agency_id, a.values) for a in alerts(engine) if a.rule == "k_below_threshold"]
    assert len(found) == 1  # 79.BTH (K 14) is off; 79.SGN (K 21) is below its own 22
    assert found[0][1] == {"k": 21.0, "threshold": 22.0, "group": "hai_long"}

    # null: back to the profile's rule; 79.BTH's K 14 is then raised.
    back = client.put(
        "/api/v1/agencies/79.BTH/alert-rules", json={"k_below_threshold": None}, headers=ward
    )
    assert _rules(back.json())["k_below_threshold"]["overridden"] is False
    evaluate(client, settings, NOW)
    assert len([a for a in alerts(engine) if a.rule == "k_below_threshold"]) == 2
    with transaction(engine) as session:
        actions = session.exec(select(AuditLog.action)).all()
    assert actions.count("alert_rules.set") == 3


@pytest.mark.parametrize(
    ("rule", "quieter", "louder"),
    [
        ("k_below_threshold", 19, 21),  # below 19 is raised less often than below 20
        ("staff_c_falling", 0.5, 0.1),  # a drop of 0.5 counts less often than of 0.2
        ("petition_deadline", 1, 3),  # one working day ahead rather than two
        ("response_rate_low", 0.1, 0.5),
    ],
)
def test_an_agencys_own_key_makes_its_rules_stricter_never_quieter(
    client: TestClient, make_key: KeyFactory, rule: str, quieter: float, louder: float
) -> None:
    url = "/api/v1/agencies/79.BTH/alert-rules"
    for own in (make_key("manager", agency="79.BTH"), make_key("admin", agency="79.BTH")):
        for body in ({rule: {"enabled": True, "threshold": quieter}}, {rule: {"enabled": False}}):
            refused = client.put(url, json=body, headers=own)
            assert refused.status_code == 403, (body, refused.text)
        stricter = client.put(url, json={rule: {"enabled": True, "threshold": louder}}, headers=own)
        assert stricter.status_code == 200, stricter.text
        # Back to the profile's rule from a stricter one is quieter too.
        assert client.put(url, json={rule: None}, headers=own).status_code == 403
    above = make_key("manager", agency="79")
    quiet = client.put(url, json={rule: {"enabled": True, "threshold": quieter}}, headers=above)
    assert quiet.status_code == 200, quiet.text
    # Made quiet from above, the ward may still make it speak again (back to the default).
    own = make_key("manager", agency="79.BTH")
    assert client.put(url, json={rule: None}, headers=own).status_code == 200
    assert (
        client.put(url, json={rule: {"enabled": False}}, headers=make_key("admin")).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"response_rate_low": {"threshold": 1.5}}, "response_rate_low.threshold"),
        ({"petition_deadline": {"threshold": 2.5}}, "petition_deadline.threshold"),
        ({"staff_c_falling": {"threshold": 0}}, "staff_c_falling.threshold"),
        ({"k_below_threshold": {"threshold": -1}}, "k_below_threshold.threshold"),
        # Above the profile's largest K (22), or C (1): no score could ever reach them.
        ({"k_below_threshold": {"threshold": 22.5}}, "k_below_threshold.threshold"),
        ({"staff_c_falling": {"threshold": 1.5}}, "staff_c_falling.threshold"),
    ],
)
def test_bad_thresholds_are_422_naming_the_field(
    client: TestClient, make_key: KeyFactory, body: dict[str, Any], field: str
) -> None:
    response = client.put(
        "/api/v1/agencies/79.BTH/alert-rules", json=body, headers=make_key("admin")
    )
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == field


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("threshold", True),
        ("threshold", False),
        ("threshold", "5"),
        ("threshold", "0.3"),
        ("enabled", 1),
        ("enabled", "no"),
    ],
)
def test_a_threshold_that_is_not_a_json_number_is_422(
    client: TestClient, make_key: KeyFactory, name: str, value: object
) -> None:
    """`{"threshold": true}` was stored as the agency's threshold 1.0, and "5" as 5.0:
    pydantic's lax mode (audit). A JSON number or null only; `enabled` a JSON boolean."""
    ward = make_key("manager", agency="79.BTH")
    response = client.put(
        "/api/v1/agencies/79.BTH/alert-rules",
        json={"k_below_threshold": {name: value}},
        headers=ward,
    )
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == f"k_below_threshold.{name}"
    shown = client.get("/api/v1/agencies/79.BTH/alert-rules", headers=ward).json()
    assert _rules(shown)["k_below_threshold"]["overridden"] is False


def test_unknown_rules_and_fields_are_422(client: TestClient, make_key: KeyFactory) -> None:
    admin = make_key("admin")
    for body in ({"k_below": {"enabled": False}}, {"k_below_threshold": {"on": False}}):
        response = client.put("/api/v1/agencies/79.BTH/alert-rules", json=body, headers=admin)
        assert response.status_code == 422, response.text


def test_scopes(
    client: TestClient, make_key: KeyFactory, settings: Settings, office: Office
) -> None:
    office.ward_with_k("79.BTH", d=10)
    office.ward_with_k("79.SGN", d=10)
    evaluate(client, settings, NOW)
    ward_manager = make_key("manager", agency="79.BTH")
    ward_reader = make_key("reader", agency="79.BTH")
    for method, url, body in [
        ("GET", "/api/v1/agencies/79.SGN/alert-rules", None),
        ("PUT", "/api/v1/agencies/79.SGN/alert-rules", {"k_below_threshold": None}),
    ]:
        response = client.request(method, url, json=body, headers=ward_manager)
        assert response.status_code == 403, response.text
        assert client.request(method, url, json=body, headers=ward_reader).status_code == 403
    assert (
        client.get("/api/v1/alerts", params={"agency_code": "79.SGN"}, headers=ward_reader)
    ).status_code == 403
    mine = client.get("/api/v1/alerts", headers=ward_reader).json()
    assert [a["agency_code"] for a in mine["data"]] == ["79.BTH"]
    everyone = client.get("/api/v1/alerts", headers=make_key("reader")).json()
    assert sorted(a["agency_code"] for a in everyone["data"]) == ["79.BTH", "79.SGN"]
    city = client.get(
        "/api/v1/alerts", params={"agency_code": "79", "period": "2025-Q3"}, headers=ward_manager
    )
    assert city.status_code == 403
    for role in ("issuer", "kiosk", "auditor"):
        assert client.get("/api/v1/alerts", headers=make_key(role)).status_code == 403
    assert client.get("/api/v1/alerts?period=2025-Q5", headers=ward_reader).status_code == 422
    assert (
        client.get("/api/v1/agencies/nope/alert-rules", headers=make_key("admin")).status_code
        == 404
    )


def test_pages_of_alerts_newest_first(
    client: TestClient, make_key: KeyFactory, settings: Settings, office: Office
) -> None:
    for ward in ("79.BTH", "79.SGN", "79.STP"):
        office.ward_with_k(ward, d=10)
    evaluate(client, settings, NOW)
    reader = make_key("reader")
    first = client.get("/api/v1/alerts", params={"limit": 2}, headers=reader).json()
    assert first["count"] == 2 and first["next_cursor"] is not None
    rest = client.get(
        "/api/v1/alerts", params={"limit": 2, "cursor": first["next_cursor"]}, headers=reader
    ).json()
    assert rest["count"] == 1 and rest["next_cursor"] is None
    ids = [a["id"] for a in first["data"] + rest["data"]]
    assert ids == sorted(ids, reverse=True)


def test_without_smtp_the_alert_is_recorded_with_the_reason(
    database_url: str, make_key: KeyFactory, engine: sa.Engine
) -> None:
    settings = alert_settings(database_url)  # no HAILONG_SMTP_HOST
    with TestClient(create_app(settings)) as client:
        office = Office(client, make_key)
        official(engine, "truong.phong@tphcm.gov.vn", "manager", None)
        office.ward_with_k("79.BTH", d=10)
        assert len(evaluate(client, settings, NOW)) == 1
        listed = client.get("/api/v1/alerts", headers=make_key("manager")).json()
    assert listed["data"][0]["email"]["reason"] == "channel_not_configured"
    assert listed["data"][0]["email"]["recipients"] == 0


def test_nobody_to_tell_is_a_reason_too(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    official(engine, "pho.phong@saigon.gov.vn", "manager", "79.SGN")  # not 79.BTH's
    office.ward_with_k("79.BTH", d=10)
    evaluate(client, settings, NOW)
    listed = client.get("/api/v1/alerts", headers=make_key("admin")).json()
    assert listed["data"][0]["email"]["reason"] == "no_recipients"


def test_a_temporary_smtp_refusal_is_retried_outside_the_transaction(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    mailbox: Mailbox,
) -> None:
    official(engine, "truong.phong@tphcm.gov.vn", "admin", None)
    office.ward_with_k("79.BTH", d=10)
    evaluate(client, settings, NOW)
    channels = configured_channels(settings)
    mailbox.refuse.append("451 4.7.1 try again later")
    now = utcnow()
    assert emails.run_round(engine, settings, channels, now) == 1
    with transaction(engine) as session:
        row = session.exec(select(AlertEmail)).one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.reason is not None and row.reason.startswith("smtp 451")
    assert mailbox.received == []
    assert emails.run_round(engine, settings, channels, now) == 0  # not due yet
    assert emails.run_round(engine, settings, channels, now + timedelta(hours=2)) == 1
    assert len(mailbox.received) == 1
    listed = client.get("/api/v1/alerts", headers=make_key("admin")).json()
    assert listed["data"][0]["email"]["sent"] == 1


def test_the_email_says_a_petition_deadline_in_vietnam_time_with_named_figures(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, mailbox: Mailbox
) -> None:
    """The e-mail listed `deadline_at: 2025-09-22T10:00:00+00:00` (a manager read 10:00 for
    a deadline of 17:00) under the rule's code (alerts audit)."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    office.petition(
        "P-MON",
        "79.BTH",
        received_at=f"2025-09-01T09:00:00{VN}",
        deadline_at=f"2025-09-22T17:00:00{VN}",
    )
    assert evaluate(client, settings, datetime.fromisoformat(f"2025-09-18T10:00:00{VN}"))
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [text] = mailbox.texts()
    assert "- Hạn xử lý: 17:00 22/09/2025\n" in text
    assert "- Ngưỡng: 2\n" in text
    assert "petition_deadline" not in text and "deadline_at" not in text


def test_a_deadline_alert_that_is_no_news_is_not_sent_and_an_overdue_one_says_so(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, mailbox: Mailbox
) -> None:
    """(review) A petition's deadline alert e-mail retried while the mail server refused it
    went out titled overdue for a petition handled in time meanwhile; one still open past
    its deadline said "2 working days left"."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    # E-mails fall due in real time: a deadline an hour ago, raised the day before.
    deadline = utcnow().replace(microsecond=0) - timedelta(hours=1)
    received = (deadline - timedelta(days=20)).isoformat()
    for code in ("P-DONE", "P-OPEN"):
        office.petition(code, "79.BTH", received_at=received, deadline_at=deadline.isoformat())
    assert evaluate(client, settings, deadline - timedelta(days=1))
    handled = (deadline - timedelta(hours=2)).isoformat()
    office.petition(
        "P-DONE",
        "79.BTH",
        received_at=received,
        deadline_at=deadline.isoformat(),
        handled_at=handled,
    )
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [message] = mailbox.received
    assert "đã quá hạn xử lý" in str(message["Subject"])
    [text] = mailbox.texts()
    assert "P-OPEN" in text and "Số ngày làm việc còn lại" not in text
    with engine.connect() as connection:
        skipped = connection.execute(
            sa.text("SELECT status, reason FROM alert_email WHERE status = 'skipped'")
        ).all()
    assert [tuple(r) for r in skipped] == [("skipped", "petition_handled")]


def test_the_email_links_to_the_alerts_of_the_agency(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, mailbox: Mailbox
) -> None:
    """ "Xem chi tiết trong trang quản lý: <link>" linked the console's front page
    (/console), not the agency's alerts page where the alert, its figures and the agency's
    rules are (audit)."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79")
    office.ward_with_k("79.BTH", d=10)
    assert evaluate(client, settings, NOW)
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [text] = mailbox.texts()
    [line] = [x for x in text.splitlines() if x.startswith("Xem chi tiết")]
    link = line.rsplit(" ", 1)[1]
    assert link == "http://testserver/console/alerts?agency=79.BTH", line
    # The page the link names answers (the console's sign-in first, without a session).
    path = link.removeprefix("http://testserver")
    assert client.get(path, follow_redirects=False).status_code in (200, 303)
