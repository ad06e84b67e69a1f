"""Alerts against a real SMTP server (aiosmtpd, tests/messaging) and a real webhook
receiver (tests/webhooks); the worker is driven by hand and the rules evaluated at a
chosen `now`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.alerts.evaluate import raise_alerts
from service.auth.officials import add_official
from service.db import transaction
from service.delivery.worker import DeliveryWorker
from service.models import Alert
from service.profile import Profile
from service.settings import Settings
from tests.conftest import KeyFactory, handover_body, make_settings
from tests.messaging.conftest import Mailbox, SmtpServer, mailbox, smtp_server  # noqa: F401
from tests.webhooks.conftest import receiver  # noqa: F401

VN = "+07:00"


def alert_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_allow_networks": "127.0.0.0/8",
        "webhook_retry_base_seconds": 0.05,
        "webhook_retry_max_seconds": 0.2,
        "webhook_timeout_seconds": 5,
    }
    return make_settings(database_url, **(values | overrides))


@pytest.fixture
def settings(database_url: str, smtp_server: SmtpServer) -> Settings:  # noqa: F811
    return alert_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="hailong@phuong.gov.vn",
    )


@pytest.fixture
def worker(client: TestClient, settings: Settings) -> Iterator[DeliveryWorker]:
    state = client.app.state  # type: ignore[attr-defined]
    made = DeliveryWorker(state.engine, settings, state.profile)
    try:
        yield made
    finally:
        made.close()


class Office:
    """Drives the public API as a one-stop system, citizens and an admin would."""

    def __init__(self, client: TestClient, make_key: KeyFactory) -> None:
        self.client = client
        self.issuer = make_key("issuer")
        self.admin = make_key("admin")

    def dossier(
        self,
        code: str,
        agency: str,
        resolved: str,
        returning: str = "CB003",
        answer: str | None = None,
        answered_at: str | None = None,
    ) -> str:
        """A dossier resolved on time (A=1, B's point); with `answer`, the citizen's
        staff_attitude (good: C's point). Returns the survey token."""
        day = resolved[:10]
        body = handover_body(
            dossier_code=code,
            agency_code=agency,
            received_at=f"{day}T08:00:00{VN}",
            due_at=f"{day}T17:00:00{VN}",
            resolved_at=f"{day}T10:00:00{VN}",
            handed_over_at=None,
            staff={"receiving": "CB001", "handling": "CB002", "returning": returning},
        )
        response = self.client.post("/api/v1/handovers", json=body, headers=self.issuer)
        assert response.status_code in (200, 201), response.text
        token: str = response.json()["survey_url"].rsplit("/", 1)[1]
        if answer is not None:
            self.answer(token, answer, answered_at or f"{day}T15:00:00{VN}")
        return token

    def answer(self, token: str, attitude: str, at: str | None = None) -> None:
        body: dict[str, Any] = {
            "token": token,
            "source": "api",
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "none",
                "staff_attitude": attitude,
                "overall": "satisfied",
            },
        }
        if at is not None:
            body["submitted_at"] = at
        response = self.client.post("/api/v1/responses", json=body, headers=self.admin)
        assert response.status_code == 201, response.text

    def inputs(self, agency: str, period: str, d: float, e: float = 1) -> float:
        response = self.client.put(
            f"/api/v1/agencies/{agency}/periods/{period}/inputs",
            json={"d": d, "e": e},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        k: float = response.json()["k"]
        return k

    def ward_with_k(self, agency: str, d: float) -> float:
        """One on-time dossier answered well in 2025-Q3 (A = B = C = 1), then D and E = 1:
        K = 3 + d + 1."""
        self.dossier(f"{agency}-K", agency, "2025-09-10", answer="good")
        return self.inputs(agency, "2025-Q3", d)

    def petition(self, code: str, agency: str, **fields: Any) -> None:
        body = {"petition_code": code, "agency_code": agency, **fields}
        response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
        assert response.status_code in (200, 201), response.text


@pytest.fixture
def office(client: TestClient, make_key: KeyFactory) -> Office:
    return Office(client, make_key)


def official(engine: sa.Engine, email: str, role: str, agency: str | None) -> None:
    with transaction(engine) as session:
        add_official(session, "test", email, email.split("@")[0], role, agency)


def evaluate(client: TestClient, settings: Settings, now: datetime) -> list[int]:
    state = client.app.state  # type: ignore[attr-defined]
    profile: Profile = state.profile
    return raise_alerts(state.engine, settings, profile, now)


def alerts(engine: sa.Engine) -> list[Alert]:
    with transaction(engine) as session:
        rows = list(session.exec(select(Alert).order_by(Alert.id)).all())  # type: ignore[arg-type]
        for row in rows:
            session.expunge(row)
        return rows
