"""Messages that fail for good are reported: a WARNING on `hailong.messages` (channel,
class, reason, row id; never the contact or the link) and
hailong_message_failures_total{channel,reason_class}. Found by an audit: every invitation
eSMS refused for an unregistered template was marked failed, and nobody was told.

A problem of the provider account (an expired Zalo token, a ZNS or eSMS balance run dry,
the day's quota used up) is no failure of the message: it waits, retried without giving up
until its survey expires, with one WARNING a round (README, "SMS and Zalo providers")."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import OutgoingMessageRow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Worker, local
from tests.messaging.test_phone_invitations import esms, settings, zalo
from tests.messaging.test_sms_zalo_channels import Provider, esms_answer, zalo_answer

pytestmark = pytest.mark.usefixtures("agencies")
# The eSMS and Zalo receivers' fixtures, and the settings of both channels.
__all__ = ["esms", "settings", "zalo"]
URL = "/api/v1/handovers"
PHONE = {"phone": "0912 345 678", "consent": True}
NUMBER = "84912345678"


def _post(client: TestClient, key: dict[str, str], n: int = 1) -> None:
    for i in range(n):
        body = handover_body(dossier_code=f"G22.39-250915-000{i + 1}", contact=PHONE)
        assert client.post(URL, json=body, headers=key).status_code == 201


def _rows(db: DbFactory, channel: str) -> list[OutgoingMessageRow]:
    with db() as session:
        found = session.exec(
            select(OutgoingMessageRow)
            .where(OutgoingMessageRow.channel == channel)
            .order_by(OutgoingMessageRow.id)  # type: ignore[arg-type]
        )
        return list(found.all())


def _failures(client: TestClient, channel: str, reason_class: str) -> float:
    """The counter's value on /metrics (it adds up across tests: compare before and after)."""
    wanted = re.compile(
        rf'^hailong_message_failures_total\{{channel="{channel}",reason_class="{reason_class}"\}}'
        r" ([0-9.e+]+)$",
        re.MULTILINE,
    )
    found = wanted.search(client.get("/metrics").text)
    return float(found.group(1)) if found else 0.0


def _sms_alone(settings: Settings) -> Settings:
    """A worker without Zalo: with it, an SMS goes only where Zalo could not deliver
    (sending._after_zalo), and these tests are of the SMS's own failures."""
    return settings.model_copy(update={"zalo_access_token": None, "zalo_template_id": None})


def _zalo_alone(settings: Settings) -> Settings:
    """A worker without SMS: with it, the SMS goes while Zalo retries, and Zalo then stops
    (the phone has the link); these tests are of Zalo's own failures."""
    return settings.model_copy(update={"sms_provider": ""})


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hailong.messages" and r.levelno == logging.WARNING
    ]


def test_each_message_refused_for_good_is_logged_and_counted(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    esms.answer_json(esms_answer("146", "Template not found"))
    _post(client, make_key("issuer"), 2)
    before = _failures(client, "sms", "refused")
    caplog.set_level(logging.INFO, logger="hailong.messages")
    Worker(engine, _sms_alone(settings)).run(local(1, 9))
    failed = _rows(db, "sms")
    assert [r.status for r in failed] == ["failed", "failed"]
    said = [w for w in _warnings(caplog) if "failed for good" in w]
    assert len(said) == 2
    for row, line in zip(failed, sorted(said), strict=True):
        assert f"outgoing_message {row.id} " in line and line.startswith("sms ")
        assert "refused" in line and "146" in line
        assert NUMBER not in line and "/m/" not in line and "/u/" not in line
    assert _failures(client, "sms", "refused") == before + 2


def test_a_message_given_up_on_is_logged_and_counted(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    esms.answer = (503, b"{}")  # a gateway down for longer than the give-up hours
    _post(client, make_key("issuer"))
    before = _failures(client, "sms", "gave_up")
    caplog.set_level(logging.INFO, logger="hailong.messages")
    worker, at = Worker(engine, _sms_alone(settings)), local(1, 9)
    for hours in range(0, 27, 2):
        worker.run(at + timedelta(hours=hours))
    [row] = _rows(db, "sms")
    assert row.status == "failed"
    said = [w for w in _warnings(caplog) if "failed for good" in w]
    assert len(said) == 1 and "gave_up" in said[0] and f" {row.id} " in said[0]
    assert _failures(client, "sms", "gave_up") == before + 1


def test_an_sms_that_cannot_fit_is_logged_and_counted(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A base URL too long for the links to fit in an SMS: failed without a word (audit)."""
    _post(client, make_key("issuer"))
    before = _failures(client, "sms", "cannot_fit")
    caplog.set_level(logging.INFO, logger="hailong.messages")
    long_base = "https://" + "a" * 200 + ".vn"
    Worker(engine, _sms_alone(settings).model_copy(update={"base_url": long_base})).run(local(1, 9))
    [row] = _rows(db, "sms")
    assert row.status == "failed" and esms.seen == []
    said = [w for w in _warnings(caplog) if w.startswith("sms ") and "failed for good" in w]
    assert len(said) == 1 and "cannot_fit" in said[0] and f" {row.id} " in said[0]
    assert _failures(client, "sms", "cannot_fit") == before + 1


@pytest.mark.parametrize(
    ("channel", "answer"),
    [
        ("zalo", zalo_answer(-124, "Access token is invalid")),
        ("zalo", zalo_answer(-115, "Out of quota")),
        ("zalo", zalo_answer(-144, "OA has reached daily quota")),
        ("zalo", zalo_answer(-147, "Template daily quota exceeded")),
        ("sms", esms_answer("103", "Balance not enough")),
    ],
)
def test_an_account_problem_over_a_weekend_loses_no_message(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    answer: dict[str, object],
) -> None:
    """The token expired on Friday evening, refreshed on Monday morning (or the balance
    topped up): every message of the weekend was failed after the give-up hours (audit)."""
    provider = zalo if channel == "zalo" else esms
    provider.answer_json(answer)
    _post(client, make_key("issuer"), 2)
    caplog.set_level(logging.INFO, logger="hailong.messages")
    worker, at = (
        Worker(engine, _zalo_alone(settings) if channel == "zalo" else _sms_alone(settings)),
        local(1, 18),
    )
    worker.run(at)
    # One line for the round, not one per message.
    [said] = [w for w in _warnings(caplog) if w.startswith(f"{channel}: ")]
    assert "2 messages wait" in said and str(answer.get("error", "103")) in said
    assert NUMBER not in said
    for hours in range(3, 63, 3):  # the weekend: the worker keeps trying
        worker.run(at + timedelta(hours=hours))
    assert [r.status for r in _rows(db, channel)] == ["pending", "pending"]
    assert not [w for w in _warnings(caplog) if "failed for good" in w]

    # Fixed on Monday: a passing failure then is retried as usual, not given up on at once
    # (the weekend did not count toward giving up)...
    provider.answer = (503, b"{}")
    worker.run(at + timedelta(hours=63))
    assert [r.status for r in _rows(db, channel)] == ["pending", "pending"]
    # ...and the messages go.
    provider.answer_json(zalo_answer(0) if channel == "zalo" else esms_answer("100"))
    worker.run(at + timedelta(hours=65))
    assert [r.status for r in _rows(db, channel)] == ["sent", "sent"]


def test_an_account_problem_ends_with_the_survey(
    client: TestClient,
    make_key: KeyFactory,
    esms: Provider,
    zalo: Provider,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
) -> None:
    """Never fixed, a message waits no longer than its survey can be answered."""
    zalo.answer_json(zalo_answer(-124, "Access token is invalid"))
    _post(client, make_key("issuer"))
    worker = Worker(engine, _zalo_alone(settings))
    for day in range(1, 4):  # past the give-up hours
        worker.run(local(day, 9))
        worker.run(local(day, 15))
    [row] = _rows(db, "zalo")
    assert row.status == "pending" and "-124" in (row.reason or "")
    worker.run(local(settings.invitation_ttl_days + 1, 9))
    [row] = _rows(db, "zalo")
    assert (row.status, row.reason) == ("skipped", "expired")
