"""Webhooks delivered to a real receiver on 127.0.0.1, verified with `standardwebhooks`."""

from __future__ import annotations

import socket
import threading
import time as clock
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import insert
from sqlmodel import Session, col, func, select
from standardwebhooks.webhooks import Webhook

from service.admin.agencies import upsert_agency
from service.calendar.working_days import local_date
from service.db import transaction
from service.delivery.worker import DeliveryWorker
from service.models import (
    Agency,
    DeliveryAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.periods import periods_of
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.webhooks.conftest import Receiver, drain, hooks

pytestmark = pytest.mark.usefixtures("agencies")
ALL_EVENTS = [
    "response.submitted",
    "score.updated",
    "petition.created",
    "petition.updated",
    "invitation.issued",
]


def subscribe(
    client: TestClient,
    headers: dict[str, str],
    url: str,
    events: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": events or ALL_EVENTS, **extra},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def traffic(
    client: TestClient, make_key: KeyFactory, n: int = 3, agency: str = "79.BTH"
) -> list[str]:
    issuer, codes = make_key("issuer"), []
    for i in range(n):
        code = f"{agency}-{i}"
        issued = client.post(
            "/api/v1/handovers",
            json=handover_body(dossier_code=code, agency_code=agency),
            headers=issuer,
        ).json()
        token = issued["survey_url"].rsplit("/", 1)[1]
        answer = {
            "token": token,
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "none",
                "staff_attitude": "good",
                "overall": "unsatisfied",
                "complaint": f"Phàn nàn số {i}: chờ quá lâu",
            },
            "contact": "0901234567",
            "contact_consent": True,
        }
        assert client.post("/api/v1/responses", json=answer).status_code == 201
        codes.append(code)
    return codes


def verify_all(receiver: Receiver, secret: str) -> None:
    webhook = Webhook(secret)
    for delivery in receiver.received:
        webhook.verify(delivery.body, delivery.headers)  # raises on a bad signature


def test_deliveries_arrive_signed_and_carry_no_free_text_or_contact(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    sub = subscribe(client, make_key("admin"), receiver.url)
    assert sub["secret"].startswith("whsec_")
    traffic(client, make_key)
    drain(worker)
    verify_all(receiver, sub["secret"])
    kinds: defaultdict[str, int] = defaultdict(int)
    for delivery in receiver.received:
        kinds[delivery.json["type"]] += 1
        text = delivery.body.decode()
        assert "Phàn nàn" not in text and "0901234567" not in text
        assert delivery.headers["webhook-id"].startswith("msg_")
    # 3 handovers, 3 answers, 3 complaint petitions; scores coalesced per agency and period.
    assert (kinds["invitation.issued"], kinds["response.submitted"], kinds["petition.created"]) == (
        3,
        3,
        3,
    )
    # Coalesced: one per agency and period touched. Dossiers were resolved in September
    # 2025; the answers arrived today, so today's month, quarter and year moved too.
    today = periods_of(local_date(utcnow()))
    periods = sorted(r.json["data"]["period"] for r in receiver.of_type("score.updated"))
    assert periods == sorted(["2025-09", "2025-Q3", "2025", *(p.key for p in today)])
    answered = receiver.of_type("response.submitted")[0].json["data"]
    assert answered["has_complaint"] is True and "complaint" not in answered["answers"]
    score = receiver.of_type("score.updated")[-1].json["data"]
    assert score["agency_code"] == "79.BTH" and score["counts"]["evaluations"] == 3


def test_score_updates_coalesce_and_the_latest_score_wins(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    subscribe(client, make_key("admin"), receiver.url, events=["score.updated"])
    issuer = make_key("issuer")
    for i in range(12):
        client.post(
            "/api/v1/handovers",
            json=handover_body(dossier_code=f"C-{i}", agency_code="79.SGN"),
            headers=issuer,
        )
    drain(worker)
    periods = sorted(r.json["data"]["period"] for r in receiver.received)
    assert periods == ["2025", "2025-09", "2025-Q3"]  # one each, not 36
    assert all(r.json["data"]["counts"]["resolved_dossiers"] == 12 for r in receiver.received)


def test_receiver_down_then_up_every_event_arrives_in_order_per_agency(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    db: DbFactory,
) -> None:
    client, worker = hook_app
    sub = subscribe(
        client,
        make_key("admin"),
        receiver.url,
        events=["invitation.issued", "response.submitted", "petition.created"],
    )
    receiver.status = 503
    traffic(client, make_key, n=3, agency="79.BTH")
    traffic(client, make_key, n=2, agency="79.SGN")
    for _ in range(5):
        worker.run_once()
    assert receiver.received == []
    with db() as session:
        failed_attempts = session.exec(select(func.sum(WebhookDelivery.attempts))).one()
    assert failed_attempts and failed_attempts >= 2
    receiver.status = 200
    drain(worker, until=lambda: len(receiver.received) == 15)
    verify_all(receiver, sub["secret"])
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 15
    for agency in ("79.BTH", "79.SGN"):
        seen = [
            (r.json["type"], r.json["data"]["dossier_code"])
            for r in receiver.received
            if r.json["data"]["agency_code"] == agency
        ]
        expected = []
        for i in range(3 if agency == "79.BTH" else 2):
            code = f"{agency}-{i}"
            expected += [
                ("invitation.issued", code),
                ("response.submitted", code),
                ("petition.created", code),
            ]
        assert seen == expected


def test_attempts_are_listed_and_a_failed_delivery_can_be_retried(
    database_url: str, make_key: KeyFactory, receiver: Receiver
) -> None:
    with hooks(database_url, webhook_give_up_hours=0.0001) as (client, worker):  # 0.36 s
        admin = make_key("admin")
        sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
        receiver.status = 500
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))

        def deliveries() -> list[dict[str, Any]]:
            listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin)
            assert listed.status_code == 200
            data: list[dict[str, Any]] = listed.json()["data"]
            return data

        drain(worker, until=lambda: deliveries()[0]["status"] == "failed", seconds=15)
        failed = deliveries()[0]
        assert failed["attempts"] >= 1 and failed["attempt_log"][0]["status_code"] == 500
        assert failed["attempt_log"][0]["response_snippet"] == "receiver is down"
        receiver.status = 200
        retried = client.post(
            f"/api/v1/webhooks/{sub['id']}/deliveries/{failed['id']}/retry", headers=admin
        )
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        drain(worker, until=lambda: len(receiver.received) == 1)
        assert deliveries()[0]["status"] == "succeeded"
        assert receiver.received[0].headers["webhook-id"] == failed["webhook_id"]


def test_a_delivery_older_than_the_newest_thousand_can_be_retried(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, db: DbFactory
) -> None:
    """The retry answered the delivery by looking for it among the newest 1,000: for an
    older one (a province's portal passes 1,000 in hours) it was a 500 (delivery audit)."""
    client, _ = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, "http://127.0.0.1:9/hooks", events=["score.updated"])
    now = utcnow()
    with db() as session:
        subscription_id = session.exec(select(WebhookSubscription.id)).one()
        agency_id = session.exec(select(Agency.id).where(Agency.code == "79.BTH")).one()
        session.execute(
            insert(WebhookDelivery),
            [
                {
                    "subscription_id": subscription_id,
                    "agency_id": agency_id,
                    "msg_id": f"msg_old_{n}",
                    "type": "score.updated",
                    "period": "2025-09",
                    "status": "failed" if n == 0 else "succeeded",
                    "attempts": 1,
                    "next_attempt_at": now,
                    "give_up_at": now,
                    "created_at": now + timedelta(seconds=n),
                    "completed_at": now,
                }
                for n in range(1001)
            ],
        )
        oldest = session.exec(select(func.min(WebhookDelivery.id))).one()
    retried = client.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{oldest}/retry", headers=admin)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["id"], retried.json()["status"]) == (oldest, "pending")


def test_a_reply_with_a_nul_character_is_kept_without_it(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """The attempt's row once failed on PostgreSQL (text holds no NUL): the delivery stayed
    pending, sent again at every lease, and the subscription's later events waited."""
    client, worker = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    receiver.reply = b"ok\x00 received"
    for code in ("NUL-1", "NUL-2"):
        body = handover_body(dossier_code=code)
        assert (
            client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code
            == 201
        )
    drain(worker)
    listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()["data"]
    assert [d["status"] for d in listed] == ["succeeded", "succeeded"]
    assert {d["attempt_log"][0]["response_snippet"] for d in listed} == {"ok received"}
    assert len(receiver.received) == 2


def test_a_reply_in_a_charset_python_cannot_read_as_text_is_a_success(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """ "charset=base64" names no text codec: decoding raised past the attempt, none was
    recorded, and the delivery (answered 200) went out again at every lease's end while the
    subscription's later events waited behind it (delivery audit)."""
    client, worker = hook_app
    admin = make_key("admin")
    sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
    receiver.content_type = "text/plain; charset=base64"
    for code in ("B64-1", "B64-2"):
        body = handover_body(dossier_code=code)
        assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    drain(worker)
    listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()["data"]
    assert [(d["status"], d["attempts"]) for d in listed] == [("succeeded", 1)] * 2
    assert len(receiver.received) == 2


def test_a_secret_that_cannot_be_decrypted_is_a_failed_attempt_that_says_why(
    database_url: str, make_key: KeyFactory, receiver: Receiver
) -> None:
    """HAILONG_WEBHOOK_ENCRYPTION_KEY changed under stored subscriptions: each delivery
    raised, unrecorded, and was sent again and again; now it is an attempt that failed
    with the reason, backed off (and given up and disabled in time) as any other."""
    from service.app import create_app
    from tests.webhooks.conftest import webhook_settings

    # Retried an hour later: one run of the worker makes one attempt, however slow the
    # machine (with the tests' 0.05 s backoff a loaded run made a second; CI).
    before = webhook_settings(
        database_url, webhook_retry_base_seconds=3600, webhook_retry_max_seconds=3600
    )
    app = create_app(before)
    with TestClient(app) as client:
        admin = make_key("admin")
        sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        after = before.model_copy(update={"webhook_encryption_key": SecretStr("another-key")})
        DeliveryWorker(app.state.engine, after, app.state.profile).run_once()
        [delivery] = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()[
            "data"
        ]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert "HAILONG_WEBHOOK_ENCRYPTION_KEY" in delivery["attempt_log"][0]["error"]
    assert receiver.received == []


def test_an_international_domain_name_is_sent_as_its_ascii_form(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """http://bộtưpháp.vn/ was accepted, then every attempt raised encoding its Host header
    (unrecorded, sent again for ever). The name goes out as IDNA ("xn--..."). This machine
    has no DNS for it: the resolver alone is stood in for, with the receiver's address."""
    from service.webhooks import targets

    real_resolve = targets.resolve
    ascii_name = "bộtưpháp.vn".encode("idna").decode()

    def resolve(host: str, port: int) -> list[Any]:
        return real_resolve("127.0.0.1" if host == ascii_name else host, port)

    monkeypatch.setattr(targets, "resolve", resolve)
    client, worker = hook_app
    port = receiver.url.split(":")[2].split("/")[0]
    subscribe(client, make_key("admin"), f"http://bộtưpháp.vn:{port}/hooks", ["invitation.issued"])
    client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    drain(worker, until=lambda: len(receiver.received) == 1)
    assert receiver.received[0].headers["host"] == f"{ascii_name}:{port}"


def test_the_host_header_of_an_ipv6_address_and_an_idna_2008_name(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An IPv6 address keeps its brackets in the Host header ("::1:8080" is none); a name
    is encoded as httpx and browsers do (IDNA 2008): Python's codec made faß.de fass.de,
    another domain (review). The resolver is stood in for the made-up name."""
    from service.webhooks import targets
    from tests.webhooks.conftest import webhook_settings

    settings = webhook_settings(database_url, webhook_allow_networks="127.0.0.0/8,::1/128")
    assert targets.check_target("http://[::1]:8080/hooks", settings).host == "[::1]:8080"
    assert targets.check_target("http://[::1]/hooks", settings).host == "[::1]"
    real_resolve = targets.resolve
    monkeypatch.setattr(
        targets, "resolve", lambda host, port: real_resolve("127.0.0.1", port) if host else []
    )
    target = targets.check_target("https://faß.de/hooks", settings)
    assert target.host == "xn--fa-hia.de" and target.extensions == {"sni_hostname": target.host}


@pytest.mark.slow  # waits for the timeout to pass
def test_a_resolver_that_does_not_answer_is_given_up_within_the_timeout(
    database_url: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """getaddrinfo ran outside the attempt's deadline: a resolver slow for one receiver's
    domain held its sending thread past the lease (the delivery went out twice) and a
    request creating a subscription as long. Stood in for: this machine's resolver answers."""
    from service.app import create_app
    from service.webhooks import targets
    from tests.webhooks.conftest import webhook_settings

    release = threading.Event()

    def slow(host: str, port: int) -> list[Any]:
        release.wait(30)
        return []

    monkeypatch.setattr(targets, "resolve", slow)
    app = create_app(webhook_settings(database_url, webhook_timeout_seconds=0.5))
    try:
        with TestClient(app) as client:
            response = client.post(
                "/api/v1/webhooks",
                json={"url": "https://slow.example.vn/hooks", "events": ["score.updated"]},
                headers=make_key("admin"),
            )
    finally:
        release.set()
    assert response.status_code == 422, response.text
    # Given up at the timeout, not after the resolver's 30 s (which would have said the
    # name resolves to nothing).
    assert "did not resolve within 0.5 s" in response.json()["fields"][0]["problem"]


@pytest.mark.slow  # waits for the lookup's 7 s
def test_a_subscriptions_host_lookup_ends_well_within_a_clients_timeout(
    database_url: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default webhook timeout (10 s), a host that never resolved was answered
    after 10 s, as the Python client's own 10 s ran out: the portal read a timeout, not
    the 422 naming the host (client audit). A subscription's lookup gets 7 s (past glibc's
    5 s wait on a first nameserver that does not answer; review)."""
    from service.app import create_app
    from service.webhooks import targets
    from tests.webhooks.conftest import webhook_settings

    release = threading.Event()

    def hanging(host: str, port: int) -> list[Any]:
        release.wait(30)
        return []

    monkeypatch.setattr(targets, "resolve", hanging)
    app = create_app(webhook_settings(database_url, webhook_timeout_seconds=10))  # the default
    try:
        with TestClient(app) as client:
            started = clock.monotonic()
            response = client.post(
                "/api/v1/webhooks",
                json={"url": "https://never.example.vn/hooks", "events": ["score.updated"]},
                headers=make_key("admin"),
            )
            took = clock.monotonic() - started
    finally:
        release.set()
    assert response.status_code == 422, response.text
    assert "did not resolve within 7 s" in response.json()["fields"][0]["problem"]
    assert took < 9.5, took


def test_a_subscription_failing_for_days_is_disabled_with_a_reason(
    database_url: str, make_key: KeyFactory, receiver: Receiver, db: DbFactory
) -> None:
    from service.app import create_app
    from tests.webhooks.conftest import webhook_settings

    settings = webhook_settings(database_url, webhook_disable_after_days=0.000002)  # ~0.17 s
    app = create_app(settings)
    with TestClient(app) as client:
        worker = DeliveryWorker(app.state.engine, settings, app.state.profile)
        admin = make_key("admin")
        sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
        receiver.status = 502
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))

        def disabled() -> bool:
            state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
            return state["disabled_at"] is not None

        drain(worker, until=disabled, seconds=15)
        state = client.get(f"/api/v1/webhooks/{sub['id']}", headers=admin).json()
        assert "HTTP 502" in state["disabled_reason"]
        receiver.status = 200
        for _ in range(3):
            worker.run_once()
        assert receiver.received == []  # disabled: nothing is sent
        # An event while it is disabled: kept for it, not sent.
        during = handover_body(dossier_code="WHILE-DISABLED")
        assert client.post("/api/v1/handovers", json=during, headers=make_key("issuer")).is_success
        for _ in range(3):
            worker.run_once()
        assert receiver.received == []
        # Held out of the due index (the claim would read past every one on each send),
        # listed with no next attempt, and no backlog of a receiver being sent to.
        with db() as session:
            newest = session.exec(
                select(WebhookDelivery).order_by(col(WebhookDelivery.id).desc())
            ).first()
        assert newest is not None and newest.next_attempt_at > utcnow() + timedelta(days=365)
        listed = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()
        assert [d["next_attempt_at"] for d in listed["data"]] == [None, None]
        assert "hailong_webhook_backlog{" not in client.get("/metrics").text
        client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=admin)
        # Enabled: what failed before and what came meanwhile, in order (the second was
        # never fanned out to it, and lost: delivery audit).
        drain(worker, until=lambda: len(receiver.received) == 2)
        codes = [r.json["data"]["dossier_code"] for r in receiver.received]
        assert codes == [handover_body()["dossier_code"], "WHILE-DISABLED"]


def test_enabling_a_live_subscription_keeps_its_retries_backoff(
    database_url: str, make_key: KeyFactory, receiver: Receiver, db: DbFactory
) -> None:
    """Only a disabled subscription's waiting deliveries are made due by enabling it; on a
    live one, /enable rescheduled every retry to now (review)."""
    with hooks(database_url, webhook_retry_base_seconds=3600) as (client, worker):
        admin = make_key("admin")
        sub = subscribe(client, admin, receiver.url, events=["invitation.issued"])
        receiver.status = 502
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        worker.run_once()  # failed once: next attempt in about an hour
        [before] = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()[
            "data"
        ]
        assert client.post(f"/api/v1/webhooks/{sub['id']}/enable", headers=admin).is_success
        [after] = client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=admin).json()[
            "data"
        ]
    assert before["attempts"] == 1 and after["next_attempt_at"] == before["next_attempt_at"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:9/hooks", "internal address"),
        ("http://10.1.2.3/hooks", "internal address"),
        ("http://169.254.169.254/latest", "internal address"),
        # Not private, yet not on the Internet: shared (CGNAT) and IETF protocol space.
        ("http://100.64.0.1/hooks", "internal address"),
        ("http://192.0.0.1/hooks", "internal address"),
        # The loopback by other names: 6to4, IPv4-mapped and NAT64 forms of 127.0.0.1.
        ("http://[2002:7f00:1::]/hooks", "internal address"),
        ("http://[::ffff:127.0.0.1]/hooks", "internal address"),
        ("http://[64:ff9b::7f00:1]/hooks", "internal address"),
        ("ftp://example.org/hooks", "http"),
        ("http://user:pw@example.org/hooks", "credentials"),
        # Malformed: each was a 500 (urlsplit, the port, IDNA raised past the check).
        ("http://example.com:99999/hooks", "not a valid URL"),
        ("http://example.com:abc/hooks", "not a valid URL"),
        ("http://[::1/hooks", "not a valid URL"),
        ("http://a..b/hooks", "not a valid host name"),
        # Port 0 was taken for none: accepted, and sent to the default port (audit).
        ("https://8.8.8.8:0/hooks", "port 0 cannot be connected to"),
        # A control character was blamed on the host: "8.8.8.8 is not a valid host name".
        ("https://8.8.8.8/hooks\x01", "not a valid URL (Invalid non-printable ASCII"),
        ("https://8.8.8.8/hooks?k=\x7f", "not a valid URL (Invalid non-printable ASCII"),
    ],
)
def test_unsafe_targets_are_refused(
    client: TestClient, make_key: KeyFactory, url: str, problem: str
) -> None:
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["score.updated"]},
        headers=make_key("admin"),
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "url"
    assert problem in response.json()["fields"][0]["problem"]


@pytest.mark.parametrize(
    "url",
    [
        # Local-use NAT64 (64:ff9b:1::/48) forms of 169.254.169.254, the metadata service,
        # 10.0.0.1 and 127.0.0.1; the well-known 64:ff9b::/96 forms were refused already.
        "http://[64:ff9b:1::a9fe:a9fe]/latest",
        "http://[64:ff9b:1::a00:1]/hooks",
        "http://[64:ff9b:1::7f00:1]/hooks",
        "http://[64:ff9b:1::808:808]/hooks",  # whatever follows: the operator's translator
        # Multicast, IPv6 and IPv4, and IPv6 site-local.
        "http://[ff02::1]/hooks",
        "http://[ff0e::1]/hooks",
        "http://224.0.0.1/hooks",
        "http://239.1.2.3/hooks",
        "http://[::ffff:224.0.0.1]/hooks",
        "http://[fec0::1]/hooks",
        # The older IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d)
        # forms of 127.0.0.1, 169.254.169.254 and 10.0.0.1 (audit).
        "http://[::7f00:1]/hooks",
        "http://[::a9fe:a9fe]/latest/meta-data",
        "http://[::ffff:0:a9fe:a9fe]/latest",
        "http://[::ffff:0:a00:1]/hooks",
    ],
)
def test_addresses_python_calls_global_yet_internal_are_refused(
    client: TestClient, make_key: KeyFactory, url: str
) -> None:
    """Python 3.11 calls these global: the local-use NAT64 prefix (RFC 8215) is the
    operator's own translator towards its own network, a multicast address is a group of
    the local network, a site-local one is routed inward. Each was taken as a webhook
    target, 64:ff9b:1::a9fe:a9fe (the metadata service) with a 201 (audit)."""
    response = client.post(
        "/api/v1/webhooks",
        json={"url": url, "events": ["score.updated"]},
        headers=make_key("admin"),
    )
    assert response.status_code == 422, response.text
    assert "internal address" in response.json()["fields"][0]["problem"]


def test_readers_manage_only_their_own_and_secrets_are_encrypted(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    db: DbFactory,
) -> None:
    client, _ = hook_app
    portal, other = make_key("reader"), make_key("reader")
    mine = subscribe(client, portal, receiver.url, events=["score.updated"])
    assert client.get(f"/api/v1/webhooks/{mine['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/webhooks", headers=other).json()["count"] == 0
    assert client.get("/api/v1/webhooks", headers=make_key("admin")).json()["count"] == 1
    assert (
        client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["score.updated"]},
            headers=make_key("issuer"),
        ).status_code
        == 403
    )
    scoped = make_key("reader", agency="79.BTH")
    assert (
        client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["score.updated"], "agency_code": "79.SGN"},
            headers=scoped,
        ).status_code
        == 403
    )
    with db() as session:
        stored = session.exec(select(WebhookSubscription)).one()
    assert mine["secret"] not in stored.secret_encrypted
    assert "secret" not in client.get(f"/api/v1/webhooks/{mine['id']}", headers=portal).json()
    assert client.delete(f"/api/v1/webhooks/{mine['id']}", headers=portal).status_code == 204
    assert client.get(f"/api/v1/webhooks/{mine['id']}", headers=portal).status_code == 404


def test_agency_filter_sends_only_that_subtree(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    client, worker = hook_app
    subscribe(
        client, make_key("admin"), receiver.url, events=["invitation.issued"], agency_code="79.SGN"
    )
    issuer = make_key("issuer")
    for code, agency in (("A", "79.BTH"), ("B", "79.SGN"), ("C", "79.SGN")):
        client.post(
            "/api/v1/handovers",
            json=handover_body(dossier_code=code, agency_code=agency),
            headers=issuer,
        )
    drain(worker)
    assert sorted(r.json["data"]["dossier_code"] for r in receiver.received) == ["B", "C"]


@pytest.mark.slow
def test_a_petition_passing_its_deadline_announces_the_new_score(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """Petitions age with no event (service/scoring/aging.py): the worker still sends
    score.updated when a deadline passes, carrying the score that counts it late."""
    client, worker = hook_app
    admin = make_key("admin")
    now = utcnow()
    # Far enough for the first score to be sent before it on a loaded machine (2 s was
    # not: a CI run under load sent it after the deadline, already late).
    deadline = now + timedelta(seconds=10)
    petition = {
        "petition_code": "PAKN-AGE",
        "agency_code": "79.BTH",
        "received_at": (now - timedelta(minutes=5)).isoformat(),
        "deadline_at": deadline.isoformat(),
    }
    assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 201
    subscribe(client, admin, receiver.url, events=["score.updated"])
    drain(worker)
    month = periods_of(local_date(now))[0].key
    first = [r.json["data"] for r in receiver.received if r.json["data"]["period"] == month]
    assert first and first[-1]["group5"]["petitions_on_time_rate"] is None  # not due yet
    received_before = len(receiver.received)
    while utcnow() <= deadline:
        clock.sleep(0.2)
    drain(worker, until=lambda: len(receiver.received) > received_before)
    later = [r.json["data"] for r in receiver.received[received_before:]]
    monthly = [d for d in later if d["period"] == month]
    assert monthly and monthly[-1]["group5"]["petitions_on_time_rate"] == 0.0  # late now


@pytest.mark.parametrize(
    ("first_days", "then_days", "rate_then"),
    [(20, -3, 0.0), (-3, 20, None)],
    ids=["moved-into-the-past", "extended"],
)
def test_an_open_petitions_deadline_moved_announces_the_new_score(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    first_days: int,
    then_days: int,
    rate_then: float | None,
) -> None:
    """The national system corrects an open petition's deadline: moved into the past it is
    late at once, extended (gia hạn) it is late no more. GET showed the new score, but no
    counter moves for an open petition, and the worker's sweep only sees deadlines passing
    from now on: portals were never told (audit)."""
    client, worker = hook_app
    admin = make_key("admin")
    subscribe(client, admin, receiver.url, events=["score.updated"])
    now = utcnow()
    month = periods_of(local_date(now - timedelta(days=10)))[0].key
    petition = {
        "petition_code": "PAKN-MOVED",
        "agency_code": "79.BTH",
        "received_at": (now - timedelta(days=10)).isoformat(),
        "deadline_at": (now + timedelta(days=first_days)).isoformat(),
    }
    assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 201
    drain(worker)
    receiver.received.clear()
    petition["deadline_at"] = (now + timedelta(days=then_days)).isoformat()
    assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 200
    score = client.get(f"/api/v1/agencies/79.BTH/scores/{month}", headers=admin).json()
    assert score["group5"]["petitions_on_time_rate"] == rate_then
    drain(worker)
    monthly = [r.json["data"] for r in receiver.received if r.json["data"]["period"] == month]
    assert monthly and monthly[-1]["group5"] == score["group5"]


def test_an_attempt_goes_to_the_address_that_was_checked(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: hooks.test resolves to the (allowed) receiver when it is checked and
    to an internal address afterwards. The attempt connects to the checked address, with
    the name kept in the Host header, and never asks for the name again. (The resolver is
    stood in for: there is no DNS server for a made-up name here.)"""
    real_getaddrinfo = socket.getaddrinfo
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    asked: list[str] = []

    def rebinding_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.test":
            return real_getaddrinfo(host, *args, **kwargs)
        asked.append(host)
        inward = "10.9.9.9" if len(asked) > 2 else "127.0.0.1"  # after subscribe + check
        return real_getaddrinfo(inward, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    client, worker = hook_app
    subscribe(client, make_key("admin"), f"http://hooks.test:{port}/hooks")  # 1st answer
    client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    drain(worker, until=lambda: len(receiver.received) >= 1)

    first = receiver.received[0]
    assert first.json["type"] == "invitation.issued"
    assert first.headers["host"] == f"hooks.test:{port}"
    # The name was asked once at subscribing and once per attempt's check, never by the
    # HTTP client: a later attempt, checked when the name points inward, is refused.
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        attempts = session.exec(select(DeliveryAttempt)).all()
    assert len(asked) == 1 + len(attempts)
    assert all("10.9.9.9" in (a.error or "") for a in attempts[1:])


def test_a_renamed_agency_s_scores_are_sent_again_under_its_new_name(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """A score carries its agency's name; a rename sent nothing, and portals showed the old
    name until the next answer moved the score (audit). The periods already announced and
    the live ones are sent again."""
    client, worker = hook_app
    subscribe(client, make_key("admin"), receiver.url, events=["score.updated"])
    body = handover_body(dossier_code="R-1", agency_code="79.SGN")
    assert (
        client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code == 201
    )
    drain(worker)
    before = len(receiver.received)
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    with transaction(engine) as session:
        upsert_agency(session, "79.SGN", "Phường Sài Gòn (mới)", "79", actor="test")
    drain(worker)
    renamed = receiver.received[before:]
    assert {r.json["data"]["agency_name"] for r in renamed} == {"Phường Sài Gòn (mới)"}
    assert {"2025", "2025-09", "2025-Q3"} <= {r.json["data"]["period"] for r in renamed}
