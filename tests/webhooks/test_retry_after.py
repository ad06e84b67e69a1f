"""A receiver's Retry-After (Standard Webhooks, "Delivery success and failure": on a 429 or
a 503 it "should be taken into consideration when scheduling the next attempt"). It was
ignored: a rate-limited portal asking for ten minutes got the same event again within
5-10 s (contract audit). Now the next attempt waits for the longer of the backoff and what
was asked, up to a day and never past the delivery's give-up time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.delivery.worker import DeliveryWorker
from service.models import DeliveryAttempt, WebhookDelivery, WebhookSubscription, utcnow
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.harness.processes import http_server
from tests.webhooks.conftest import drain, hooks
from tests.webhooks.test_deliveries import subscribe

pytestmark = pytest.mark.usefixtures("agencies")
# The shipped backoff: 10 s doubling up to an hour; a first retry comes after 5-10 s.
SHIPPED_BACKOFF = {"webhook_retry_base_seconds": 10, "webhook_retry_max_seconds": 3600}
BACKOFF = (timedelta(seconds=5), timedelta(seconds=10))


@dataclass
class FirstRetry:
    delivery: WebhookDelivery
    before: datetime  # the event was issued after this...
    after: datetime  # ...and its first attempt recorded before this
    posts: int  # how many times the receiver was sent it

    @property
    def next_attempt_at(self) -> datetime:
        assert self.delivery.status == "pending"
        return self.delivery.next_attempt_at

    def within(self, low: timedelta, high: timedelta) -> bool:
        """Whether the retry was scheduled between `low` after the attempt and `high`."""
        return self.before + low <= self.next_attempt_at <= self.after + high


def issue_and_attempt(
    client: TestClient, make_key: KeyFactory, db: DbFactory, worker: DeliveryWorker
) -> None:
    """A handover at 79.BTH, and the worker run until its event has been tried once."""
    issued = client.post(
        "/api/v1/handovers", json=handover_body(agency_code="79.BTH"), headers=make_key("issuer")
    )
    assert issued.status_code == 201

    def attempted() -> bool:
        with db() as session:
            return any(d.attempts for d in session.exec(select(WebhookDelivery)))

    drain(worker, until=attempted)


def first_retry(
    database_url: str,
    make_key: KeyFactory,
    db: DbFactory,
    status: int,
    retry_after: str | None,
    **overrides: Any,
) -> FirstRetry:
    """Fail one delivery with `status` and this Retry-After; the delivery after it, and
    what the worker did once more right away (nothing: its retry is not due)."""
    posts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            posts.append(self.path)
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            return

    with (
        http_server(Handler) as base,
        hooks(database_url, **{**SHIPPED_BACKOFF, **overrides}) as (client, worker),
    ):
        subscribe(client, make_key("admin"), f"{base}/hooks", events=["invitation.issued"])
        before = utcnow()
        issue_and_attempt(client, make_key, db, worker)
        after = utcnow()
        worker.run_once()  # not due again yet: nothing is sent
        with db() as session:
            [delivery] = session.exec(select(WebhookDelivery)).all()
            session.expunge(delivery)
    return FirstRetry(delivery, before, after, len(posts))


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_waited_for(
    database_url: str, make_key: KeyFactory, db: DbFactory, status: int
) -> None:
    retry = first_retry(database_url, make_key, db, status, "600")
    assert retry.posts == 1
    assert retry.within(timedelta(seconds=600), timedelta(seconds=600)), retry.next_attempt_at


def test_retry_after_as_an_http_date_is_waited_for(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    at = (utcnow() + timedelta(minutes=15)).replace(microsecond=0)
    retry = first_retry(database_url, make_key, db, 503, format_datetime(at, usegmt=True))
    assert retry.posts == 1
    assert retry.next_attempt_at == at


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [
        (429, "soon"),  # garbage
        (429, "-600"),
        (503, "1.5"),  # not delta-seconds
        (503, "Mon, 32 Foo 2025 99:99:99 GMT"),
        (503, "Sun, 06 Nov 1994 08:49:37 GMT"),  # past
        (429, "0"),
        (500, "600"),  # Retry-After is heeded on a 429 or a 503 only
        (429, None),
    ],
)
def test_an_unusable_retry_after_leaves_the_backoff(
    database_url: str, make_key: KeyFactory, db: DbFactory, status: int, retry_after: str | None
) -> None:
    retry = first_retry(database_url, make_key, db, status, retry_after)
    assert retry.posts == 1
    assert retry.within(*BACKOFF), retry.next_attempt_at


def test_a_retry_after_shorter_than_the_backoff_leaves_the_backoff(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    retry = first_retry(
        database_url, make_key, db, 429, "1", webhook_retry_base_seconds=120
    )  # 60-120 s
    assert retry.within(timedelta(seconds=60), timedelta(seconds=120)), retry.next_attempt_at


def test_a_retry_after_past_the_give_up_time_retries_once_at_it(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    """Asked for two hours, with half an hour left: one last attempt when it gives up,
    not none (and not one sooner than the receiver can take it)."""
    retry = first_retry(database_url, make_key, db, 503, "7200", webhook_give_up_hours=0.5)
    assert retry.next_attempt_at == retry.delivery.give_up_at
    assert retry.within(timedelta(minutes=30), timedelta(minutes=30))


@pytest.mark.parametrize(
    "retry_after",
    [
        "99999999",
        pytest.param("9" * 5000, id="5000-digits"),
        "Fri, 01 Jan 9999 00:00:00 GMT",
    ],
)
def test_a_retry_after_is_heeded_up_to_a_day(
    database_url: str, make_key: KeyFactory, db: DbFactory, retry_after: str
) -> None:
    retry = first_retry(database_url, make_key, db, 429, retry_after, webhook_give_up_hours=72)
    assert retry.within(timedelta(days=1), timedelta(days=1)), retry.next_attempt_at


AGENCIES = ("79.BTH", "79.SGN", "79.STP", "G22.39", "79")


def test_a_receiver_asking_to_wait_is_sent_none_of_its_other_events_meanwhile(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    """Retry-After is about the sender's next request to that server (RFC 9110 10.2.3),
    not about one event: only the event it answered waited, and the same portal was sent
    every other agency's waiting event at once, each refused again (webhook audit: five
    requests within a second of "Retry-After: 600"). Another receiver is not held."""
    asked: list[str] = []
    other: list[str] = []

    def receiver(log: list[str], status: int) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                log.append(self.headers["webhook-id"])
                self.send_response(status)
                self.send_header("Retry-After", "600")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        return Handler

    with (
        http_server(receiver(asked, 429)) as busy_portal,
        http_server(receiver(other, 204)) as healthy_portal,
        hooks(database_url, **SHIPPED_BACKOFF) as (client, worker),
    ):
        admin = make_key("admin")
        subscribe(client, admin, f"{busy_portal}/hooks", events=["invitation.issued"])
        subscribe(client, admin, f"{busy_portal}/other-path", events=["invitation.issued"])
        subscribe(client, admin, f"{healthy_portal}/hooks", events=["invitation.issued"])
        issuer = make_key("issuer")
        for agency in AGENCIES:
            body = handover_body(dossier_code=f"RA-{agency}", agency_code=agency)
            assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
        for _ in range(3):
            worker.run_once()
        assert len(asked) == 1, f"{len(asked)} requests within seconds of Retry-After: 600"
        assert len(other) == len(AGENCIES)
        with db() as session:
            attempt = session.exec(
                select(DeliveryAttempt).where(DeliveryAttempt.status_code == 429)
            ).one()
            assert attempt.error is not None
            assert attempt.error.startswith("HTTP 429; Retry-After: nothing sent before ")
            # The time asked passes: everything waiting goes out again.
            for subscription in session.exec(select(WebhookSubscription)).all():
                if subscription.held_until is not None:
                    subscription.held_until = utcnow() - timedelta(seconds=1)
                    session.add(subscription)
            for delivery in session.exec(select(WebhookDelivery)).all():
                delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
                session.add(delivery)
        worker.run_once()
        assert len(asked) == 2  # the first answer held both of the portal's subscriptions


def test_an_operator_s_retry_is_sent_at_once_though_the_receiver_was_held(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    """A retry (or enable) is the operator's word that the receiver is back: it answered
    `pending`, now, and was then held until the Retry-After's end, up to a day (review)."""
    answers = [503]  # maintenance first, then back
    posts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            posts.append(self.headers["webhook-id"])
            status = answers[0]
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "3600")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    with http_server(Handler) as base, hooks(database_url) as (client, worker):
        admin = make_key("admin")
        sub = subscribe(client, admin, f"{base}/hooks", events=["invitation.issued"])
        issue_and_attempt(client, make_key, db, worker)
        assert len(posts) == 1
        answers[0] = 200  # the portal is back; its operator asks for the event again
        listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()
        delivery_id = listed["data"][0]["id"]
        # The list says when it goes: the hold's end, not its own backoff's.
        shown = datetime.fromisoformat(listed["data"][0]["next_attempt_at"])
        assert shown >= utcnow() + timedelta(minutes=59), shown
        retried = client.post(
            f"/api/v1/webhooks/{sub['id']}/deliveries/{delivery_id}/retry", headers=admin
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending"
        for _ in range(5):
            worker.run_once()
        assert len(posts) == 2, (
            "the retry answered pending, next_attempt_at "
            f"{retried.json()['next_attempt_at']}, and nothing was sent"
        )
