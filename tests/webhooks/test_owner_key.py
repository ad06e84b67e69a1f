"""A subscription is its key's (found by audits, both databases): a portal whose key was
revoked or has expired kept receiving every event, and then its waiting deliveries were
kept, and counted as backlog, for ever; a rotated key's successor could not see its own
subscriptions; and a subscription naming an agency kept sending that agency's events after
the agency moved out of the key's part of the tree, as were the ones still waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select, update

from service.admin.agencies import upsert_agency
from service.db import transaction
from service.delivery.sending import OUT_OF_SCOPE_REASON
from service.delivery.worker import DeliveryWorker
from service.models import (
    Agency,
    ApiKey,
    DeliveryAttempt,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from tests.conftest import KeyFactory, handover_body
from tests.webhooks.conftest import Receiver, drain
from tests.webhooks.test_deliveries import subscribe
from tests.webhooks.test_isolation import metric

pytestmark = pytest.mark.usefixtures("agencies")
Hooked = tuple[TestClient, DeliveryWorker]


def _handover(client: TestClient, make_key: KeyFactory, code: str, agency: str = "79.BTH") -> None:
    body = handover_body(dossier_code=code, agency_code=agency)
    assert (
        client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code == 201
    )


def _key_id(client: TestClient, admin: dict[str, str], name: str = "test reader") -> int:
    keys = client.get("/api/v1/keys", headers=admin).json()["data"]
    found: int = next(k["id"] for k in keys if k["name"] == name and k["revoked_at"] is None)
    return found


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def test_a_revoked_portal_key_is_sent_nothing_more(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    admin, portal = make_key("admin"), make_key("reader")
    subscribe(client, portal, receiver.url, events=["invitation.issued"])
    _handover(client, make_key, "R-1")
    drain(worker)
    assert len(receiver.received) == 1
    _handover(client, make_key, "R-2")  # fanned out before the revocation: waiting
    worker.run_once()  # fans out R-2 (and may send it: then it went before the revocation)
    sent_before = len(receiver.received)
    _handover(client, make_key, "R-3")
    revoked = client.post(f"/api/v1/keys/{_key_id(client, admin)}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    _handover(client, make_key, "R-4")
    drain(worker)
    assert len(receiver.received) == sent_before  # never; R-2 only if sent before


def test_an_expired_portal_key_is_sent_nothing(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    admin, portal = make_key("admin"), make_key("reader")
    subscribe(client, portal, receiver.url, events=["invitation.issued"])
    with transaction(_engine(client)) as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == _key_id(client, admin))  # type: ignore[arg-type]
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    _handover(client, make_key, "X-1")
    drain(worker)
    assert receiver.received == []


def test_a_revoked_or_expired_keys_subscription_is_listed_as_stopped(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """A revoked or expired key's subscription is sent nothing, but the admin's list showed
    it live (no disabled_at, no reason) and enabling it answered 200 and changed nothing
    (audit): it lists as stopped, saying why, and enabling it is a 409."""
    client, _ = hook_app
    admin = make_key("admin")
    hooks, key_ids = [], []
    for _ in range(3):  # revoked, expired, live
        hooks.append(subscribe(client, make_key("reader"), receiver.url)["id"])
        keys = client.get("/api/v1/keys", headers=admin).json()["data"]
        key_ids.append(max(k["id"] for k in keys if k["name"] == "test reader"))
    revoked = client.post(f"/api/v1/keys/{key_ids[0]}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    with transaction(_engine(client)) as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_ids[1])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    listed = {h["id"]: h for h in client.get("/api/v1/webhooks", headers=admin).json()["data"]}
    assert listed[hooks[0]]["disabled_at"] is not None
    assert "API key was revoked on" in listed[hooks[0]]["disabled_reason"]
    assert listed[hooks[1]]["disabled_at"] is not None
    assert "API key expired on" in listed[hooks[1]]["disabled_reason"]
    assert listed[hooks[2]]["disabled_at"] is None
    one = client.get(f"/api/v1/webhooks/{hooks[0]}", headers=admin).json()
    assert one["disabled_reason"] == listed[hooks[0]]["disabled_reason"]
    enable = client.post(f"/api/v1/webhooks/{hooks[0]}/enable", headers=admin)
    assert enable.status_code == 409, enable.text
    assert "cannot be enabled: its API key was revoked" in enable.json()["detail"]


def test_a_revoked_keys_delivery_is_not_said_to_be_on_its_way(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """Listed as stopped, a revoked key's subscription still showed its deliveries due
    (next_attempt_at), and a retry answered 200, pending, due now: nothing is ever sent
    (review). As a disabled subscription's: no next attempt, and a retry is a 409."""
    client, worker = hook_app
    admin = make_key("admin")
    hook = subscribe(client, make_key("reader"), receiver.url, events=["invitation.issued"])
    receiver.status = 503
    _handover(client, make_key, "RV-9")
    worker.run_once()  # attempted once, failed: waiting for a retry
    revoked = client.post(f"/api/v1/keys/{_key_id(client, admin)}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    deliveries = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin).json()
    (delivery,) = deliveries["data"]
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] is None, delivery
    retry = client.post(
        f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/retry", headers=admin
    )
    assert retry.status_code == 409, retry.text
    assert "cannot be sent again: its API key was revoked" in retry.json()["detail"]


def test_a_revoked_or_expired_keys_waiting_deliveries_go_after_the_retention_time(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """Only a disabled or deleted subscription's waiting deliveries were pruned: those of a
    revoked or expired key, never to be sent, were kept for ever. They go once the key has
    been revoked or expired for the retention time, as a disabled subscription's do."""
    client, worker = hook_app
    engine = _engine(client)
    long_ago = utcnow() - timedelta(days=worker.settings.webhook_retention_days + 1)
    hooks = [
        subscribe(client, make_key("reader"), receiver.url, events=["invitation.issued"])
        for _ in range(3)
    ]
    receiver.status = 503
    _handover(client, make_key, "RV-1")
    worker.run_once()  # fanned out to the three, failed: waiting for a retry
    stopped = [{"revoked_at": long_ago}, {"expires_at": long_ago}, {"revoked_at": utcnow()}]
    with transaction(engine) as session:
        for hook, values in zip(hooks, stopped, strict=True):
            owner = select(WebhookSubscription.owner_key_id).where(
                WebhookSubscription.public_id == hook["id"]
            )
            session.execute(
                update(ApiKey).where(col(ApiKey.id) == owner.scalar_subquery()).values(**values)
            )
        session.execute(update(WebhookDelivery).values(created_at=long_ago))
    DeliveryWorker(engine, worker.settings, worker.profile).run_once()  # prunes at its start
    with transaction(engine) as session:
        left = session.exec(
            select(WebhookSubscription.public_id).join(
                WebhookDelivery,
                col(WebhookDelivery.subscription_id) == col(WebhookSubscription.id),
            )
        ).all()
    assert left == [hooks[2]["id"]]  # revoked only now: its deliveries are kept as long


def test_a_revoked_keys_waiting_deliveries_are_no_backlog(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """/metrics counted them as a subscription's backlog, one that never drained."""
    client, worker = hook_app
    admin = make_key("admin")
    hook = subscribe(client, make_key("reader"), receiver.url, events=["invitation.issued"])
    receiver.status = 503
    _handover(client, make_key, "RV-2")
    worker.run_once()
    assert metric(client.get("/metrics").text, "hailong_webhook_backlog", subscription=hook["id"])
    revoked = client.post(f"/api/v1/keys/{_key_id(client, admin)}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    text = client.get("/metrics").text
    assert metric(text, "hailong_webhook_backlog", subscription=hook["id"]) is None


def test_a_rotated_key_keeps_its_subscriptions(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    admin, portal = make_key("admin"), make_key("reader")
    mine = subscribe(client, portal, receiver.url, events=["invitation.issued"])
    rotated = client.post(f"/api/v1/keys/{_key_id(client, admin)}/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text
    successor = {"Authorization": f"Bearer {rotated.json()['key']}"}
    assert [s["id"] for s in client.get("/api/v1/webhooks", headers=successor).json()["data"]] == [
        mine["id"]
    ]
    assert client.get(f"/api/v1/webhooks/{mine['id']}", headers=successor).status_code == 200
    _handover(client, make_key, "K-1")
    drain(worker)
    assert [r.json["data"]["dossier_code"] for r in receiver.received] == ["K-1"]
    audit = client.get("/api/v1/audit", params={"action": "key.rotate"}, headers=admin).json()
    assert audit["data"][0]["detail"]["webhooks_moved"] == 1


def _delivered(engine: sa.Engine) -> list[tuple[str, str]]:
    """(subscription URL, dossier code) of every event delivered, sorted."""
    with transaction(engine) as session:
        sent = session.exec(
            select(WebhookSubscription.url, OutboxEvent.payload)
            .join(WebhookDelivery, col(WebhookDelivery.event_id) == col(OutboxEvent.id))
            .join(
                WebhookSubscription,
                col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
            )
            .where(WebhookDelivery.status == "succeeded")
        ).all()
    return sorted((url, payload["dossier_code"]) for url, payload in sent)


def _move_p1(engine: sa.Engine, parent: str) -> None:
    """Khu phố 1 (79.BTH.P1) placed under `parent`."""
    with transaction(engine) as session:
        upsert_agency(session, "79.BTH.P1", "Khu phố 1", parent, actor="test")


def test_an_agency_moved_out_of_the_keys_tree_is_no_longer_heard_of(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    engine = _engine(client)

    _move_p1(engine, "79.BTH")
    portal = make_key("reader", agency="79.BTH")
    hook = subscribe(
        client, portal, receiver.url, events=["invitation.issued"], agency_code="79.BTH.P1"
    )
    _handover(client, make_key, "P1-1", agency="79.BTH.P1")
    drain(worker)
    assert len(receiver.received) == 1
    _move_p1(engine, "79.SGN")
    _handover(client, make_key, "P1-2", agency="79.BTH.P1")
    drain(worker)
    assert len(receiver.received) == 1  # P1-2 is 79.SGN's now
    # Nor are the deliveries of its past read, or sent again, by that key.
    listed = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=portal).json()
    assert listed["data"] == []
    with transaction(engine) as session:
        old = session.exec(select(WebhookDelivery.id)).one()
    retried = client.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{old}/retry", headers=portal)
    assert retried.status_code == 404
    # An unscoped key's subscription to the agency follows it wherever it goes.
    province = subscribe(
        client,
        make_key("reader"),
        receiver.url,
        events=["invitation.issued"],
        agency_code="79.BTH.P1",
    )
    _handover(client, make_key, "P1-3", agency="79.BTH.P1")
    drain(worker)
    assert [r.json["data"]["dossier_code"] for r in receiver.received] == ["P1-1", "P1-3"]
    assert province["agency_code"] == "79.BTH.P1"


def _moved_while_the_portal_was_down(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver, event: str
) -> None:
    """A portal key of 79.BTH subscribed to `event`; while its receiver is down, a handover
    at 79.BTH.P1 waits for it, and 79.BTH.P1 moves under 79.SGN (out of the key's tree),
    where a second handover happens; then the receiver is back and everything is sent."""
    client, worker = hook_app
    engine = _engine(client)

    _move_p1(engine, "79.BTH")
    portal = make_key("reader", agency="79.BTH")
    subscribe(client, portal, receiver.url, events=[event])
    receiver.status = 500  # the portal is down: its deliveries wait
    _handover(client, make_key, "P1-1", agency="79.BTH.P1")
    for _ in range(3):
        worker.run_once()
    with transaction(engine) as session:
        waiting = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.status == "pending")
        ).all()
        assert waiting and any(d.attempts > 0 for d in waiting)
    _move_p1(engine, "79.SGN")  # no longer the portal key's; new work happens there
    _handover(client, make_key, "P1-2", agency="79.BTH.P1")
    receiver.status = 200
    with transaction(engine) as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    drain(worker)


def test_a_waiting_score_of_an_agency_moved_out_of_the_keys_tree_is_not_sent(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """The key's scope was checked at fan-out only: a score.updated still waiting (the
    portal down) when its agency moved out of the key's tree was sent anyway, with the
    score computed at send time — work done after the move included. At send time it is
    failed unsent, the reason in its attempt log (audit)."""
    _moved_while_the_portal_was_down(hook_app, make_key, receiver, "score.updated")
    sent = {r.json["data"]["agency_code"] for r in receiver.of_type("score.updated")}
    assert "79.BTH.P1" not in sent, sent
    with transaction(_engine(hook_app[0])) as session:
        ward = session.exec(select(Agency.id).where(Agency.code == "79.BTH.P1")).one()
        settled = session.exec(
            select(WebhookDelivery).where(WebhookDelivery.agency_id == ward)
        ).all()
        assert settled and {d.status for d in settled} == {"failed"}
        last = session.exec(
            select(DeliveryAttempt.error)
            .where(DeliveryAttempt.delivery_id == settled[0].id)
            .order_by(col(DeliveryAttempt.id).desc())
        ).first()
        assert last == OUT_OF_SCOPE_REASON


def test_an_event_of_the_time_it_was_the_portals_is_still_sent_after_a_move(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """Only a score.updated is computed when sent: an invitation.issued waiting (the portal
    down) when its agency moved out is the portal's own event, of when the agency was its,
    and was failed unsent with the scores (review). The one issued after the move is not
    the portal's."""
    _moved_while_the_portal_was_down(hook_app, make_key, receiver, "invitation.issued")
    sent = [r.json["data"]["dossier_code"] for r in receiver.of_type("invitation.issued")]
    assert sent == ["P1-1"], sent


def test_a_wards_admin_reaches_its_keys_subscriptions_not_the_provinces(
    hook_app: Hooked, make_key: KeyFactory
) -> None:
    """The province's portal (an unscoped reader key, which a ward's admin can neither list
    nor revoke) subscribes to one ward's events, its receiver's token in the URL. An admin
    key limited to that ward reached the subscription by its agency: it read the URL and
    token, and could delete it, cutting the province's feed unknown to it (operations
    audit). It reaches the subscriptions of the keys it manages, as it manages keys."""
    client, _ = hook_app
    hook = {"events": ["score.updated"], "agency_code": "79.BTH"}
    province = client.post(
        "/api/v1/webhooks",
        json={**hook, "url": "http://127.0.0.1:9/hooks?token=portal-secret-123"},
        headers=make_key("reader"),
    )
    ward_portal = client.post(
        "/api/v1/webhooks",
        json={**hook, "url": "http://127.0.0.1:9/ward"},
        headers=make_key("reader", agency="79.BTH"),
    )
    assert (province.status_code, ward_portal.status_code) == (201, 201)
    ward_admin = make_key("admin", agency="79.BTH")
    listed = client.get("/api/v1/webhooks", headers=ward_admin).json()["data"]
    assert [s["id"] for s in listed] == [ward_portal.json()["id"]]
    theirs = f"/api/v1/webhooks/{province.json()['id']}"
    assert client.get(theirs, headers=ward_admin).status_code == 404
    assert client.delete(theirs, headers=ward_admin).status_code == 404
    ours = f"/api/v1/webhooks/{ward_portal.json()['id']}"
    assert client.delete(ours, headers=ward_admin).status_code == 204
    # The province's own admin still reaches it.
    assert client.get(theirs, headers=make_key("admin")).status_code == 200


def test_an_event_not_fanned_out_when_its_agency_moves_goes_to_the_portal_it_happened_under(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """The fan-out matched an event against its agency's place in the tree when the worker
    reached it: a ward moved between its handover and the worker's round (a backlog, the
    worker stopped during a merger) had the handover sent to the new parent's portal, and
    its old portal never heard of it (webhook audit). It goes by the tree it happened in."""
    client, worker = hook_app
    engine = _engine(client)
    _move_p1(engine, "79.BTH")
    bth, sgn = f"{receiver.url}/bth", f"{receiver.url}/sgn"
    subscribe(client, make_key("reader", agency="79.BTH"), bth, events=["invitation.issued"])
    subscribe(client, make_key("reader", agency="79.SGN"), sgn, events=["invitation.issued"])
    _handover(client, make_key, "P1-before", agency="79.BTH.P1")  # not fanned out yet
    _move_p1(engine, "79.SGN")
    _handover(client, make_key, "P1-after", agency="79.BTH.P1")
    _move_p1(engine, "79.BTH")  # and back: each event keeps the place it happened in
    drain(worker)
    sent = _delivered(engine)
    assert sent == sorted([(bth, "P1-before"), (sgn, "P1-after")]), sent
    assert len(receiver.received) == 2


def test_a_moved_agency_s_own_portal_hears_of_its_waiting_events_and_the_new_tree_does_not(
    hook_app: Hooked, make_key: KeyFactory, receiver: Receiver
) -> None:
    """A province merger moves a ward, with an event not yet fanned out, under a new
    province. The event kept the ward's old path, matched against the subscriptions' new
    ones: the ward's own portal, which moved with it, never heard of its handover (review).
    It goes by agency: to the ward's own portal and its old province's, not the new one's."""
    client, worker = hook_app
    engine = _engine(client)
    with transaction(engine) as session:
        upsert_agency(session, "80", "Tỉnh mới", None, actor="test")
    own, old, new = (f"{receiver.url}/{name}" for name in ("own", "old", "new"))
    subscribe(client, make_key("reader", agency="79.BTH"), own, events=["invitation.issued"])
    subscribe(client, make_key("reader", agency="79"), old, events=["invitation.issued"])
    subscribe(client, make_key("reader", agency="80"), new, events=["invitation.issued"])
    _handover(client, make_key, "BTH-1", agency="79.BTH")
    with transaction(engine) as session:
        upsert_agency(session, "79.BTH", "Phường Bến Thành", "80", actor="test")
    _handover(client, make_key, "BTH-2", agency="79.BTH")
    drain(worker)
    sent = _delivered(engine)
    got = [(url.rsplit("/", 1)[1], dossier) for url, dossier in sent]
    assert got == [("new", "BTH-2"), ("old", "BTH-1"), ("own", "BTH-1"), ("own", "BTH-2")]
