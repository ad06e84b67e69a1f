"""An alert fires once when a ward's K drops below 20: one alert row, one `alert.raised`
event in the outbox, one signed delivery to the subscriber that asked for it (and none to
the one that did not), and one e-mail at a real SMTP server, however often the rules are
evaluated."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.alerts import emails
from service.delivery.worker import DeliveryWorker
from service.messaging.channels.registry import configured_channels
from service.models import OutboxEvent, utcnow
from service.settings import Settings
from tests.alerts.conftest import VN, Office, alerts, evaluate, official
from tests.conftest import KeyFactory
from tests.messaging.conftest import Mailbox
from tests.webhooks.conftest import Receiver, drain

pytestmark = pytest.mark.usefixtures("agencies")
NOW = datetime.fromisoformat("2025-09-20T10:00:00+07:00")


def _subscribe(client: TestClient, headers: dict[str, str], url: str, events: list[str]) -> None:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=headers)
    assert response.status_code == 201, response.text


def test_alert_fires_once_when_a_wards_k_drops_below_20(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    worker: DeliveryWorker,
    receiver: Receiver,
    mailbox: Mailbox,
) -> None:
    profile = client.app.state.profile  # type: ignore[attr-defined]
    threshold = profile.k_score.satisfied_threshold
    assert threshold == 20.0  # the profile's group threshold: the rule reads it from there
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79")  # covers 79.BTH
    official(engine, "pho.phong@saigon.gov.vn", "manager", "79.SGN")  # another ward
    official(engine, "kiem.toan@tphcm.gov.vn", "auditor", None)  # not told
    admin = make_key("admin")
    _subscribe(client, admin, receiver.url, ["alert.raised"])
    _subscribe(client, admin, receiver.url.replace("/hooks", "/scores"), ["score.updated"])

    assert office.ward_with_k("79.BTH", d=15) == 19.0  # 1 + 1 + 1 + 15 + 1: below 20
    assert office.ward_with_k("79.SGN", d=16) == 20.0  # at 20: satisfied (profile)

    first = evaluate(client, settings, NOW)
    assert len(first) == 1
    drain(worker)
    # Evaluated again (and again): the condition still holds, nothing more is raised.
    assert evaluate(client, settings, NOW) == []
    assert evaluate(client, settings, NOW) == []
    drain(worker)

    rows = alerts(engine)
    assert [(a.rule, a.subject, a.period) for a in rows] == [("k_below_threshold", "", "2025-Q3")]
    assert rows[0].values == {"k": 19.0, "threshold": 20.0, "group": "khong_hai_long"}
    with engine.connect() as connection:
        events = connection.execute(
            sa.select(sa.func.count()).where(OutboxEvent.type == "alert.raised")  # type: ignore[arg-type]
        ).scalar()
    assert events == 1

    hooks = receiver.of_type("alert.raised")
    assert len(hooks) == 1
    delivered = hooks[0]
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(delivered.headers)
    assert delivered.json["data"] == {
        "alert_id": rows[0].id,
        "agency_code": "79.BTH",
        "rule": "k_below_threshold",
        "period": "2025-Q3",
        "subject": None,
        "values": {"k": 19.0, "threshold": 20.0, "group": "khong_hai_long"},
        "raised_at": delivered.json["data"]["raised_at"],
    }
    # The score.updated subscriber got scores, never the alert.
    assert all(r.json["type"] == "score.updated" for r in receiver.received if r not in hooks)
    body = json.dumps(delivered.json, ensure_ascii=False)
    assert "@" not in body and "truong" not in body  # no official's name or address

    assert len(mailbox.received) == 1
    sent = mailbox.received[0]
    assert sent["To"] == "truong.phong@tphcm.gov.vn"
    # The quarter in officials' words, as the pages and the report say it (it was
    # "(2025-Q3)": English shorthand; alerts audit).
    assert "Phường Bến Thành (Quý III năm 2025)" in sent["Subject"], sent["Subject"]
    assert sent["List-Unsubscribe"] is None
    text = mailbox.texts()[0]
    assert "- Chỉ số K: 19\n" in text and "- Nhóm: Không hài lòng" in text
    assert "(79.BTH), quý III năm 2025: " in text and "2025-Q3" not in text

    listed = client.get("/api/v1/alerts", headers=make_key("reader")).json()
    assert listed["count"] == 1
    assert listed["data"][0]["email"] == {
        "recipients": 1,
        "sent": 1,
        "pending": 0,
        "failed": 0,
        "skipped": 0,
        "reason": None,
    }
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM alert_email")).scalar() == 1


def test_while_one_process_evaluates_the_others_skip(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """Every worker process evaluates at its start, all of them at once: on PostgreSQL one
    does it and the others skip (what one finds the others would find too)."""
    from service.alerts.evaluate import ALERTS_LOCK

    assert office.ward_with_k("79.BTH", d=15) == 19.0
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as other_process, other_process.begin():
        if postgres:
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            other_process.execute(lock, {"key": ALERTS_LOCK})
        assert len(evaluate(client, settings, NOW)) == (0 if postgres else 1)
    # The lock ends with the other's transaction: the next evaluation finds the alert.
    assert len(evaluate(client, settings, NOW)) == (1 if postgres else 0)
    assert [a.rule for a in alerts(engine)] == ["k_below_threshold"]


def test_the_email_writes_figures_as_the_pages_do_never_up_to_the_threshold(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office, mailbox: Mailbox
) -> None:
    """The e-mail wrote numbers to four figures: a K of 19.996 read "Chỉ số K: 20" beside
    "Ngưỡng: 20" and "Không hài lòng", and a response rate of 29.996 % "0,3" beside its
    floor "0,3" (audit). service/numbers.py's rule, as on the pages: rounded down."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    assert office.ward_with_k("79.BTH", d=15.996) < 20
    assert len(evaluate(client, settings, NOW)) == 1
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [text] = mailbox.texts()
    assert "- Chỉ số K: 19,99\n" in text and "- Ngưỡng: 20\n" in text
    rates = emails._values_text({"rate": 2999 / 9998, "floor": 0.3, "issued": 9998})
    assert rates.splitlines() == [
        "- Tỷ lệ trả lời: 29,9 %",
        "- Ngưỡng: 30 %",
        "- Số phiếu đã phát: 9.998",
    ]


@pytest.mark.parametrize(
    ("b_two_thirds", "d"),
    [
        # K = 3 + 15.99999999999996 + 1: the float 19.99999999999996, cleaned, read 20.
        (False, 15.99999999999996),
        # K = 3 + 2/3 + 16.333333333333332 = 20 - 1.3e-15: its nearest float IS 20.0.
        (True, 16.333333333333332),
    ],
)
def test_a_k_a_hair_under_the_threshold_never_reads_as_it_in_the_email(
    client: TestClient,
    engine: sa.Engine,
    settings: Settings,
    office: Office,
    mailbox: Mailbox,
    b_two_thirds: bool,
    d: float,
) -> None:
    """The alert stored K as a float and the e-mail cleaned it of binary noise
    (service/numbers.py): "Chỉ số K: 20" beside "Ngưỡng: 20" and "Không hài lòng", for a K
    the rule had found below 20 exactly. The stored K is now the float nearest K on K's side
    of the threshold, and an alert's figures are read as the decimals their floats are, cut,
    never cleaned up (audit)."""
    official(engine, "truong.phong@tphcm.gov.vn", "manager", "79.BTH")
    for n in range(3 if b_two_thirds else 1):
        token = office.dossier(f"U-{n}", "79.BTH", "2025-09-10")
        body = {
            "token": token,
            "source": "api",
            "submitted_at": f"2025-09-10T15:00:00{VN}",
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "twice_or_more" if n == 2 else "none",
                "staff_attitude": "good",
                "overall": "satisfied",
            },
        }
        answered = client.post("/api/v1/responses", json=body, headers=office.admin)
        assert answered.status_code == 201, answered.text
    office.inputs("79.BTH", "2025-Q3", d)
    assert len(evaluate(client, settings, NOW)) == 1
    [alert] = alerts(engine)
    assert alert.values["k"] < 20 and alert.values["group"] == "khong_hai_long"
    emails.run_round(engine, settings, configured_channels(settings), utcnow())
    [text] = mailbox.texts()
    assert "- Chỉ số K: 19,99\n" in text and "- Ngưỡng: 20\n" in text, text


def test_the_email_writes_a_threshold_in_every_digit_as_the_rules_table() -> None:
    """(review) An agency's threshold of 16.333 read "Ngưỡng: 16,33" in the e-mail, beside a
    K of 16,33 found below it; a setting is not rounded down as a score is."""
    from service.alerts.emails import _value_text

    assert _value_text("threshold", 16.333) == "16,333"
    assert _value_text("k", 16.331) == "16,33"


def test_an_alert_emails_previous_period_is_in_officials_words() -> None:
    """(alerts audit) "Kỳ trước: 2025-Q2" is the API's shorthand; the e-mail says the quarter
    as the pages and the report do."""
    from service.alerts.emails import _values_text

    assert _values_text({"previous_period": "2025-Q2"}) == "- Kỳ trước: Quý II năm 2025"
    assert _values_text({"previous_period": "2025-08"}) == "- Kỳ trước: Tháng 8 năm 2025"


def test_the_k_alert_speaks_before_e_is_entered_when_k_cannot_reach_the_threshold(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """(alerts audit) E is entered at the period's end, so mid-quarter every K is unknown and
    the rule, judging K alone, stayed silent for the whole quarter it watches. A = B = 1,
    C = 0 and D (group 5) = 0: K can reach at most 3 against 20, and the alert says so."""
    token = office.dossier("K-LOW", "79.BTH", "2025-09-10")
    answers = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "poor",
        "overall": "unsatisfied",
    }
    body = {"token": token, "submitted_at": f"2025-09-10T15:00:00{VN}", "answers": answers}
    assert client.post("/api/v1/responses", json=body, headers=office.admin).status_code == 201
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=office.admin).json()
    assert score["k"] is None and score["missing"] == ["e"] and score["k_max"] < 20, score
    evaluate(client, settings, datetime.fromisoformat(f"2025-09-18T10:00:00{VN}"))
    [raised] = [a for a in alerts(engine) if a.rule == "k_below_threshold"]
    assert raised.values == {
        "k_max": score["k_max"],
        "threshold": 20.0,
        "group": "chua_du_du_lieu",
    }
    # Evaluated again, or once E is entered and K known below 20: raised once.
    evaluate(client, settings, datetime.fromisoformat(f"2025-09-19T10:00:00{VN}"))
    assert [a.rule for a in alerts(engine)].count("k_below_threshold") == 1
    # An agency with no dossier or answer yet is not judged on what it might reach.
    assert all(a.agency_id == raised.agency_id for a in alerts(engine))


def test_a_k_known_below_20_only_once_e_is_entered_after_the_quarter_is_alerted(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """(alerts audit) DESIGN: E is entered by the competent authority at period end.
    During Q3, A = B = C = 1 and D = 16.5 give K_max = 19.5 + 1 (E missing) = 20.5: no
    alert, rightly. In October E = 0 is entered: Q3's K is 19.5, "khong_hai_long". The
    rule only ever watched the period containing today (Q4 by then), so the ward's failed
    quarter was never announced. It watches the period before too; once raised, not again."""
    office.dossier("K-Q3", "79.BTH", "2025-09-10", answer="good")
    put = office.client.put(
        "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs", json={"d": 16.5}, headers=office.admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["k_max"] == 20.5 and put.json()["k"] is None
    assert evaluate(client, settings, datetime.fromisoformat(f"2025-09-25T10:00:00{VN}")) == []

    put = office.client.put(
        "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs", json={"e": 0}, headers=office.admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["k"] == 19.5 and put.json()["group"] == "khong_hai_long"

    evaluate(client, settings, datetime.fromisoformat(f"2025-10-03T10:00:00{VN}"))
    raised = [(a.rule, a.period) for a in alerts(engine) if a.rule == "k_below_threshold"]
    assert raised == [("k_below_threshold", "2025-Q3")], raised
    evaluate(client, settings, datetime.fromisoformat(f"2025-11-03T10:00:00{VN}"))
    assert len([a for a in alerts(engine) if a.rule == "k_below_threshold"]) == 1
