"""Messages that cannot go yet, or may not go any more: a channel the worker has not
configured (they wait for it), and a survey that ended before its message went (it is
listed as not sent, with the reason, and never sent)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Invitation, OutgoingMessageRow, utcnow
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, Worker, local

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
CONTACT = {"email": "dan@example.vn", "consent": True}


def _hand_over(client: TestClient, key: dict[str, str]) -> list[dict[str, object]]:
    """Post the example dossier (again): its answer's messages."""
    answer = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert answer.status_code in (200, 201), answer.text
    messages: list[dict[str, object]] = answer.json()["messages"]
    return messages


def _email(status: str, reason: str | None) -> list[dict[str, object]]:
    return [{"channel": "email", "kind": "invitation", "status": status, "reason": reason}]


def _worker_without_smtp(engine: sa.Engine, settings: Settings) -> Worker:
    """A worker started without the SMTP settings the API has (a `hailong worker` whose
    environment lacks them, or the settings taken out for a while)."""
    return Worker(engine, settings.model_copy(update={"smtp_host": None}))


def _expire_survey(db: DbFactory) -> None:
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        session.add(invitation)


def _row(db: DbFactory) -> OutgoingMessageRow:
    with db() as session:
        return session.exec(select(OutgoingMessageRow)).one()


def test_a_worker_without_the_channel_leaves_the_mail_waiting_until_it_has_it(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    engine: sa.Engine,
    settings: Settings,
    worker: Worker,
    db: DbFactory,
) -> None:
    """(audit) A worker that ran without the SMTP server marked every pending e-mail
    skipped, `channel_not_configured`, for good: once the operator configured the server,
    none of them was ever sent. Now they wait, saying why, and go once, with it."""
    key = make_key("issuer")
    assert _hand_over(client, key) == _email("pending", None)
    _worker_without_smtp(engine, settings).run(local(1, 10))
    assert mailbox.received == []
    assert _hand_over(client, key) == _email("pending", "channel_not_configured")

    worker.run(local(1, 10, 5))
    worker.run(local(1, 11))
    assert [str(m["To"]) for m in mailbox.received] == ["dan@example.vn"]
    assert _hand_over(client, key) == _email("sent", None)


def test_a_waiting_mail_whose_survey_expires_is_listed_and_kept_unsent(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    engine: sa.Engine,
    settings: Settings,
    worker: Worker,
    db: DbFactory,
) -> None:
    """(audit) A message waiting for its channel when its survey expired was listed as
    pending, though it would never go. It shows skipped, `expired`, is stored so by the
    worker without the channel, and the worker with it sends nothing."""
    key = make_key("issuer")
    _hand_over(client, key)
    without_smtp = _worker_without_smtp(engine, settings)
    without_smtp.run(local(1, 10))
    _expire_survey(db)
    assert _hand_over(client, key) == _email("skipped", "expired")

    without_smtp.run(local(1, 11))
    row = _row(db)
    assert (row.status, row.reason) == ("skipped", "expired")
    worker.run(local(1, 12))
    assert mailbox.received == []


def test_a_mail_retried_when_its_survey_expires_is_listed_as_not_sent(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    """(audit) An e-mail the server put off (451) until its survey expired stayed listed
    as pending, the server's words as its reason, until the worker next tried it (up to an
    hour later, or never without a worker). It shows skipped, `expired`, and never goes."""
    key = make_key("issuer")
    _hand_over(client, key)
    mailbox.refuse.append("451 try again later")
    worker.run(local(1, 10))
    row = _row(db)
    assert row.status == "pending" and row.reason is not None and "451" in row.reason
    _expire_survey(db)
    assert _hand_over(client, key) == _email("skipped", "expired")

    worker.run(local(1, 12))
    assert mailbox.received == []
    row = _row(db)
    assert (row.status, row.reason) == ("skipped", "expired")


def test_a_revoke_lists_the_unsent_mail_as_not_sent(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    """(audit) The revoke's answer listed the survey's unsent e-mail as pending, though the
    dead link will never go. It shows skipped, `revoked`; a new link posted again goes."""
    key = make_key("issuer")
    _hand_over(client, key)
    revoked = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["messages"] == _email("skipped", "revoked")
    worker.run(local(1, 10))
    assert mailbox.received == []

    assert _hand_over(client, key) == _email("pending", None)  # issued again
    worker.run(local(1, 11))
    assert len(mailbox.received) == 1


def test_a_waited_mail_held_for_quiet_hours_no_longer_says_it_waits_for_a_channel(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    engine: sa.Engine,
    settings: Settings,
    worker: Worker,
    db: DbFactory,
) -> None:
    """(review) Once a worker with SMTP held the mail for the quiet hours, the handover's
    answer still said it waited for a channel, until it was sent the next morning."""
    key = make_key("issuer")
    _hand_over(client, key)
    _worker_without_smtp(engine, settings).run(local(1, 20))
    assert _row(db).reason == "channel_not_configured"
    worker.run(local(1, 23))  # has SMTP, but 23:00: put off until 07:00
    assert mailbox.received == []
    row = _row(db)
    assert row.status == "pending" and row.next_attempt_at > local(1, 23)
    [listed] = _hand_over(client, key)
    assert listed["status"] == "pending" and listed["reason"] is None, listed
