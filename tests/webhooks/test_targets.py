"""Checking where webhooks may go: a resolver that never answers for some names holds up no
other receiver, nor a slow one any other request, and a list of allowed networks that cannot
be read stops the start."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.delivery.worker import DeliveryWorker
from service.settings import Settings
from service.webhooks import targets
from tests.cli_runner import cli_for
from tests.conftest import KeyFactory, handover_body
from tests.webhooks.conftest import Receiver, drain, webhook_settings
from tests.webhooks.test_deliveries import subscribe

HANGING = [f"n{n}.hang.test" for n in range(6)]  # more names than there once were resolvers


@pytest.mark.slow  # waits for the resolvers' timeout to pass
@pytest.mark.usefixtures("agencies")
def test_names_that_never_resolve_hold_up_no_other_receiver(
    database_url: str, make_key: KeyFactory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader subscribing URLs whose DNS hangs (each POST a 422 after the timeout) left
    the four resolver threads of the process stuck: from then on every check timed out, an
    address like 127.0.0.1 included, and no webhook of the province went out (audit). An
    address is not looked up, and a name that hangs holds one lookup however often it is
    asked for. The resolver is stood in for: this machine's answers."""
    real_resolve = targets.resolve
    hang = threading.Event()
    asked: Counter[str] = Counter()

    def resolve(host: str, port: int) -> list[Any]:
        asked[host] += 1
        if host.endswith(".hang.test"):
            hang.wait(30)
            return []
        return real_resolve(host, port)

    monkeypatch.setattr(targets, "resolve", resolve)
    settings = webhook_settings(database_url, webhook_timeout_seconds=0.2)
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            portal = make_key("reader")
            for name in [*HANGING, HANGING[0], HANGING[0]]:
                refused = client.post(
                    "/api/v1/webhooks",
                    json={"url": f"https://{name}/hooks", "events": ["invitation.issued"]},
                    headers=portal,
                )
                assert refused.status_code == 422, refused.text
                assert "did not resolve within 0.2 s" in refused.json()["fields"][0]["problem"]
            assert asked[HANGING[0]] == 1  # asked again while hanging: not a second lookup

            port = receiver.url.split(":")[2].split("/")[0]
            for url in (receiver.url, f"http://localhost:{port}/hooks"):
                subscribe(client, portal, url, events=["invitation.issued"])
            assert client.post(
                "/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
            ).is_success
            roomy = settings.model_copy(update={"webhook_timeout_seconds": 5})
            worker = DeliveryWorker(app.state.engine, roomy, app.state.profile)
            drain(worker, until=lambda: len(receiver.received) == 2)
    finally:
        hang.set()
    hosts = sorted(r.headers["host"] for r in receiver.received)
    assert hosts == [f"127.0.0.1:{port}", f"localhost:{port}"]
    assert "127.0.0.1" not in asked  # an address: nothing to look up


@pytest.mark.usefixtures("agencies")
def test_a_slow_lookup_for_a_new_subscription_holds_up_no_handover(
    database_url: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new subscription's URL was checked inside its unit of work: on SQLite the lookup
    held the process's one write lock, and every handover and answer waited for a reader's
    DNS, up to the webhook timeout (audit). Here the name resolves only once a handover
    has gone through: held up, the handover waited out the lookup, refused (422)."""
    handed_over, looking_up = threading.Event(), threading.Event()

    def resolve(host: str, port: int) -> list[Any]:
        looking_up.set()
        handed_over.wait(30)
        return [ipaddress.ip_address("8.8.8.8")]

    monkeypatch.setattr(targets, "resolve", resolve)
    app = create_app(webhook_settings(database_url, webhook_timeout_seconds=5))
    portal, issuer = make_key("reader"), make_key("issuer")
    answers: list[int] = []
    try:
        with TestClient(app) as client:

            def subscribe_slowly() -> None:
                body = {"url": "https://portal.slow-dns.test/hooks", "events": ["score.updated"]}
                answer = client.post("/api/v1/webhooks", json=body, headers=portal)
                answers.append(answer.status_code)

            subscribing = threading.Thread(target=subscribe_slowly)
            subscribing.start()
            assert looking_up.wait(10)
            issued = client.post("/api/v1/handovers", json=handover_body(), headers=issuer)
            handed_over.set()
            subscribing.join(10)
    finally:
        handed_over.set()
    assert issued.status_code == 201
    assert answers == [201]


@pytest.mark.usefixtures("agencies")
def test_subscriptions_to_a_name_that_never_resolves_hold_up_no_handover(
    database_url: str, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(audit) Each new subscription's lookup waited, up to the webhook timeout, on one of
    anyio's default threads, the forty every unit of work runs on: a portal subscribing
    forty times at once to a name whose resolver never answers stopped every handover and
    answer for that long. Here the handover goes through while all forty still wait."""
    asked, released = threading.Event(), threading.Event()
    real_resolve = targets.resolve

    def resolve(host: str, port: int) -> list[Any]:
        if not host.endswith("hang.test"):
            return real_resolve(host, port)
        asked.set()
        released.wait(30)  # a resolver that does not answer
        raise targets.UnsafeTarget("no answer")

    monkeypatch.setattr(targets, "resolve", resolve)
    app = create_app(webhook_settings(database_url, webhook_timeout_seconds=8))
    portal, issuer = make_key("reader"), make_key("issuer")
    body = {"url": "https://portal.hang.test/hooks", "events": ["score.updated"]}
    with TestClient(app) as client, ThreadPoolExecutor(40) as pool:
        try:
            subscribing = [
                pool.submit(client.post, "/api/v1/webhooks", json=body, headers=portal)
                for _ in range(40)
            ]
            assert asked.wait(10)
            time.sleep(0.5)  # the others reach the lookup under way (one for the name)
            issued = client.post("/api/v1/handovers", json=handover_body(), headers=issuer)
            # Held up, it went through only once the lookups had timed out, refused.
            still_waiting = not any(sub.done() for sub in subscribing)
        finally:
            released.set()
        refused = [sub.result().status_code for sub in subscribing]
    assert issued.status_code == 201, issued.text
    assert still_waiting
    assert refused == [422] * 40


def test_past_the_lookups_a_process_may_have_under_way_a_name_is_refused_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hanging names hold their threads until the resolver gives up: past MAX_LOOKUPS a new
    name is refused at once (its attempt retried later) rather than queued behind them; an
    address still needs no lookup."""
    hang = threading.Event()

    def resolve(host: str, port: int) -> list[Any]:
        hang.wait(30)
        return []

    monkeypatch.setattr(targets, "resolve", resolve)
    monkeypatch.setattr(targets, "MAX_LOOKUPS", 2)
    try:
        for name in ("cap-1.hang.test", "cap-2.hang.test"):
            with pytest.raises(targets.UnsafeTarget, match=r"did not resolve within 0\.05 s"):
                targets.resolve_within(name, 443, 0.05)
        with pytest.raises(targets.UnsafeTarget, match="2 other host names are still resolving"):
            targets.resolve_within("portal.example.vn", 443, 5)
        assert [str(a) for a in targets.resolve_within("203.0.113.7", 443, 5)] == ["203.0.113.7"]
    finally:
        hang.set()


@pytest.mark.parametrize(
    ("value", "item"),
    [
        ("10.20.0.0/16;10.30.0.0/16", "10.20.0.0/16;10.30.0.0/16"),
        ("127.0.0.0/8, 10.20.0.0/33", "10.20.0.0/33"),
        ("localhost", "localhost"),
    ],
)
def test_allowed_networks_that_cannot_be_read_are_refused_naming_the_item(
    value: str, item: str
) -> None:
    """Accepted at start, such a list made every POST /api/v1/webhooks a 500 and every
    delivery fail, until subscriptions were disabled (audit)."""
    with pytest.raises(ValidationError, match="webhook_allow_networks") as refused:
        Settings(webhook_allow_networks=value)
    assert f"'{item}'" in str(refused.value)


def test_allowed_networks_may_be_spaced_and_name_hosts_or_ipv6() -> None:
    settings = Settings(webhook_allow_networks=" 127.0.0.0/8, ,10.20.0.5, ::1/128 ")
    assert [str(n) for n in targets.allowed_networks(settings)] == [
        "127.0.0.0/8",
        "10.20.0.5/32",
        "::1/128",
    ]


def test_the_start_stops_on_allowed_networks_that_cannot_be_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HAILONG_WEBHOOK_ALLOW_NETWORKS", "10.20.0.0/16;10.30.0.0/16")
    result = cli_for("sqlite://")("keys", "list")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "Invalid setting HAILONG_WEBHOOK_ALLOW_NETWORKS=10.20.0.0/16;10.30.0.0/16: "
        "'10.20.0.0/16;10.30.0.0/16' is not"
    )
