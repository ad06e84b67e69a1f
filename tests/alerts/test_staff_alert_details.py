"""A staff member's alert (staff_c_falling) names them and gives their C: for the agency's
managers and admins, as the per-staff scores are. A portal's reader key and a webhook
subscriber learn only that such an alert was raised (alerts audit: a reader refused the
staff scores read CB003's C of both quarters in the alert list and its webhook)."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.db import transaction
from service.models import OutboxEvent
from service.settings import Settings
from tests.alerts.conftest import VN, Office, evaluate
from tests.conftest import KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")
SEPT_20 = datetime.fromisoformat(f"2025-09-20T10:00:00{VN}")


def _staff_c_falls(office: Office) -> None:
    """CB003 returns every dossier: C 1.0 in Q2 (5 good), 0.4 in Q3 (2 good, 3 poor)."""
    answers = {"2025-06-10": ["good"] * 5, "2025-09-10": ["good"] * 2 + ["poor"] * 3}
    n = 0
    for day, attitudes in answers.items():
        for attitude in attitudes:
            n += 1
            office.dossier(f"S-{n}", "79.BTH", day, returning="CB003", answer=attitude)


def _staff_alerts(client: TestClient, headers: dict[str, str]) -> list[dict[str, object]]:
    listed = client.get("/api/v1/alerts", params={"rule": "staff_c_falling"}, headers=headers)
    assert listed.status_code == 200, listed.text
    data: list[dict[str, object]] = listed.json()["data"]
    return data


def test_a_reader_learns_that_a_staff_alert_was_raised_not_whose_nor_its_figures(
    client: TestClient, make_key: KeyFactory, settings: Settings, office: Office
) -> None:
    _staff_c_falls(office)
    assert evaluate(client, settings, SEPT_20)
    reader = make_key("reader", agency="79.BTH")
    assert client.get("/api/v1/agencies/79.BTH/staff-scores/2025-Q3", headers=reader).is_error
    [told] = _staff_alerts(client, reader)
    assert told["subject"] is None and told["values"] == {} and told["period"] == "2025-Q3"
    for role in ("manager", "admin"):
        [shown] = _staff_alerts(client, make_key(role, agency="79.BTH"))
        assert shown["subject"] == "CB003"
        assert shown["values"]["c"] == pytest.approx(0.4)  # type: ignore[index]


def test_the_alert_raised_event_of_a_staff_alert_carries_no_staff_code_nor_figures(
    client: TestClient, engine: sa.Engine, settings: Settings, office: Office
) -> None:
    """A reader may subscribe to alert.raised; one event goes to every subscriber."""
    _staff_c_falls(office)
    assert evaluate(client, settings, SEPT_20)
    with transaction(engine) as session:
        events = session.exec(
            select(OutboxEvent)
            .where(OutboxEvent.type == "alert.raised")
            .order_by(col(OutboxEvent.id))
        ).all()
        payloads = [event.payload for event in events]
    staff = [p for p in payloads if p["rule"] == "staff_c_falling"]
    assert staff and all(p["subject"] is None and p["values"] == {} for p in staff)
    assert "CB003" not in str(staff)
