"""A handover with a phone and consent, through the outbox to SMS (eSMS) and Zalo ZNS
receivers on 127.0.0.1 that check each provider's documented request: one message per
channel, the short link opens the survey, a provider's passing error is retried, and a
reminder follows on the same channels only while the survey is unanswered."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from service.app import create_app
from service.delivery.worker import DeliveryWorker
from service.messaging import leased, sending
from service.messaging.channels.base import OutgoingMessage
from service.messaging.channels.registry import configured_channels
from service.models import OutgoingMessageRow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings
from tests.messaging.conftest import Mailbox, SmtpServer, Worker, local
from tests.messaging.test_sms_zalo_channels import (
    ACCESS_TOKEN,
    API_KEY,
    BRANDNAME,
    ESMS_PATH,
    SECRET_KEY,
    TEMPLATE_ID,
    ZALO_PATH,
    Provider,
    esms_answer,
    esms_problems,
    serving,
    zalo_answer,
    zalo_problems,
)
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")
PHONE = {"phone": "0912 345 678", "consent": True}


@pytest.fixture
def esms() -> Iterator[Provider]:
    with serving(esms_problems) as provider:
        provider.answer_json(esms_answer("100"))
        yield provider


@pytest.fixture
def zalo() -> Iterator[Provider]:
    with serving(zalo_problems) as provider:
        provider.answer_json(zalo_answer(0))
        yield provider


def sms_fields(esms: Provider) -> dict[str, Any]:
    """The settings of eSMS at the receiver `esms`."""
    return {
        "sms_provider": "esms",
        "sms_api_key": API_KEY,
        "sms_secret_key": SECRET_KEY,
        "sms_brandname": BRANDNAME,
        "sms_url": esms.url + ESMS_PATH,
    }


@pytest.fixture
def settings(database_url: str, esms: Provider, zalo: Provider) -> Settings:
    return make_settings(
        database_url,
        **sms_fields(esms),
        zalo_url=zalo.url + ZALO_PATH,
        zalo_access_token=ACCESS_TOKEN,
        zalo_template_id=TEMPLATE_ID,
        message_reminder_days=3,
    )


def test_a_phone_gets_the_zns_and_an_sms_only_where_zalo_could_not_deliver(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    db: DbFactory,
    settings: Settings,
    engine: object,
) -> None:
    """With both set up, a phone got the same link twice, by SMS and by Zalo, and the office
    paid twice (audit): Zalo goes first, and the SMS only where it could not deliver (no
    Zalo account, a failure, retries under way). Each link opens the survey, and the
    reminder goes on the channel that delivered the invitation."""
    worker = Worker(engine, settings)  # type: ignore[arg-type]
    issuer = make_key("issuer")
    on_zalo = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=issuer
    ).json()
    assert sorted((m["channel"], m["status"]) for m in on_zalo["messages"]) == [
        ("sms", "pending"),
        ("zalo", "pending"),
    ]
    worker.run(local(1, 9))
    worker.run(local(1, 9, 5))
    assert esms.seen == [] and [z.body["phone"] for z in zalo.seen] == ["84912345678"]
    link = zalo.seen[0].body["template_data"]["link"]
    opened = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.headers["location"] == on_zalo["survey_url"]
    reposted = client.post("/api/v1/handovers", json=handover_body(), headers=issuer).json()
    assert sorted((m["channel"], m["status"], m["reason"]) for m in reposted["messages"]) == [
        ("sms", "skipped", "sent_by_zalo"),
        ("zalo", "sent", None),
    ]

    # A phone without Zalo (-118): the SMS goes, once.
    zalo.answer_json(zalo_answer(-118, "Zalo account not existed"))
    by_sms = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="G22.39-SMS", contact=PHONE),
        headers=issuer,
    ).json()
    worker.run(local(1, 10))
    worker.run(local(1, 10, 5))
    worker.run(local(1, 11))
    assert [s.body["Phone"] for s in esms.seen] == ["84912345678"]
    assert esms.problems == [] and zalo.problems == []
    sms_link = next(word for word in esms.seen[0].body["Content"].split() if "/m/" in word)
    opened = client.get(sms_link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.headers["location"] == by_sms["survey_url"]
    with db() as session:
        rows = session.exec(select(OutgoingMessageRow)).all()
        assert sorted((r.invitation_id, r.channel, r.status, r.reason) for r in rows) == [
            (1, "sms", "skipped", "sent_by_zalo"),
            (1, "zalo", "sent", None),
            (2, "sms", "sent", None),
            (2, "zalo", "failed", "Zalo ZNS error -118: no Zalo account for this phone "
             "number (Zalo account not existed)"),
        ]  # fmt: skip

    # Three days on, unanswered: one reminder each, on the channel that delivered, once.
    zalo.answer_json(zalo_answer(0))
    for day, hour in ((4, 10), (4, 11), (5, 10)):
        worker.run(local(day, hour))
    assert len(esms.seen) == 2 and len(zalo.seen) == 3
    assert "nhắc" in esms.seen[1].body["Content"].lower()
    assert zalo.seen[2].body["template_data"]["dossier"] == handover_body()["dossier_code"]


def test_no_reminder_once_the_survey_is_answered(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    settings: Settings,
    engine: object,
) -> None:
    worker = Worker(engine, settings)  # type: ignore[arg-type]
    issued = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=make_key("issuer")
    ).json()
    worker.run(local(1, 9))
    token = issued["survey_url"].rsplit("/", 1)[1]
    answered = client.post(
        "/api/v1/responses", json={"token": token, "answers": ANSWERS, "source": "phone"}
    )
    assert answered.status_code == 201, answered.text
    for day in (4, 5, 8):
        worker.run(local(day, 10))
    assert (len(esms.seen), len(zalo.seen)) == (0, 1)  # by Zalo, and no reminder


def test_a_providers_odd_reply_is_kept_cleaned_and_the_sms_goes_once(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    db: DbFactory,
    worker: Worker,
) -> None:
    """A message id with a NUL, a lone surrogate (JSON's "\\ud83d") and past the column's
    255, an error text with both: the row's UPDATE failed (on PostgreSQL for the NUL, on
    both databases for the surrogate), the message stayed pending, and the SMS (sent
    already) went again at every lease."""
    esms.answer_json({**esms_answer("100"), "SMSID": "id\x00\ud83d" + "9" * 300})
    zalo.answer_json(zalo_answer(-124, "Access\x00 token\ud83d is invalid"))  # retried
    issued = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=make_key("issuer")
    )
    assert issued.status_code == 201, issued.text
    worker.run(local(1, 9))  # Zalo first: a passing error, cleaned and kept
    with db() as session:
        [tried] = session.exec(
            select(OutgoingMessageRow).where(OutgoingMessageRow.channel == "zalo")
        )
    assert tried.status == "pending" and "token? is invalid" in (tried.reason or "")
    worker.run(local(1, 9, 30))  # Zalo retrying: the SMS goes meanwhile
    # (or, decided while the Zalo retry was being sent, a moment after it)
    worker.run(local(1, 9, 30) + sending.IN_FLIGHT_WAIT)
    worker.run(local(1, 9, 45))  # well within the backoff and past any lease
    assert len(esms.seen) == 1
    with db() as session:
        rows = {r.channel: r for r in session.exec(select(OutgoingMessageRow)).all()}
    assert rows["sms"].status == "sent" and rows["sms"].provider_id == ("id?" + "9" * 300)[:255]
    # The phone has the link: Zalo's retry is not sent.
    assert (rows["zalo"].status, rows["zalo"].reason) == ("skipped", "sent_by_sms")


def test_a_hanging_sms_gateway_holds_up_no_email(
    database_url: str,
    make_key: KeyFactory,
    esms: Provider,
    smtp_server: SmtpServer,
    mailbox: Mailbox,
) -> None:
    """The worker ran every channel in one round and began the next when all had ended: an
    e-mail due while a gateway hung waited for the SMS round (up to its timeout a message,
    100 messages a round; delivery audit). Each channel is a lane of its own now."""
    settings = make_settings(
        database_url,
        **sms_fields(esms),
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="hailong@phuong.gov.vn",
        message_http_timeout_seconds=2.0,
        message_quiet_start="00:00",  # quiet hours off: the test runs at any hour
        message_quiet_end="00:00",
        worker_poll_seconds=0.05,
    )
    esms.delay = 60  # the gateway hangs until released (each SMS: the 2 s timeout)
    app = create_app(settings)
    with TestClient(app) as client:
        issuer = make_key("issuer")
        for n in range(5):
            body = handover_body(dossier_code=f"SMS-{n}", contact=PHONE)
            assert client.post("/api/v1/handovers", json=body, headers=issuer).is_success
        worker = DeliveryWorker(app.state.engine, settings, app.state.profile)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
        thread.start()
        try:
            until(lambda: len(esms.seen) >= 1)  # the SMS lane waits on its first message
            body = handover_body(
                dossier_code="MAIL-1", contact={"email": "an@example.vn", "consent": True}
            )
            assert client.post("/api/v1/handovers", json=body, headers=issuer).is_success
            until(lambda: bool(mailbox.received))
            sms_tried_by_then = len(esms.seen)
        finally:
            esms.release.set()
            stop.set()
            thread.join(30)
    assert [m["To"] for m in mailbox.received] == ["an@example.vn"]
    # The e-mail went while the SMS round was still under way.
    assert sms_tried_by_then < 5


def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def test_a_zalo_retry_after_the_sms_went_is_not_sent(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    db: DbFactory,
    worker: Worker,
) -> None:
    """Zalo's first try a passing failure: the SMS goes (retries under way), and the Zalo
    retry that would succeed later sent the link a second time (review)."""
    zalo.answer_json(zalo_answer(-124, "Access token is invalid"))  # retried
    issued = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=make_key("issuer")
    )
    assert issued.status_code == 201, issued.text
    worker.run(local(1, 9))
    worker.run(local(1, 9, 5))
    # (or, decided while the Zalo retry was being sent, a moment after it)
    worker.run(local(1, 9, 5) + sending.IN_FLIGHT_WAIT)
    assert len(esms.seen) == 1  # the SMS went, Zalo retrying
    zalo.answer_json(zalo_answer(0))
    tried = len(zalo.seen)
    worker.run(local(1, 11))  # past the backoff: the Zalo retry is not sent
    worker.run(local(4, 10))  # and the reminder goes by SMS alone
    with db() as session:
        rows = {
            (r.channel, r.kind): (r.status, r.reason)
            for r in session.exec(select(OutgoingMessageRow)).all()
        }
    assert rows[("zalo", "invitation")] == ("skipped", "sent_by_sms")
    assert rows[("sms", "invitation")] == ("sent", None)
    assert ("zalo", "reminder") not in rows and rows[("sms", "reminder")][0] == "sent"
    assert len(zalo.seen) == tried and len(esms.seen) == 2


def test_a_survey_issued_again_falls_back_to_sms_when_zalo_now_refuses(
    client: TestClient, make_key: KeyFactory, esms: Provider, zalo: Provider, worker: Worker
) -> None:
    """Zalo delivered the first link (the SMS skipped, sent_by_zalo). Issued again, the
    Zalo message went again but the SMS stayed skipped: when Zalo refused the new link,
    it reached nobody (review)."""
    issuer = make_key("issuer")
    issued = client.post("/api/v1/handovers", json=handover_body(contact=PHONE), headers=issuer)
    assert issued.status_code == 201, issued.text
    worker.run(local(1, 9))
    worker.run(local(1, 9, 5))
    assert len(zalo.seen) == 1 and esms.seen == []
    code = handover_body()["dossier_code"]
    assert client.post(f"/api/v1/handovers/{code}/revoke", headers=issuer).status_code == 200
    again = client.post("/api/v1/handovers", json=handover_body(contact=PHONE), headers=issuer)
    assert again.status_code == 201, again.text
    zalo.answer_json(zalo_answer(-118, "Zalo account not existed"))  # a refusal now
    for minute in (0, 5, 10):
        worker.run(local(2, 9, minute))
    assert len(esms.seen) == 1
    link = next(word for word in esms.seen[0].body["Content"].split() if "/m/" in word)
    opened = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.headers["location"] == again.json()["survey_url"]


def test_a_message_decided_while_the_other_channel_sends_waits_for_its_outcome(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    db: DbFactory,
    settings: Settings,
    engine: sa.Engine,
) -> None:
    """(alerts audit) The lanes run side by side, and the SMS that waited for Zalo's first
    try falls due with Zalo's retry. A Zalo retry under way (claimed, not yet recorded)
    read as "pending" to the SMS lane, and the phone got the link by both. The SMS now
    waits for the outcome, and is skipped once the Zalo message is sent."""
    channels = configured_channels(settings)
    issued = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=make_key("issuer")
    )
    assert issued.status_code == 201, issued.text
    zalo.answer_json(zalo_answer(-100, "Unknown error"))  # passing: retried
    start = local(1, 9)
    sending.channel_lanes(engine, settings, channels, start)["zalo"]()
    assert len(zalo.seen) == 1 and esms.seen == []
    zalo.answer_json(zalo_answer(0))
    due = start + timedelta(minutes=2)  # the Zalo retry and the SMS both due

    def decide(session: Session, row: OutgoingMessageRow) -> OutgoingMessage | None:
        return sending._decide(session, settings, channels, row, due)

    retry = leased.claim(
        engine, OutgoingMessageRow, due, decide, [col(OutgoingMessageRow.channel) == "zalo"]
    )
    assert retry is not None and retry.message is not None
    sending.channel_lanes(engine, settings, channels, due)["sms"]()  # while Zalo is called
    assert esms.seen == []
    with db() as session:
        sms = session.exec(
            select(OutgoingMessageRow).where(OutgoingMessageRow.channel == "sms")
        ).one()
    assert (sms.status, sms.reason) == ("pending", "after_zalo")
    leased.send(engine, settings, channels, OutgoingMessageRow, retry, due)
    later = due + sending.IN_FLIGHT_WAIT
    sending.channel_lanes(engine, settings, channels, later)["sms"]()
    with db() as session:
        rows = {r.channel: (r.status, r.reason) for r in session.exec(select(OutgoingMessageRow))}
    assert rows == {"zalo": ("sent", None), "sms": ("skipped", "sent_by_zalo")}
    assert esms.seen == [] and len(zalo.seen) == 2


def test_a_repost_while_a_lane_decides_does_not_deadlock(
    client: TestClient,
    make_key: KeyFactory,
    settings: Settings,
    engine: sa.Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(review) A lane's claim locks the message row (its lease), then the phone's
    decisions took turns on the invitation's row; a re-post of the dossier locks the
    invitation, then updates its messages: the opposite order, and PostgreSQL killed one
    of the two as a deadlock. They take turns on an advisory lock instead."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    channels = configured_channels(settings)
    issuer = make_key("issuer")
    issued = client.post("/api/v1/handovers", json=handover_body(contact=PHONE), headers=issuer)
    assert issued.status_code == 201, issued.text
    due = local(1, 9)
    row_locked, go_on = threading.Event(), threading.Event()
    lane_error: list[BaseException] = []

    def decide(session: Session, row: OutgoingMessageRow) -> OutgoingMessage | None:
        row_locked.set()
        go_on.wait(10)
        return sending._decide(session, settings, channels, row, due)

    def lane() -> None:
        try:
            leased.claim(
                engine, OutgoingMessageRow, due, decide, [col(OutgoingMessageRow.channel) == "zalo"]
            )
        except BaseException as exc:
            lane_error.append(exc)

    caplog.set_level(logging.WARNING, logger="hailong.db")
    lane_thread = threading.Thread(target=lane)
    lane_thread.start()
    assert row_locked.wait(10)
    answer: dict[str, Any] = {}

    def repost() -> None:
        withdrawn = {"phone": PHONE["phone"], "consent": False}
        response = client.post(
            "/api/v1/handovers", json=handover_body(contact=withdrawn), headers=issuer
        )
        answer["status"] = response.status_code

    repost_thread = threading.Thread(target=repost)
    started = time.monotonic()
    repost_thread.start()
    time.sleep(0.5)  # the re-post holds the invitation and waits for the message row
    go_on.set()
    lane_thread.join(20)
    repost_thread.join(20)
    took = time.monotonic() - started
    deadlocks = [r.getMessage() for r in caplog.records if "Deadlock" in r.getMessage()]
    assert lane_error == [] and deadlocks == [], (lane_error, deadlocks, f"{took:.1f} s")
    assert answer.get("status") in (200, 201), answer
