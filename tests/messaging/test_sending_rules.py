"""What the worker does with the outbox over time: reminders, opt-out, SMTP failures,
quiet hours and the daily cap. Time moves by passing `now`; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.calendar.working_days import LOCAL_TZ
from service.models import MessageOptOut, OutgoingMessageRow
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, Worker, local

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
ADDRESS = "dan@example.vn"


def _hand_over(
    client: TestClient, key: dict[str, str], code: str, address: str = ADDRESS
) -> dict[str, object]:
    body = handover_body(dossier_code=code, contact={"email": address, "consent": True})
    answer = client.post(URL, json=body, headers=key)
    assert answer.status_code == 201, answer.text
    result: dict[str, object] = answer.json()
    return result


def _rows(db: DbFactory) -> list[OutgoingMessageRow]:
    with db() as session:
        return list(session.exec(select(OutgoingMessageRow).order_by(OutgoingMessageRow.id)))  # type: ignore[arg-type]


def _answer(client: TestClient, survey_url: object) -> None:
    token = str(survey_url).rsplit("/", 1)[1]
    body = {
        "token": token,
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
        },
    }
    assert client.post("/api/v1/responses", json=body).status_code == 201


def test_one_reminder_after_the_delay_and_none_after_an_answer(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    key = make_key("issuer")
    _hand_over(client, key, "R-1")
    answered = _hand_over(client, key, "R-2", "other@example.vn")
    sent_at = local(1, 9)
    worker.run(sent_at)
    assert len(mailbox.received) == 2
    _answer(client, answered["survey_url"])

    worker.run(sent_at + timedelta(days=2, hours=23))  # not yet three days
    assert len(mailbox.received) == 2
    worker.run(sent_at + timedelta(days=3, minutes=1))
    assert len(mailbox.received) == 3
    reminder = mailbox.received[2]
    assert reminder["To"] == ADDRESS and reminder["Subject"].startswith("Nhắc: mời")
    assert "chưa gửi đánh giá" in mailbox.texts()[2]
    # One reminder, ever: later rounds add none.
    worker.run(sent_at + timedelta(days=5))
    worker.run(sent_at + timedelta(days=9))
    assert len(mailbox.received) == 3
    kinds = sorted((r.kind, r.status) for r in _rows(db))
    assert kinds == [("invitation", "sent"), ("invitation", "sent"), ("reminder", "sent")]


def test_a_reminder_is_not_sent_when_the_answer_comes_after_it_was_queued(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    issued = _hand_over(client, make_key("issuer"), "R-3")
    worker.run(local(1, 9))
    # The reminder is queued at 22:00 (quiet hours), the citizen answers before morning.
    worker.run(local(4, 22))
    assert [r.status for r in _rows(db)] == ["sent", "pending"]
    _answer(client, issued["survey_url"])
    worker.run(local(5, 8))
    assert len(mailbox.received) == 1
    assert [(r.status, r.reason) for r in _rows(db)][1] == ("skipped", "answered")


def test_opt_out_stops_every_later_message_for_that_address(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    key = make_key("issuer")
    _hand_over(client, key, "O-1")
    worker.run(local(1, 9))
    _, opt_out = mailbox.links()
    page = client.get(opt_out)
    assert page.status_code == 200 and "Từ chối nhận tin" in page.text
    assert 'method="post"' in page.text and "<script" not in page.text
    done = client.post(opt_out)
    assert done.status_code == 200 and "Đã ghi nhận" in done.text
    assert client.post(opt_out).status_code == 200  # twice: still one record
    with db() as session:
        opt_outs = session.exec(select(MessageOptOut)).all()
    assert len(opt_outs) == 1 and ADDRESS not in str(opt_outs[0].model_dump())

    # No reminder for the first dossier, and a second dossier is skipped at once.
    second = _hand_over(client, key, "O-2", ADDRESS.upper().replace("EXAMPLE.VN", "example.vn"))
    assert second["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "skipped", "reason": "opted_out"}
    ]
    worker.run(local(5, 9))
    worker.run(local(6, 9))
    assert len(mailbox.received) == 1
    statuses = [(r.kind, r.status, r.reason) for r in _rows(db)]
    assert ("reminder", "skipped", "opted_out") in statuses
    assert not any(s == "sent" for k, s, _ in statuses if k == "reminder")


def test_a_forged_opt_out_link_records_nothing(client: TestClient, db: DbFactory) -> None:
    assert client.get("/u/eAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.post("/u/eAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    with db() as session:
        assert session.exec(select(MessageOptOut)).all() == []


def test_smtp_451_is_retried_and_550_is_failed(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    key = make_key("issuer")
    _hand_over(client, key, "F-1")
    mailbox.refuse.append("451 4.7.1 Greylisted, try again later")
    at = local(1, 9)
    worker.run(at)
    (row,) = _rows(db)
    assert row.status == "pending" and row.attempts == 1 and "451" in (row.reason or "")
    assert row.next_attempt_at > at
    worker.run(at + timedelta(seconds=1))  # not due yet
    assert mailbox.received == []
    worker.run(at + timedelta(minutes=5))
    assert len(mailbox.received) == 1
    assert [(r.status, r.attempts) for r in _rows(db)] == [("sent", 2)]

    _hand_over(client, key, "F-2", "nobody@example.vn")
    mailbox.refuse.append("550 5.1.1 No such user")
    worker.run(at + timedelta(minutes=6))
    worker.run(at + timedelta(hours=2))
    failed = _rows(db)[1]
    assert failed.status == "failed" and "550" in (failed.reason or "") and failed.attempts == 1
    assert len(mailbox.received) == 1


@pytest.mark.parametrize("quit_reply", ["421 4.3.2 Service shutting down", "250 2.0.0 Bye"])
def test_a_mail_the_server_took_is_sent_once_whatever_it_answers_to_quit(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    worker: Worker,
    db: DbFactory,
    quit_reply: str,
) -> None:
    """The server took the message (250 after DATA): it is sent. A QUIT answered other than
    221 was taken for the message's refusal: a 421 sent the citizen a copy at every retry,
    a "250 Bye" marked the delivered mail failed (audit)."""
    _hand_over(client, make_key("issuer"), "B-1")
    mailbox.quit = quit_reply
    at = local(1, 9)
    for later in (timedelta(0), timedelta(hours=3), timedelta(hours=6)):
        worker.run(at + later)
    assert len(mailbox.received) == 1
    assert [(r.status, r.attempts, r.reason) for r in _rows(db)] == [("sent", 1, None)]


def test_temporary_failures_give_up_after_the_configured_hours(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    _hand_over(client, make_key("issuer"), "G-1")
    mailbox.refuse.extend(["421 4.3.2 Service not available"] * 3)
    at = local(1, 8)
    worker.run(at)
    worker.run(at + timedelta(hours=12))
    assert _rows(db)[0].status == "pending"
    worker.run(at + timedelta(hours=24, minutes=1))
    row = _rows(db)[0]
    assert row.status == "failed" and row.attempts == 3 and mailbox.received == []


def test_quiet_hours_postpone_to_their_end(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    _hand_over(client, make_key("issuer"), "Q-1")
    worker.run(local(1, 22, 30))
    assert mailbox.received == []
    (row,) = _rows(db)
    assert row.status == "pending" and row.attempts == 0
    assert row.next_attempt_at == local(2, 7)
    worker.run(local(2, 6, 59))
    assert mailbox.received == []
    worker.run(local(2, 7))
    assert len(mailbox.received) == 1


def test_daily_cap_postpones_to_the_next_day(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    worker.settings = worker.settings.model_copy(update={"message_daily_cap": 2})
    key = make_key("issuer")
    for n in range(3):
        _hand_over(client, key, f"C-{n}", f"c{n}@example.vn")
    worker.run(local(1, 10))
    assert len(mailbox.received) == 2
    waiting = [r for r in _rows(db) if r.status == "pending"]
    assert len(waiting) == 1
    assert waiting[0].next_attempt_at.astimezone(LOCAL_TZ) == local(2, 0)
    worker.run(local(1, 23, 59))
    assert len(mailbox.received) == 2
    worker.run(local(2, 7, 5))  # midnight is quiet: it goes at the end of the quiet hours
    assert len(mailbox.received) == 3
