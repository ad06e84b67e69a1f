"""A survey revoked and issued again sends its new link where the first went (README,
"Invitations by message"): as a new message for each provider, since a provider drops
what it takes for a copy of a message it has (found by an audit: eSMS answered
"duplicate RequestId" and the new link never left it; a mail service drops a repeated
Message-ID), and followed by its own reminder after the usual delay."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import OutgoingMessageRow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.harness.processes import http_server
from tests.messaging.conftest import LINK, Mailbox, Worker, local
from tests.messaging.test_phone_invitations import zalo
from tests.messaging.test_phone_opt_out import settings
from tests.messaging.test_sms_zalo_channels import (
    Provider,
    esms_answer,
    esms_problems,
    zalo_answer,
)

pytestmark = pytest.mark.usefixtures("agencies")
# The Zalo receiver's fixture and the settings of every channel (with this module's eSMS).
__all__ = ["settings", "zalo"]
URL = "/api/v1/handovers"
CODE = "G22.39-250915-0001"  # handover_body's dossier


class RememberingEsms(Provider):
    """eSMS as it behaves: a RequestId it took once is answered 124 ("duplicate") and not
    sent again. `unavailable` answers the next requests 503 (not taken)."""

    def __init__(self) -> None:
        super().__init__(self.take)
        self.taken: dict[str, str] = {}  # RequestId -> the text eSMS sent
        self.unavailable = 0

    def take(self, path: str, headers: Mapping[str, str], raw: bytes) -> list[str]:
        problems = esms_problems(path, headers, raw)
        if problems:
            return problems
        body = json.loads(raw)
        if self.unavailable:
            self.unavailable -= 1
            self.answer = (503, b"{}")
        elif body["RequestId"] in self.taken:
            self.answer_json(esms_answer("124", "Duplicate RequestId"))
        else:
            self.taken[body["RequestId"]] = body["Content"]
            self.answer_json(esms_answer("100"))
        return []


@pytest.fixture
def esms() -> Iterator[RememberingEsms]:
    provider = RememberingEsms()
    with http_server(provider.handler()) as url:
        provider.url = url
        try:
            yield provider
        finally:
            provider.release.set()


def _links(text: str) -> list[str]:
    return LINK.findall(text)


def _reissue(client: TestClient, key: dict[str, str], contact: dict[str, object]) -> str:
    """Revoke the dossier's survey and post it again: the new survey's URL."""
    assert client.post(f"{URL}/{CODE}/revoke", headers=key).status_code == 200
    again = client.post(URL, json=handover_body(contact=contact), headers=key)
    assert again.status_code == 201, again.text
    url: str = again.json()["survey_url"]
    return url


def _opens(client: TestClient, link: str) -> str:
    opened = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.status_code == 303, link
    location: str = opened.headers["location"]
    return location


def test_the_new_link_is_a_new_sms_and_e_mail_and_a_retry_is_not(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    mailbox: Mailbox,
    esms: RememberingEsms,
    zalo: Provider,
) -> None:
    key = make_key("issuer")
    contact = {"phone": "0912345678", "email": "dan@example.vn", "consent": True}
    # A phone without Zalo (-118): its link goes by SMS (sending._one_phone_message).
    zalo.answer_json(zalo_answer(-118, "Zalo account not existed"))
    assert client.post(URL, json=handover_body(contact=contact), headers=key).status_code == 201
    worker = Worker(engine, settings)
    worker.run(local(1, 9))
    worker.run(local(1, 9, 5))
    assert len(mailbox.received) == 1 and len(esms.taken) == 1

    new_url = _reissue(client, key, contact)
    esms.unavailable = 1  # the first try of the new link is not taken...
    worker.run(local(1, 10))
    worker.run(local(1, 12))  # ...the retry, after the backoff, is

    # eSMS sent the new link: its RequestId is not the first message's...
    first_sms, *resent = esms.seen
    assert len(resent) == 2
    assert resent[0].body["RequestId"] != first_sms.body["RequestId"]
    assert esms.taken[resent[0].body["RequestId"]] == resent[0].body["Content"]
    [new_link] = _links(esms.taken[resent[0].body["RequestId"]])
    assert _opens(client, new_link) == new_url
    # ...and the retry of one sending keeps its RequestId: eSMS sends it once.
    assert resent[1].body["RequestId"] == resent[0].body["RequestId"]
    # E-mail: a new Message-ID.
    first_mail, new_mail = mailbox.received
    assert new_mail["Message-ID"] != first_mail["Message-ID"]
    link, _ = mailbox.links()
    assert _opens(client, link) == new_url
    with db() as session:
        rows = {r.channel: r for r in session.exec(select(OutgoingMessageRow))}
    assert {c: (r.status, r.attempts) for c, r in rows.items()} == {
        "email": ("sent", 1),
        "sms": ("sent", 2),
        "zalo": ("failed", 1),  # Zalo refused the number: not tried again for the new link
    }
    assert rows["email"].provider_id == new_mail["Message-ID"]
    assert rows["sms"].provider_id == esms_answer("100")["SMSID"]  # taken, not a duplicate


def test_the_new_link_is_a_new_zns_and_a_retry_is_not(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    db: DbFactory,
    esms: RememberingEsms,
    zalo: Provider,
) -> None:
    """Zalo, by tracking_id; on a worker without SMS, so that the SMS does not stand in
    while Zalo retries (sending._one_phone_message)."""
    key = make_key("issuer")
    contact = {"phone": "0912345678", "consent": True}
    assert client.post(URL, json=handover_body(contact=contact), headers=key).status_code == 201
    worker = Worker(engine, settings.model_copy(update={"sms_provider": ""}))
    worker.run(local(1, 9))
    new_url = _reissue(client, key, contact)
    zalo.answer_json(zalo_answer(-124, "Access token is invalid"))
    worker.run(local(1, 10))
    zalo.answer_json(zalo_answer(0))
    worker.run(local(1, 12))
    tracking = [seen.body["tracking_id"] for seen in zalo.seen]
    assert len(tracking) == 3 and tracking[0] != tracking[1] == tracking[2]
    assert _opens(client, zalo.seen[2].body["template_data"]["link"]) == new_url
    assert esms.seen == []
    with db() as session:
        [row] = session.exec(select(OutgoingMessageRow).where(OutgoingMessageRow.channel == "zalo"))
    assert (row.status, row.attempts) == ("sent", 2)


@pytest.mark.parametrize("reminder", ["sent", "waiting"])
def test_a_reissued_survey_gets_its_own_reminder_after_the_delay(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    mailbox: Mailbox,
    reminder: str,
) -> None:
    """The first link's reminder, sent or still waiting for the morning when the survey
    was revoked, kept the new link from getting one (one reminder per invitation and
    channel), or went out with the new invitation, no delay between them (audit)."""
    key = make_key("issuer")
    contact = {"email": "dan@example.vn", "consent": True}
    assert client.post(URL, json=handover_body(contact=contact), headers=key).status_code == 201
    worker = Worker(engine, settings)
    worker.run(local(1, 9))
    if reminder == "sent":
        worker.run(local(4, 10))
        assert [m["Subject"].startswith("Nhắc") for m in mailbox.received] == [False, True]
    else:
        worker.run(local(4, 22))  # queued, and held by the quiet hours until 07:00
    before = len(mailbox.received)

    new_url = _reissue(client, key, contact)
    resent_at = local(5, 8)
    worker.run(resent_at)
    new = mailbox.received[before:]
    assert [m["Subject"].startswith("Mời") for m in new] == [True]  # the invitation alone
    assert _opens(client, mailbox.links()[0]) == new_url

    worker.run(local(8, 7, 59))  # not yet three days after the new invitation
    assert len(mailbox.received) == before + 1
    worker.run(local(8, 8, 1))
    reminder_mail = mailbox.received[-1]
    assert len(mailbox.received) == before + 2
    assert reminder_mail["Subject"].startswith("Nhắc: mời")
    assert _opens(client, mailbox.links()[0]) == new_url
    worker.run(local(12, 9))  # and one only
    assert len(mailbox.received) == before + 2
