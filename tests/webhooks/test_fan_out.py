"""The worker's fan-out when nobody subscribes, and in batches: events and score markers are
taken all the same (and not handed to a subscription made later), BATCH at a time; and a
subscription enabled while one is under way."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select, update

from service.db import transaction
from service.delivery import fan_out
from service.delivery.fan_out import BATCH
from service.delivery.worker import DeliveryWorker
from service.migrations import alembic_config
from service.models import (
    Agency,
    OutboxEvent,
    ScoreDirty,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.webhooks import outbox
from tests.conftest import KeyFactory, handover_body
from tests.webhooks.conftest import Received, Receiver, drain
from tests.webhooks.test_deliveries import subscribe

pytestmark = pytest.mark.usefixtures("agencies")


def _counts(engine: sa.Engine) -> dict[str, int]:
    with transaction(engine) as session:
        pending = select(func.count()).where(col(OutboxEvent.dispatched_at).is_(None))
        return {
            "pending events": session.exec(pending).one(),
            "markers": session.exec(select(func.count()).select_from(ScoreDirty)).one(),
            "deliveries": session.exec(select(func.count()).select_from(WebhookDelivery)).one(),
        }


def test_with_no_subscriber_events_and_markers_are_taken_and_not_sent_later(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    engine = worker.engine
    issuer = make_key("issuer")
    for n in range(3):
        posted = client.post(
            "/api/v1/handovers", json=handover_body(dossier_code=f"NS-{n}"), headers=issuer
        )
        assert posted.status_code == 201
    before = _counts(engine)
    assert before["pending events"] == 3 and before["markers"] > 0

    assert worker.run_once() == 3 + before["markers"]
    assert _counts(engine) == {"pending events": 0, "markers": 0, "deliveries": 0}

    # A subscription made now hears of what happens from now on, not of the taken events.
    subscribed = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["invitation.issued"]},
        headers=make_key("admin"),
    )
    assert subscribed.status_code == 201, subscribed.text
    posted = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="NS-9"), headers=issuer
    )
    assert posted.status_code == 201
    drain(worker, until=lambda: len(receiver.received) >= 1)
    drain(worker)
    codes = [r.json["data"]["dossier_code"] for r in receiver.of_type("invitation.issued")]
    assert codes == ["NS-9"]


def test_events_are_taken_a_batch_at_a_time_oldest_first(
    hook_app: tuple[TestClient, DeliveryWorker],
) -> None:
    _, worker = hook_app
    engine = worker.engine
    with transaction(engine) as session:
        agency = session.exec(select(Agency).where(Agency.code == "79.BTH")).one()
        assert agency.id is not None
        for n in range(BATCH + 5):
            outbox.emit(session, "invitation.issued", agency.id, {"n": n})

    taken: list[int] = []
    for _ in range(3):
        with transaction(engine) as session:
            taken.append(worker.dispatch_events(session))
    assert taken == [BATCH, 5, 0]

    with transaction(engine) as session:
        order: list[Any] = list(
            session.exec(
                select(OutboxEvent.payload).order_by(
                    col(OutboxEvent.dispatched_at), col(OutboxEvent.id)
                )
            ).all()
        )
    # The first batch holds the oldest events: the last five were taken after them.
    assert sorted(p["n"] for p in order[-5:]) == list(range(BATCH, BATCH + 5))


def test_a_score_refreshed_while_its_lapsed_lease_is_still_sending_is_sent_again(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fan-out gives a newer score to the waiting score.updated of its agency and period,
    a new webhook-id with it, when its lease has lapsed — even while the worker that leased
    it is still sending the older one. That worker then marked it succeeded: the newer score
    never went, the portal kept the stale one (audit). The fan-out is run here in the middle
    of the send, as if the lease had lapsed (its clock an hour ahead)."""
    client, worker = hook_app
    engine = worker.engine
    subscribe(client, make_key("admin"), receiver.url, events=["score.updated"])
    issuer = make_key("issuer")
    posted = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="R-1"), headers=issuer
    )
    assert posted.status_code == 201
    late = utcnow() + timedelta(hours=1)

    def score_changes_mid_send(_: Received) -> None:
        receiver.on_post = None  # the first send only
        second = handover_body(dossier_code="R-2")
        assert client.post("/api/v1/handovers", json=second, headers=issuer).status_code == 201
        with monkeypatch.context() as lapsed:
            lapsed.setattr(fan_out, "utcnow", lambda: late)
            with transaction(engine) as session:
                assert fan_out.dispatch_scores(session, worker.settings, worker.profile) > 0

    receiver.on_post = score_changes_mid_send
    drain(worker)
    sent: dict[str, list[tuple[int, str]]] = {}
    for got in receiver.received:
        data = got.json["data"]
        sent.setdefault(data["period"], []).append(
            (data["counts"]["resolved_dossiers"], got.headers["webhook-id"])
        )
    assert sorted(sent) == ["2025", "2025-09", "2025-Q3"]
    # Every period's last word is the newer score; the one in flight went again, after it,
    # under its new webhook-id.
    assert {period: got[-1][0] for period, got in sent.items()} == dict.fromkeys(sent, 2), sent
    [(first, again)] = [got for got in sent.values() if len(got) == 2]
    assert first[0] == 1 and again[1] != first[1]
    with transaction(engine) as session:
        stored = session.exec(select(WebhookDelivery)).all()
    assert [d.status for d in stored] == ["succeeded"] * 3
    assert sorted(d.msg_id for d in stored) == sorted(got[-1][1] for got in sent.values())


def _codes(receiver: Receiver) -> list[str]:
    return [r.json["data"]["dossier_code"] for r in receiver.received]


def test_a_subscription_enabled_during_a_fan_out_gets_every_delivery(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fan-out holds the deliveries of a disabled subscription (next attempt in the year
    9999) as the subscriptions it read say. Enabled between that read and the insert, the
    subscription got one held for ever, and every later event of its agency waited behind
    it: a retry answered "not attempted yet", enabling again did nothing (audit). Enabling
    now waits for the fan-out under way, then makes due what it held."""
    client, worker = hook_app
    admin, issuer = make_key("admin"), make_key("issuer")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    with transaction(worker.engine) as session:
        session.execute(
            update(WebhookSubscription).values(disabled_at=utcnow(), disabled_reason="failing")
        )
    first = handover_body(dossier_code="EN-1")
    assert client.post("/api/v1/handovers", json=first, headers=issuer).status_code == 201
    answers: list[int] = []
    enabling = threading.Thread(
        target=lambda: answers.append(
            client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=admin).status_code
        )
    )
    read_targets = fan_out._targets

    def targets_then_enable(session: Session) -> list[fan_out.Target]:
        found = read_targets(session)
        if enabling.ident is None:  # not started: just after the first read of them
            enabling.start()
            enabling.join(1)  # done at once, unless the fan-out under way holds it back
        return found

    with monkeypatch.context() as patched:
        patched.setattr(fan_out, "_targets", targets_then_enable)
        worker.run_once()
    enabling.join(10)
    assert answers == [200]
    later = handover_body(dossier_code="EN-2")
    assert client.post("/api/v1/handovers", json=later, headers=issuer).status_code == 201
    drain(worker, until=lambda: len(receiver.received) == 2, seconds=5)
    assert _codes(receiver) == ["EN-1", "EN-2"]


def test_enabling_a_live_subscription_makes_a_delivery_left_held_due(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """Deliveries that race left held for ever (before enabling waited for the fan-out)
    belong to subscriptions enabled since: enabling one again did nothing, its retries'
    backoff being left alone (test_deliveries.py). It now makes the held ones due."""
    client, worker = hook_app
    admin, issuer = make_key("admin"), make_key("issuer")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    first = handover_body(dossier_code="HE-1")
    assert client.post("/api/v1/handovers", json=first, headers=issuer).status_code == 201
    with transaction(worker.engine) as session:
        assert worker.dispatch_events(session) == 1
        session.execute(update(WebhookDelivery).values(next_attempt_at=outbox.HELD_UNTIL))
    later = handover_body(dossier_code="HE-2")
    assert client.post("/api/v1/handovers", json=later, headers=issuer).status_code == 201
    worker.run_once()
    assert receiver.received == []  # the held one, and the later one behind it
    assert client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=admin).status_code == 200
    drain(worker, until=lambda: len(receiver.received) == 2, seconds=5)
    assert _codes(receiver) == ["HE-1", "HE-2"]


def test_the_upgrade_makes_due_what_the_old_race_left_held(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    database_url: str,
) -> None:
    """Deployments that met the race before enabling waited for the fan-out kept held
    deliveries that only enabling each subscription again would free: migration 0019 frees
    those of enabled subscriptions, and leaves a disabled one's held."""
    client, worker = hook_app
    admin, issuer = make_key("admin"), make_key("issuer")
    live = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    paused = subscribe(client, admin, receiver.url + "/paused", events=["invitation.issued"])
    first = handover_body(dossier_code="MG-1")
    assert client.post("/api/v1/handovers", json=first, headers=issuer).status_code == 201
    with transaction(worker.engine) as session:
        assert worker.dispatch_events(session) == 1
        session.execute(update(WebhookDelivery).values(next_attempt_at=outbox.HELD_UNTIL))
        session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.public_id) == paused["id"])
            .values(disabled_at=utcnow(), disabled_reason="failing")
        )
    worker.run_once()
    assert receiver.received == []  # held, as the race left it

    config = alembic_config(database_url)
    config.attributes["quiet_logging"] = True
    command.downgrade(config, "0018")
    command.upgrade(config, "head")

    drain(worker, until=lambda: len(receiver.received) == 1, seconds=5)
    drain(worker)
    assert [r.json["data"]["dossier_code"] for r in receiver.received] == ["MG-1"]
    with transaction(worker.engine) as session:
        deliveries = session.exec(
            select(WebhookSubscription.public_id, WebhookDelivery)
            .join(WebhookSubscription)
            .order_by(col(WebhookDelivery.id))
        ).all()
    states = {public_id: d for public_id, d in deliveries}
    assert states[live["id"]].status == "succeeded"
    assert states[paused["id"]].status == "pending"
    assert states[paused["id"]].next_attempt_at == outbox.HELD_UNTIL
