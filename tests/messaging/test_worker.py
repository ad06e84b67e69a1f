"""The message outbox inside the real worker loop, and several workers at once."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.messaging import sending
from service.messaging.channels.registry import configured_channels
from service.models import OutgoingMessageRow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, local

pytestmark = pytest.mark.usefixtures("agencies")


def test_the_embedded_worker_sends_the_invitation(
    settings: Settings, make_key: KeyFactory, mailbox: Mailbox
) -> None:
    # Quiet hours off (start == end): the test must not depend on the hour it runs at.
    embedded = settings.model_copy(
        update={
            "embedded_worker": True,
            "worker_poll_seconds": 0.05,
            "message_quiet_start": "00:00",
            "message_quiet_end": "00:00",
        }
    )
    with TestClient(create_app(embedded)) as client:
        body = handover_body(contact={"email": "a@example.vn", "consent": True})
        answer = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
        assert answer.status_code == 201
        deadline = time.monotonic() + 10
        while not mailbox.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(mailbox.received) == 1 and mailbox.received[0]["To"] == "a@example.vn"


def test_two_workers_send_each_message_once(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
) -> None:
    key = make_key("issuer")
    for n in range(12):
        body = handover_body(
            dossier_code=f"W-{n}", contact={"email": f"w{n}@example.vn", "consent": True}
        )
        assert client.post("/api/v1/handovers", json=body, headers=key).status_code == 201
    now = local(1, 10)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            sending.run_round(engine, settings, configured_channels(settings), now)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    recipients = sorted(str(m["To"]) for m in mailbox.received)
    assert recipients == sorted(f"w{n}@example.vn" for n in range(12))
    with db() as session:
        rows = session.exec(select(OutgoingMessageRow)).all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
