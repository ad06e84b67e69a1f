"""An opt-out from a phone number, by SMS's link or by Zalo's, stops every message to that
number (SMS and Zalo both); an e-mail address's opt-out is its own (found by an audit: the
page promised nothing more to "this phone number" after an SMS opt-out, and a Zalo
reminder went to it three days later)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import OutgoingMessageRow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings
from tests.messaging.conftest import OPT_OUT, Mailbox, SmtpServer, Worker, local
from tests.messaging.test_phone_invitations import esms, sms_fields, zalo
from tests.messaging.test_sms_zalo_channels import (
    ACCESS_TOKEN,
    TEMPLATE_ID,
    ZALO_PATH,
    Provider,
    zalo_answer,
)

pytestmark = pytest.mark.usefixtures("agencies")
__all__ = ["esms", "zalo"]  # the providers' receiver fixtures, used here too
URL = "/api/v1/handovers"
CONTACT = {"phone": "0912 345 678", "email": "dan@example.vn", "consent": True}
# What each opt-out stops, and what still goes.
STOPS = {"sms": {"sms", "zalo"}, "zalo": {"sms", "zalo"}, "email": {"email"}}


@pytest.fixture
def settings(
    database_url: str, smtp_server: SmtpServer, esms: Provider, zalo: Provider
) -> Settings:
    return make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_from="hailong@phuong.gov.vn",
        **sms_fields(esms),
        zalo_url=zalo.url + ZALO_PATH,
        zalo_access_token=ACCESS_TOKEN,
        zalo_template_id=TEMPLATE_ID,
        message_reminder_days=3,
    )


def _opt_out_link(channel: str, mailbox: Mailbox, esms: Provider, zalo: Provider) -> str:
    """The "Từ chối nhận tin" link of the channel's first message."""
    if channel == "email":
        link = mailbox.links(0)[1]
    elif channel == "sms":
        found = OPT_OUT.search(esms.seen[0].body["Content"])
        assert found is not None
        link = found.group(0)
    else:
        link = zalo.seen[0].body["template_data"]["opt_out"]
    return link.removeprefix("http://testserver")


def _said(html: str) -> str:
    """The page's words, without its markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("channel", ["sms", "zalo", "email"])
def test_an_opt_out_stops_the_address_on_every_channel_that_reaches_it(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    mailbox: Mailbox,
    esms: Provider,
    zalo: Provider,
    channel: str,
) -> None:
    key = make_key("issuer")
    body = handover_body(dossier_code="P-1", contact=CONTACT)
    assert client.post(URL, json=body, headers=key).status_code == 201
    worker = Worker(engine, settings)
    # A phone's link goes by Zalo, or by SMS where Zalo cannot deliver (no Zalo account).
    delivered = {"email", channel if channel != "email" else "zalo"}
    if channel == "sms":
        zalo.answer_json(zalo_answer(-118, "Zalo account not existed"))
    worker.run(local(1, 9))
    worker.run(local(1, 9, 5))
    assert (len(mailbox.received), len(esms.seen), len(zalo.seen)) == (1, int(channel == "sms"), 1)
    zalo.answer_json(zalo_answer(0))

    link = _opt_out_link(channel, mailbox, esms, zalo)
    asked, done = _said(client.get(link).text), _said(client.post(link).text)
    # The page says what the opt-out covers: the number (SMS and Zalo), or the address.
    if channel == "email":
        assert "địa chỉ e-mail này" in asked and "địa chỉ e-mail này" in done
        assert "số điện thoại này" not in asked + done
    else:
        for words in (asked, done):
            assert "số điện thoại này" in words and "SMS" in words and "Zalo" in words, words
            assert "tài khoản Zalo này" not in words

    # Three days on: a reminder only where the opt-out does not reach.
    worker.run(local(4, 10))
    worker.run(local(5, 10))
    reminded = {
        name
        for name, seen in (("email", mailbox.received), ("sms", esms.seen), ("zalo", zalo.seen))
        if len(seen) == 2
    }
    assert reminded == delivered - STOPS[channel]
    with db() as session:
        reminders = {
            r.channel: (r.status, r.reason)
            for r in session.exec(select(OutgoingMessageRow))
            if r.kind == "reminder"
        }
    assert set(reminders) == delivered  # one per channel that delivered the invitation
    for stopped in STOPS[channel] & delivered:
        assert reminders[stopped] == ("skipped", "opted_out")

    # A later dossier of the same citizen: those channels skipped at once, the others go.
    later = client.post(URL, json=handover_body(dossier_code="P-2", contact=CONTACT), headers=key)
    assert later.status_code == 201, later.text
    assert {m["channel"]: (m["status"], m["reason"]) for m in later.json()["messages"]} == {
        name: ("skipped", "opted_out") if name in STOPS[channel] else ("pending", None)
        for name in ("email", "sms", "zalo")
    }


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_repost_lists_a_waiting_message_the_opt_out_stopped_as_skipped(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    mailbox: Mailbox,
    esms: Provider,
    zalo: Provider,
    channel: str,
) -> None:
    """A message planned before its address opted out is skipped when the worker comes to
    it; a re-post's answer listed it "pending", as if it would still go (audit)."""
    key = make_key("issuer")
    assert client.post(
        URL, json=handover_body(dossier_code="P-1", contact=CONTACT), headers=key
    ).is_success
    zalo.answer_json(zalo_answer(-118, "Zalo account not existed"))  # the link goes by SMS
    Worker(engine, settings).run(local(1, 9))
    Worker(engine, settings).run(local(1, 9, 5))
    waiting = handover_body(dossier_code="P-2", contact=CONTACT)
    assert client.post(URL, json=waiting, headers=key).status_code == 201  # not sent yet
    link = _opt_out_link(channel, mailbox, esms, zalo)
    assert client.post(link).status_code == 200
    again = client.post(URL, json=waiting, headers=key)
    assert again.status_code == 200, again.text
    assert {m["channel"]: (m["status"], m["reason"]) for m in again.json()["messages"]} == {
        name: ("skipped", "opted_out") if name in STOPS[channel] else ("pending", None)
        for name in ("email", "sms", "zalo")
    }
