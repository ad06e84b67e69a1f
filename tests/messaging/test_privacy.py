"""The contact given at handover stays inside hailong: never in webhook deliveries, exports
or public pages; `hailong purge` removes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from service.app import create_app
from service.delivery.worker import DeliveryWorker
from service.models import Invitation, InvitationContact, OutgoingMessageRow, utcnow
from service.retention.purge import purge
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, Worker, local
from tests.webhooks.conftest import Receiver, drain, receiver

pytestmark = pytest.mark.usefixtures("agencies")
__all__ = ["receiver"]  # the webhook receiver fixture, used here too
PHONE, PHONE_STORED, EMAIL = "0912345678", "84912345678", "rieng.tu@example.vn"
SECRETS = (PHONE, PHONE_STORED, "912345678", EMAIL, "rieng.tu")


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_contact_never_in_webhooks_exports_or_pages(
    settings: Settings, receiver: Receiver, make_key: KeyFactory, mailbox: Mailbox
) -> None:
    hooked = settings.model_copy(update={"webhook_allow_networks": "127.0.0.0/8"})
    app = create_app(hooked)
    with TestClient(app) as client:
        admin = make_key("admin")
        subscribed = client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["invitation.issued", "response.submitted"]},
            headers=admin,
        )
        assert subscribed.status_code == 201, subscribed.text
        contact = {"phone": PHONE, "email": EMAIL, "consent": True}
        issued = client.post(
            "/api/v1/handovers", json=handover_body(contact=contact), headers=make_key("issuer")
        ).json()
        page = client.get(issued["survey_url"])
        assert page.status_code == 200 and _leaks(page.text) == []
        for url in (issued["slip_url"], issued["qr_svg_url"]):
            assert _leaks(client.get(url).text) == []
        token = issued["survey_url"].rsplit("/", 1)[1]
        answers = {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
        }
        answered = client.post("/api/v1/responses", json={"token": token, "answers": answers})
        assert answered.status_code == 201
        worker = DeliveryWorker(app.state.engine, hooked, app.state.profile)
        try:
            drain(worker, until=lambda: len(receiver.of_type("response.submitted")) == 1)
        finally:
            worker.close()
        assert {r.json["type"] for r in receiver.received} == {
            "invitation.issued",
            "response.submitted",
        }
        for delivery in receiver.received:
            assert _leaks(delivery.body.decode()) == []
        for path in (
            "/api/v1/scores.csv?period=2025-Q3",
            "/api/v1/scores?period=2025-Q3",
            "/api/v1/agencies/G22.39/scores/2025-Q3/explain",
            "/agencies/G22.39?period=2025-Q3",
            "/rankings?period=2025-Q3&parent_code=79",
        ):
            shown = client.get(path, headers=admin)
            assert shown.status_code == 200, path
            assert _leaks(shown.text) == [], path
        # The handover's own answer says what was planned, not to whom.
        again = client.post(
            "/api/v1/handovers", json=handover_body(contact=contact), headers=make_key("issuer")
        )
        assert _leaks(again.text) == []


def test_purge_removes_contacts_of_finished_invitations(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    key = make_key("issuer")
    for code in ("OLD", "NEW"):
        body = handover_body(dossier_code=code, contact={"email": EMAIL, "consent": True})
        assert client.post("/api/v1/handovers", json=body, headers=key).status_code == 201
    long_ago = utcnow() - timedelta(days=800)
    with db() as session:
        session.execute(
            update(Invitation)
            .where(col(Invitation.id) == 1)
            .values(issued_at=long_ago, expires_at=long_ago + timedelta(days=30))
        )
    with db() as session:
        result = purge(session, 730, actor="test")
    assert result.invitation_contacts == 1
    with db() as session:
        left = session.exec(select(InvitationContact)).all()
    assert [c.invitation_id for c in left] == [2]


def test_a_refusal_quoting_the_address_is_kept_without_it(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    """Mail servers quote the refused address; its reply was the message's reason, shown
    to whoever posted the dossier again (another issuer too) and kept past the purge."""
    body = handover_body(dossier_code="R-1", contact={"email": EMAIL, "consent": True})
    assert (
        client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code == 201
    )
    mailbox.refuse.append(f"550 5.1.1 <{EMAIL}>: Recipient address rejected: User unknown")
    worker.run(local(1, 10))
    again = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="R-1"), headers=make_key("issuer")
    )
    (email,) = [m for m in again.json()["messages"] if m["channel"] == "email"]
    assert (
        email["reason"] == "smtp 550: 5.1.1 <[recipient]>: Recipient address rejected: User unknown"
    )
    assert _leaks(again.text) == []
    # And a purge empties the reasons of finished invitations' messages (older rows).
    with db() as session:
        session.execute(update(OutgoingMessageRow).values(reason=f"smtp 550: <{EMAIL}>"))
        long_ago = utcnow() - timedelta(days=800)
        session.execute(update(Invitation).values(expires_at=long_ago))
    with db() as session:
        purge(session, 730, actor="test")
    with db() as session:
        assert [r.reason for r in session.exec(select(OutgoingMessageRow)).all()] == [None]
