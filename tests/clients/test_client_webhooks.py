"""Webhook subscriptions through the client, delivered for real to a receiver on 127.0.0.1
and verified with hailong_client.webhooks.verify."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from hailong_client import Answers, Conflict, Forbidden, InvalidInput, NotFound, webhooks

from service.db import transaction
from service.delivery.worker import DeliveryWorker
from tests.clients.conftest import Connect, HailongServer, Receiver

pytestmark = pytest.mark.usefixtures("agencies")
RESOLVED = datetime(2025, 9, 15, 10, 0, tzinfo=timezone(timedelta(hours=7)))
ANSWERS: Answers = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "unsatisfied",
    "complaint": "Chờ quá lâu",
}


def _answer_one(server: HailongServer, connect: Connect, dossier_code: str) -> None:
    survey = connect(server.key("issuer")).issue_survey(dossier_code, "79.BTH", RESOLVED)
    connect().submit_response(
        survey.token, answers=ANSWERS, contact="0901234567", contact_consent=True
    )


def _dispatch_only(server: HailongServer) -> None:
    """Fan events out to deliveries without sending them."""
    worker = DeliveryWorker(server.engine, server.settings, server.profile)
    with transaction(server.engine) as session:
        worker.dispatch_events(session)
    worker.client.close()


def test_subscribe_receive_verify_list_retry_delete(
    hailong_server: HailongServer, connect: Connect, receiver: Receiver
) -> None:
    reader = connect(hailong_server.key("reader"))
    hook = reader.create_webhook(receiver.url, ["response.submitted"], agency_code="79")
    assert hook.id.startswith("wh_") and hook.secret.startswith("whsec_")
    assert (hook.url, hook.events, hook.agency_code) == (receiver.url, ["response.submitted"], "79")
    assert hook.disabled_at is None and hook.created_at.tzinfo is not None
    listed = reader.webhooks()
    assert [w.id for w in listed] == [hook.id]
    assert reader.webhook(hook.id) == listed[0]
    assert not hasattr(listed[0], "secret")  # shown once only

    _answer_one(hailong_server, connect, "D-1")
    hailong_server.deliver()
    assert len(receiver.received) == 1
    delivered = receiver.received[0]
    event = webhooks.verify(hook.secret, delivered.body, delivered.headers)
    assert event.type == "response.submitted" and event.timestamp.tzinfo is not None
    assert event.data["dossier_code"] == "D-1" and event.data["has_complaint"] is True
    assert "complaint" not in event.data["answers"] and "contact" not in event.data

    (delivery,) = reader.deliveries(hook.id)
    assert (delivery.type, delivery.status, delivery.attempts) == (
        "response.submitted",
        "succeeded",
        1,
    )
    assert delivery.webhook_id == event.id  # the webhook-id header, not the subscription id
    assert delivery.agency_code == "79.BTH" and delivery.completed_at is not None
    assert [a.status_code for a in delivery.attempt_log] == [200]
    assert delivery.attempt_log[0].error is None

    again = reader.retry_delivery(hook.id, delivery.id)
    assert (again.id, again.status) == (delivery.id, "pending")
    hailong_server.deliver()
    resent = webhooks.verify(hook.secret, receiver.received[1].body, receiver.received[1].headers)
    assert resent.id == event.id  # the same event always carries the same webhook-id
    assert len(reader.deliveries(hook.id, limit=1)[0].attempt_log) == 2

    reader.delete_webhook(hook.id)
    with pytest.raises(NotFound) as gone:
        reader.webhook(hook.id)
    assert gone.value.code == "not_found"
    assert reader.webhooks() == []


def test_failed_attempts_are_logged_and_enable_works(
    hailong_server: HailongServer, connect: Connect, receiver: Receiver
) -> None:
    admin = connect(hailong_server.key("admin"))
    hook = admin.create_webhook(receiver.url, ["response.submitted", "invitation.issued"])
    receiver.status = 500
    _answer_one(hailong_server, connect, "D-2")
    hailong_server.deliver()
    deliveries = admin.deliveries(hook.id)
    assert {d.type for d in deliveries} == {"response.submitted", "invitation.issued"}
    first = next(d for d in deliveries if d.type == "invitation.issued")
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.next_attempt_at is not None
    assert first.attempt_log[0].status_code == 500 and first.attempt_log[0].error == "HTTP 500"
    assert first.attempt_log[0].latency_ms is not None
    enabled = admin.enable_webhook(hook.id)
    assert enabled.id == hook.id and enabled.disabled_at is None and enabled.disabled_reason is None


def test_retry_of_an_unsent_delivery_is_a_conflict(
    hailong_server: HailongServer, connect: Connect, receiver: Receiver
) -> None:
    reader = connect(hailong_server.key("reader"))
    hook = reader.create_webhook(receiver.url, ["invitation.issued"])
    connect(hailong_server.key("issuer")).issue_survey("D-3", "79.BTH", RESOLVED)
    _dispatch_only(hailong_server)
    (pending,) = reader.deliveries(hook.id)
    assert (pending.status, pending.attempts, pending.attempt_log) == ("pending", 0, [])
    with pytest.raises(Conflict) as conflict:
        reader.retry_delivery(hook.id, pending.id)
    assert (conflict.value.status, conflict.value.code) == (409, "conflict")
    with pytest.raises(NotFound):
        reader.retry_delivery(hook.id, pending.id + 1000)


def test_subscription_errors(
    hailong_server: HailongServer, connect: Connect, receiver: Receiver
) -> None:
    reader = connect(hailong_server.key("reader"))
    with pytest.raises(InvalidInput) as private:
        reader.create_webhook("http://10.20.30.40/hooks", ["score.updated"])
    assert [f["field"] for f in private.value.fields] == ["url"]
    with pytest.raises(InvalidInput) as unknown_event:
        reader.create_webhook(receiver.url, cast(Any, ["score.deleted"]))
    assert unknown_event.value.fields[0]["field"].startswith("events")
    with pytest.raises(InvalidInput) as unknown_agency:
        reader.create_webhook(receiver.url, ["score.updated"], agency_code="NOPE")
    assert [f["field"] for f in unknown_agency.value.fields] == ["agency_code"]
    with pytest.raises(Forbidden):
        connect(hailong_server.key("issuer")).create_webhook(receiver.url, ["score.updated"])
    mine = reader.create_webhook(receiver.url, ["score.updated"])
    other = connect(hailong_server.key("reader"))
    with pytest.raises(NotFound):  # another reader's subscription looks like none at all
        other.deliveries(mine.id)
    assert [w.id for w in connect(hailong_server.key("admin")).webhooks()] == [mine.id]
