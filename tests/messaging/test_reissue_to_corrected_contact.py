"""A revoked survey posted again with a contact (consented) other than the one kept: the
new link goes to that contact, planned as a handover plans it (opt-outs included), not
where the first link went (README, "Invitations by message"). Found by an audit: a clerk's
typo sent the survey to a stranger, and the office's corrected re-post sent the new link to
the stranger again; a survey first posted without a contact sent its new link nowhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import InvitationContact
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, Worker, local

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
CODE = "G22.39-250915-0001"  # handover_body's dossier
WRONG = {"email": "nguoi.khac@example.vn", "consent": True}  # the clerk's typo: a stranger
RIGHT = {"email": "nguoi.dan@example.vn", "consent": True}
PENDING = [{"channel": "email", "kind": "invitation", "status": "pending", "reason": None}]


def _revoke_and_post(client: TestClient, key: dict[str, str], contact: object) -> dict[str, object]:
    assert client.post(f"{URL}/{CODE}/revoke", headers=key).status_code == 200
    body = handover_body() if contact is None else handover_body(contact=contact)
    again = client.post(URL, json=body, headers=key)
    assert again.status_code == 201, again.text
    answer: dict[str, object] = again.json()
    return answer


def test_the_new_link_goes_to_the_corrected_contact_not_the_stranger(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    key = make_key("issuer")
    assert client.post(URL, json=handover_body(contact=WRONG), headers=key).status_code == 201
    assert worker.run(local(1, 10)) == 1
    assert [m["To"] for m in mailbox.received] == ["nguoi.khac@example.vn"]

    again = _revoke_and_post(client, key, RIGHT)
    assert again["messages"] == PENDING
    worker.run(local(1, 11))
    assert [m["To"] for m in mailbox.received] == ["nguoi.khac@example.vn", "nguoi.dan@example.vn"]
    new_link, _ = mailbox.links()
    opened = client.get(new_link, follow_redirects=False)
    assert opened.headers["location"] == again["survey_url"]
    with db() as session:
        kept = session.exec(select(InvitationContact)).one()
    assert kept.email == "nguoi.dan@example.vn"  # the typo is forgotten

    # The survey is live again: a plain re-post with yet another contact sends nothing more
    # (a live survey keeps its messages), and a later reissue without a contact goes to the
    # corrected address, where the last link went.
    other = client.post(URL, json=handover_body(contact=WRONG), headers=key)
    assert [m["status"] for m in other.json()["messages"]] == ["sent"]
    worker.run(local(1, 12))
    assert len(mailbox.received) == 2
    _revoke_and_post(client, key, None)
    worker.run(local(1, 13))
    assert [m["To"] for m in mailbox.received][2:] == ["nguoi.dan@example.vn"]


def test_a_contact_first_given_on_the_repost_gets_the_new_link(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(), headers=key)
    assert first.json()["messages"][0]["reason"] == "no_contact"
    again = _revoke_and_post(client, key, RIGHT)
    assert again["messages"] == PENDING
    worker.run(local(1, 11))
    assert [m["To"] for m in mailbox.received] == ["nguoi.dan@example.vn"]
    worker.run(local(1, 12))  # once only
    assert len(mailbox.received) == 1


def test_a_corrected_contact_that_opted_out_gets_nothing(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """The new contact is planned as a handover plans it: its opt-out holds."""
    key = make_key("issuer")
    other = handover_body(dossier_code="G22.39-250915-0002", contact=RIGHT)
    assert client.post(URL, json=other, headers=key).status_code == 201
    worker.run(local(1, 9))
    _, opt_out = mailbox.links()
    assert client.post(opt_out.removeprefix("http://testserver")).status_code == 200

    assert client.post(URL, json=handover_body(contact=WRONG), headers=key).status_code == 201
    worker.run(local(1, 10))
    again = _revoke_and_post(client, key, RIGHT)
    assert again["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "skipped", "reason": "opted_out"}
    ]
    worker.run(local(1, 11))
    assert [m["To"] for m in mailbox.received] == ["nguoi.dan@example.vn", "nguoi.khac@example.vn"]
