"""A handover with a phone and consent, through the outbox to SMS (eSMS) and Zalo ZNS
receivers on 127.0.0.1 that check each provider's documented request: one message per
channel, the short link opens the survey, a provider's passing error is retried, and a
reminder follows on the same channels only while the survey is unanswered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.delivery.worker import DeliveryWorker
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


def test_a_phone_gets_one_sms_and_one_zns_whose_link_opens_the_survey(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    db: DbFactory,
    settings: Settings,
    engine: object,
) -> None:
    worker = Worker(engine, settings)  # type: ignore[arg-type]
    issued = client.post(
        "/api/v1/handovers", json=handover_body(contact=PHONE), headers=make_key("issuer")
    )
    assert issued.status_code == 201, issued.text
    assert sorted((m["channel"], m["status"]) for m in issued.json()["messages"]) == [
        ("sms", "pending"),
        ("zalo", "pending"),
    ]
    zalo.answer_json(zalo_answer(-124, "Access token is invalid"))  # passes: retried
    worker.run(local(1, 9))
    assert [s.body["Phone"] for s in esms.seen] == ["84912345678"]
    assert esms.problems == [] and zalo.problems == []
    sms_text = esms.seen[0].body["Content"]
    link = next(word for word in sms_text.split() if "/m/" in word)
    opened = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.headers["location"] == issued.json()["survey_url"]

    zalo.answer_json(zalo_answer(0))
    worker.run(local(1, 11))  # after the backoff
    assert len(esms.seen) == 1  # never twice
    assert [s.body["phone"] for s in zalo.seen] == ["84912345678", "84912345678"]
    assert zalo.seen[-1].body["template_id"] == TEMPLATE_ID
    with db() as session:
        rows = session.exec(select(OutgoingMessageRow)).all()
        assert {(r.channel, r.kind, r.status) for r in rows} == {
            ("sms", "invitation", "sent"),
            ("zalo", "invitation", "sent"),
        }

    # Three days on, unanswered: one reminder per channel, once.
    worker.run(local(4, 10))
    worker.run(local(4, 11))
    worker.run(local(5, 10))
    assert len(esms.seen) == 2 and len(zalo.seen) == 3
    assert "Nhắc" in esms.seen[1].body["Content"] or "nhắc" in esms.seen[1].body["Content"]


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
    assert len(esms.seen) == 1 and len(zalo.seen) == 1


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
    worker.run(local(1, 9))
    worker.run(local(1, 9, 30))  # well within the backoff and past any lease
    assert len(esms.seen) == 1
    with db() as session:
        rows = {r.channel: r for r in session.exec(select(OutgoingMessageRow)).all()}
    assert rows["sms"].status == "sent" and rows["sms"].provider_id == ("id?" + "9" * 300)[:255]
    assert rows["zalo"].status == "pending" and "token? is invalid" in (rows["zalo"].reason or "")


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
