"""The push: a handover at a counter reaches its tablet's event stream by itself, through a
real server; another counter's tablet hears nothing; an unpaired tablet is told.

How fast it arrives (the promise is within a second) is measured by bench/latency.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from service.kiosk import events as kiosk_events
from service.kiosk.feed import PresentationFeed
from service.models import Counter, Dossier, Invitation, utcnow
from tests.conftest import DbFactory, KeyFactory, LiveServer
from tests.kiosk.conftest import hand_over, pair

pytestmark = pytest.mark.usefixtures("agencies")


class EventListener:
    """Reads a tablet's event stream in a thread; events land in `events` as they come."""

    def __init__(self, client: httpx.Client) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ready = threading.Event()
        self._client = client
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the test closed the client
            self._listen()

    def close(self) -> None:
        self._client.close()
        self._thread.join(timeout=2)

    def _listen(self) -> None:
        kind = ""
        with self._client.stream("GET", "/kiosk/api/events", timeout=30) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))
                    if kind == "ready":
                        self.ready.set()
                    if kind == "unpaired":
                        return

    def wait_for(self, kind: str, timeout: float, dossier: str | None = None) -> dict[str, Any]:
        """The first `kind` event (of `dossier`); `timeout` only bounds a wait that failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for seen, data in self.events:
                if seen == kind and (dossier is None or data.get("dossier_code") == dossier):
                    return data
            time.sleep(0.01)
        raise AssertionError(f"no '{kind}' event within {timeout} s: {self.events}")


@pytest.fixture
def tablet(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    # Keep-alives every 0.3 s: a closed stream notices at once, unpairing is seen at once.
    monkeypatch.setattr(kiosk_events, "KEEPALIVE_SECONDS", 0.3)
    with httpx.Client(base_url=live_server.url) as client:
        yield client


def test_each_handover_reaches_its_counter_tablet_and_no_other(
    live_server: LiveServer, tablet: httpx.Client, make_key: KeyFactory
) -> None:
    pair(tablet, make_key, counter="Q01")
    with httpx.Client(base_url=live_server.url) as other_tablet:
        pair(other_tablet, make_key, counter="Q02")
        here, there = EventListener(tablet), EventListener(other_tablet)
        assert here.ready.wait(5) and there.ready.wait(5)

        with httpx.Client(base_url=live_server.url) as issuer:
            for n in range(3):
                issued = hand_over(issuer, make_key, dossier_code=f"SSE-{n}", counter_code="Q01")
                card = here.wait_for("survey", timeout=10, dossier=f"SSE-{n}")
                assert card["survey_id"] == issued["survey_id"]
        # Each survey once, in the order handed over.
        assert [data["dossier_code"] for kind, data in here.events if kind == "survey"] == [
            "SSE-0",
            "SSE-1",
            "SSE-2",
        ]
        time.sleep(0.6)  # several feed rounds: the other counter's tablet stays quiet
        assert [kind for kind, _ in there.events] == ["ready"]
        here.close()
        there.close()


def test_an_unpaired_tablet_is_told_on_its_stream(
    live_server: LiveServer, tablet: httpx.Client, make_key: KeyFactory
) -> None:
    listener = _listening(tablet, make_key)
    with httpx.Client(base_url=live_server.url) as console:
        _unpair(console, make_key)
    listener.wait_for("unpaired", timeout=3)
    listener.close()


def _listening(tablet: httpx.Client, make_key: KeyFactory) -> EventListener:
    """The tablet paired, its event stream open."""
    pair(tablet, make_key)
    listener = EventListener(tablet)
    assert listener.ready.wait(5)
    return listener


def _unpair(console: httpx.Client, make_key: KeyFactory) -> None:
    """An admin unpairs the one tablet."""
    admin = make_key("admin")
    device_id = console.get("/api/v1/kiosk/devices", headers=admin).json()["data"][0]["id"]
    assert console.post(f"/api/v1/kiosk/devices/{device_id}/unpair", headers=admin).is_success


def test_an_unpaired_tablet_at_a_busy_counter_is_told_before_more_surveys(
    live_server: LiveServer,
    tablet: httpx.Client,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pairing was checked only when nothing had come for a keep-alive's time: at a counter
    handing over more often than that, the unpaired tablet went on receiving surveys (and
    their short codes) for the rest of its stream (audit)."""
    monkeypatch.setattr(kiosk_events, "KEEPALIVE_SECONDS", 1.0)  # longer than the gaps
    listener = _listening(tablet, make_key)
    with httpx.Client(base_url=live_server.url) as console:
        _unpair(console, make_key)
        started = time.monotonic()
        n = 0
        # A handover every 0.2 s or so, for three keep-alive times.
        while time.monotonic() - started < 3 * kiosk_events.KEEPALIVE_SECONDS:
            hand_over(console, make_key, dossier_code=f"BUSY-{n}")
            n += 1
            time.sleep(0.2)
    listener.wait_for("unpaired", timeout=5)
    kinds = [kind for kind, _ in listener.events]
    listener.close()
    after = kinds[kinds.index("unpaired") :]
    assert after == ["unpaired"]
    # Unpaired before the first handover: pairing is checked before every survey, so none
    # reached it (before, those of up to a keep-alive's time did).
    assert kinds.count("survey") == 0 and n > 3


def test_a_survey_handed_over_before_a_tablet_connected_is_not_pushed_to_it(
    live_server: LiveServer, tablet: httpx.Client, make_key: KeyFactory
) -> None:
    """The feed remembers every survey it met, pushed or not (it builds cards only for the
    counters with a tablet): one handed over at Q02 while no tablet was there is not news
    to the tablet that connects there later."""
    here = _listening(tablet, make_key)  # at Q01: the feed is running
    with httpx.Client(base_url=live_server.url) as issuer:
        hand_over(issuer, make_key, dossier_code="SSE-EARLY", counter_code="Q02")
        # The feed has met it once a survey handed over after it has reached Q01's tablet
        # (a fixed 0.6 s assumed a feed round in that time; a loaded machine may not run one,
        # and a tablet connecting while the round that meets it reads is given it).
        hand_over(issuer, make_key, dossier_code="SSE-AFTER", counter_code="Q01")
        here.wait_for("survey", timeout=10, dossier="SSE-AFTER")
        with httpx.Client(base_url=live_server.url) as other_tablet:
            pair(other_tablet, make_key, counter="Q02")
            there = EventListener(other_tablet)
            assert there.ready.wait(5)
            hand_over(issuer, make_key, dossier_code="SSE-LATE", counter_code="Q02")
            there.wait_for("survey", timeout=10, dossier="SSE-LATE")
            surveys = [data["dossier_code"] for kind, data in there.events if kind == "survey"]
            assert surveys == ["SSE-LATE"]
            there.close()
    seen_here = [(kind, data.get("dossier_code")) for kind, data in here.events]
    assert seen_here == [("ready", None), ("survey", "SSE-AFTER")]
    here.close()


def test_a_tablet_connecting_while_the_feed_reads_gets_its_counters_new_surveys(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The feed reads cards for the counters listened to when its read starts; a tablet
    that connected meanwhile still gets what that read met at its counter."""
    app = cast(FastAPI, client.app)
    feed = PresentationFeed(app.state.engine, app.state.settings.kiosk_present_minutes)
    feed._read()  # the starting point
    feed._queues[999] = {asyncio.Queue()}  # a tablet elsewhere: the feed is running
    hand_over(client, make_key, dossier_code="FEED-1", counter_code="Q02")
    assert asyncio.run(feed._poll(frozenset({999}))) == []  # no tablet at Q02: met, not built
    with db() as session:
        q02 = session.exec(select(Counter.id).where(Counter.code == "Q02")).one() or 0
    hand_over(client, make_key, dossier_code="FEED-2", counter_code="Q02")
    feed._queues[q02] = {asyncio.Queue()}  # connected after the poll below took its snapshot
    cards = asyncio.run(feed._poll(frozenset({999})))
    assert [(counter, card.dossier_code) for counter, card in cards] == [(q02, "FEED-2")]


def test_the_feed_pushes_only_what_the_waiting_list_would_offer(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An import of last month's dossiers (issued when they were handed over: expired, or
    answered by the row's evaluation) was pushed to the counter's tablet, a stranger's
    month-old dossier in front of the citizen at the counter; past the tablet's 20 cards
    the present survey never came (kiosk audit). The feed offers what GET
    /kiosk/api/waiting would: unanswered, issued within kiosk_present_minutes."""
    app = cast(FastAPI, client.app)
    feed = PresentationFeed(app.state.engine, app.state.settings.kiosk_present_minutes)
    feed._read()  # the starting point
    for code in ("PAST-1", "PAST-2", "ANSWERED", "NOW-1"):
        hand_over(client, make_key, dossier_code=code, counter_code="Q01")
    with db() as session:
        for invitation in session.exec(select(Invitation).join(Dossier)).all():
            dossier = session.get(Dossier, invitation.dossier_id)
            assert dossier is not None
            if dossier.code.startswith("PAST"):  # as an import writes them
                invitation.issued_at = utcnow() - timedelta(days=40)
                invitation.expires_at = utcnow() - timedelta(days=10)
            elif dossier.code == "ANSWERED":
                invitation.status = "answered"
            session.add(invitation)
        q01 = session.exec(select(Counter.id).where(Counter.code == "Q01")).one() or 0
    feed._queues[q01] = {asyncio.Queue()}
    cards = asyncio.run(feed._poll(frozenset({q01})))
    assert [card.dossier_code for _, card in cards] == ["NOW-1"]


def test_a_third_stream_of_one_tablet_ends_its_oldest(
    live_server: LiveServer, tablet: httpx.Client, make_key: KeyFactory
) -> None:
    """One device key held 25 streams and more, each a subscription and a pairing check
    (audit): two stay open (a tablet reconnecting before its old stream was noticed gone),
    a third ends the oldest."""
    pair(tablet, make_key)
    copies = [httpx.Client(base_url=live_server.url, cookies=tablet.cookies) for _ in range(2)]
    first = EventListener(tablet)
    assert first.ready.wait(5)
    second = EventListener(copies[0])
    assert second.ready.wait(5)
    time.sleep(0.6)  # two streams: both stay
    assert first._thread.is_alive() and second._thread.is_alive()
    third = EventListener(copies[1])
    assert third.ready.wait(5)
    first._thread.join(timeout=5)
    assert not first._thread.is_alive()  # its stream ended
    with httpx.Client(base_url=live_server.url) as issuer:
        hand_over(issuer, make_key, dossier_code="SSE-CAP")
    for listener in (second, third):
        listener.wait_for("survey", timeout=10, dossier="SSE-CAP")
        listener.close()
