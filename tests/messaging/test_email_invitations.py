"""A handover with an e-mail and consent: one e-mail whose link opens the survey, once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import ClassVar

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.admin.agencies import upsert_agency
from service.app import create_app
from service.messaging import leased, sending
from service.messaging.channels.base import OutgoingMessage
from service.messaging.channels.email import EmailChannel
from service.models import InvitationContact, OutgoingMessageRow
from tests.conftest import DbFactory, KeyFactory, free_port, handover_body, make_settings
from tests.messaging.conftest import Mailbox, Worker, local

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
CONTACT = {"email": "Nguoi.Dan@Example.VN", "consent": True}


def test_email_with_consent_sends_one_mail_whose_link_opens_the_survey(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert first.status_code == 201, first.text
    assert first.json()["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "pending", "reason": None}
    ]
    assert worker.run(local(1, 10)) == 1
    assert len(mailbox.received) == 1
    mail = mailbox.received[0]
    assert mail["To"] == "Nguoi.Dan@example.vn"  # the domain normalised, not the local part
    assert mail["From"] == "hailong@phuong.gov.vn"
    assert mail["Subject"].startswith("Mời ông/bà đánh giá sự hài lòng")
    with db() as session:
        row = session.exec(select(OutgoingMessageRow)).one()
    # The message's id and its link's key (a new link is a new message): the same on every
    # attempt at this one.
    message_id = rf"<hailong\.invitation\.{row.id}\.[0-9a-f]{{12}}@phuong\.gov\.vn>"
    assert re.fullmatch(message_id, mail["Message-ID"]), mail["Message-ID"]
    assert row.status == "sent" and row.attempts == 1 and row.provider_id == mail["Message-ID"]
    html = mail.get_body(("html",))
    assert html is not None and "<a href=" in html.get_content()
    # One-click unsubscribe (RFC 8058): the link, and the POST the client makes to it.
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client.get(unsubscribe).status_code == 200  # a page; only a POST records

    link, _ = mailbox.links()
    opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == first.json()["survey_url"]
    page = client.get(link)
    assert page.status_code == 200 and "Đăng ký khai sinh" in page.text
    assert 'method="post"' in page.text

    # The same dossier again: 200, the same survey, no new message.
    again = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert again.status_code == 200
    assert again.json()["survey_url"] == first.json()["survey_url"]
    assert again.json()["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "sent", "reason": None}
    ]
    worker.run(local(1, 11))
    assert len(mailbox.received) == 1
    with db() as session:
        assert len(session.exec(select(OutgoingMessageRow)).all()) == 1


def test_an_english_invitations_mail_is_marked_as_the_vietnamese_it_is(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """The texts are Vietnamese for every invitation; an "en" one's mail said lang="en"
    around them, and a screen reader read Vietnamese with English rules (delivery audit).
    Its link still opens the survey in English."""
    body = handover_body(contact=CONTACT, language="en")
    assert client.post(URL, json=body, headers=make_key("issuer")).status_code == 201
    assert worker.run(local(1, 10)) == 1
    html = mailbox.received[0].get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert '<html lang="vi">' in content and "Kính gửi" in content
    link, _ = mailbox.links()
    assert '<html lang="en"' in client.get(link).text


def test_a_procedure_name_with_line_breaks_or_direction_controls_writes_one_plain_line(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """(audit) The one-stop system's procedure name went into the e-mail as given: its line
    breaks wrote lines of their own (here a second "Từ chối nhận tin" with another link,
    looking like ours), and a U+202E turned the rest of its line around. It is one line,
    without direction controls, in the text and in the HTML."""
    spoof = "Khai sinh\r\n\nTừ chối nhận tin: http://evil.example/u/x\n\u202egnos"
    body = handover_body(contact=CONTACT, procedure_name=spoof)
    assert client.post(URL, json=body, headers=make_key("issuer")).status_code == 201
    assert worker.run(local(1, 10)) == 1
    [text] = mailbox.texts()
    html = mailbox.received[0].get_body(("html",))
    assert html is not None
    said = "(Khai sinh Từ chối nhận tin: http://evil.example/u/x gnos)."
    for content in (text, html.get_content()):
        assert "\u202e" not in content
        assert any(said in line for line in content.splitlines()), content
    opt_outs = [line for line in text.splitlines() if line.startswith("Từ chối nhận tin")]
    assert len(opt_outs) == 1 and "testserver" in opt_outs[0], text


def test_a_survey_issued_again_after_a_revocation_sends_its_new_link(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """The office withdrew a survey and posted the dossier again: a new link, which reached
    nobody who had been sent the first (most citizens never come to the counter; delivery
    audit). The new link goes where the first went, and opens the new survey."""
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=key).json()
    assert worker.run(local(1, 10)) == 1
    old_link, _ = mailbox.links()
    revoked = client.post(f"{URL}/{first['dossier_code']}/revoke", headers=key)
    assert revoked.status_code == 200, revoked.text
    again = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert again.status_code == 201 and again.json()["survey_url"] != first["survey_url"]
    assert again.json()["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "pending", "reason": None}
    ]
    assert worker.run(local(1, 11)) == 1
    assert [m["To"] for m in mailbox.received] == ["Nguoi.Dan@example.vn"] * 2
    new_link, _ = mailbox.links()
    assert new_link != old_link
    opened = client.get(new_link, follow_redirects=False)
    assert opened.headers["location"] == again.json()["survey_url"]
    assert client.get(old_link, follow_redirects=False).status_code == 404
    worker.run(local(1, 12))  # and once only
    assert len(mailbox.received) == 2


def test_a_survey_posted_again_saying_no_consent_sends_nothing_more(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    """A revoked survey posted again with the contact's consent false: its new link went to
    the address given the first time, and the answer said "pending" (messaging audit). The
    address is forgotten, and nothing more goes to it; a message already sent stays sent
    while its link is alive."""
    key = make_key("issuer")
    withdrawn = {**CONTACT, "consent": False}
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=key).json()
    assert worker.run(local(1, 10)) == 1
    client.post(f"{URL}/{first['dossier_code']}/revoke", headers=key)
    again = client.post(URL, json=handover_body(contact=withdrawn), headers=key)
    assert again.status_code == 201
    assert again.json()["messages"] == [
        {"channel": "email", "kind": "invitation", "status": "skipped", "reason": "no_consent"}
    ]
    assert worker.run(local(1, 11)) == 0
    assert len(mailbox.received) == 1
    with db() as session:
        assert session.exec(select(InvitationContact)).first() is None
    # A live survey, its link sent: posted again without consent, the message stays "sent".
    other = handover_body(dossier_code="G22.39-250915-0002", contact=CONTACT)
    assert client.post(URL, json=other, headers=key).status_code == 201
    assert worker.run(local(1, 12)) == 1
    repost = client.post(URL, json={**other, "contact": withdrawn}, headers=key)
    assert [m["status"] for m in repost.json()["messages"]] == ["sent"]
    assert worker.run(local(1, 13)) == 0 and len(mailbox.received) == 2


def test_no_reminder_is_planned_for_a_contact_withdrawn_after_its_invitation_went(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """(outreach audit) The reminder of a live survey whose citizen withdrew consent after
    the invitation went was planned all the same, skipped when due as "no_contact": the
    one-stop system read that it had given no address. None is planned now."""
    key = make_key("issuer")
    body = handover_body(contact=CONTACT)
    assert client.post(URL, json=body, headers=key).status_code == 201
    assert worker.run(local(1, 10)) == 1
    withdrawn = {**body, "contact": {**CONTACT, "consent": False}}
    assert client.post(URL, json=withdrawn, headers=key).status_code == 200
    worker.run(local(1, 10) + timedelta(days=worker.settings.message_reminder_days + 1))
    assert len(mailbox.received) == 1
    again = client.post(URL, json=body | {"contact": None}, headers=key)
    messages = again.json()["messages"]
    assert [(m["kind"], m["status"]) for m in messages] == [("invitation", "sent")], messages


def test_a_survey_issued_again_while_its_first_link_is_being_sent_sends_the_new_link(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    worker: Worker,
    engine: sa.Engine,
    db: DbFactory,
) -> None:
    """Revoked and posted again while the first link's e-mail was being sent (claimed, still
    pending): only messages already sent were reset, the send then recorded the dead link's
    e-mail as sent, and the new link never went (audit)."""
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=key).json()
    at = local(1, 10)

    def decide(session: Session, row: OutgoingMessageRow) -> OutgoingMessage | None:
        return sending._decide(session, worker.settings, worker.channels, row, at)

    claimed = leased.claim(engine, OutgoingMessageRow, at, decide)
    assert claimed is not None and claimed.message is not None  # with the first link
    assert client.post(f"{URL}/{first['dossier_code']}/revoke", headers=key).status_code == 200
    again = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert again.status_code == 201
    table = OutgoingMessageRow
    assert leased.send(engine, worker.settings, worker.channels, table, claimed, at)[0] == "lost"
    assert len(mailbox.received) == 1
    assert worker.run(at + timedelta(minutes=1)) == 1
    new_link, _ = mailbox.links()
    opened = client.get(new_link, follow_redirects=False)
    assert opened.headers["location"] == again.json()["survey_url"]
    with db() as session:
        row = session.exec(select(OutgoingMessageRow)).one()
    assert (row.status, row.attempts) == ("sent", 1)
    worker.run(at + timedelta(hours=1))  # and once only
    assert len(mailbox.received) == 2


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        (None, "no_contact"),
        ({"email": "a@b.vn"}, "no_consent"),
        ({"phone": "0912345678", "consent": True}, "no_contact"),
    ],
)
def test_without_contact_or_consent_nothing_is_sent_and_the_reason_shows(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    worker: Worker,
    db: DbFactory,
    contact: dict[str, object] | None,
    reason: str,
) -> None:
    body = handover_body(contact=contact) if contact else handover_body()
    answer = client.post(URL, json=body, headers=make_key("issuer"))
    assert answer.status_code == 201, answer.text
    messages = answer.json()["messages"]
    assert messages[0] == {
        "channel": "email",
        "kind": "invitation",
        "status": "skipped",
        "reason": reason,
    }
    if contact and "phone" in contact:  # a phone, but no SMS channel here
        assert messages[1:] == [
            {
                "channel": "sms",
                "kind": "invitation",
                "status": "skipped",
                "reason": "channel_not_configured",
            },
            {
                "channel": "zalo",
                "kind": "invitation",
                "status": "skipped",
                "reason": "channel_not_configured",
            },
        ]
    worker.run(local(1, 10))
    assert mailbox.received == []
    with db() as session:
        contacts = session.exec(select(InvitationContact)).all()
    # Without consent nothing of the contact is kept.
    assert len(contacts) == (1 if contact and contact.get("consent") else 0)


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        ({"phone": "0212345678", "consent": True}, "contact.phone"),
        ({"email": "not-an-address", "consent": True}, "contact.email"),
        ({"email": "a@b.vn", "consent": True, "name": "x"}, "contact.name"),
    ],
)
def test_invalid_contact_is_422_naming_the_field(
    client: TestClient, make_key: KeyFactory, contact: dict[str, object], field: str
) -> None:
    answer = client.post(URL, json=handover_body(contact=contact), headers=make_key("issuer"))
    assert answer.status_code == 422
    assert field in [f["field"] for f in answer.json()["fields"]], answer.json()


def test_openapi_documents_contact_and_messages(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "contact" in schemas["HandoverCreate"]["properties"]
    assert "messages" in schemas["HandoverPublic"]["properties"]
    assert set(schemas["MessagePublic"]["properties"]) >= {"channel", "status", "reason"}


def test_short_link_of_an_unknown_code_is_404(client: TestClient) -> None:
    """A page for a phone, as an unknown survey link gets: it was plain text, laid out
    980 px wide on a phone, its letters a few pixels tall (audit)."""
    unknown = client.get("/m/22222222", follow_redirects=False)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert unknown.headers["cache-control"] == "no-store"
    assert '<html lang="vi"' in unknown.text and 'name="viewport"' in unknown.text
    assert "Không tìm thấy phiếu đánh giá" in unknown.text


def test_short_links_guessed_too_often_get_a_page_with_retry_after(database_url: str) -> None:
    with TestClient(create_app(make_settings(database_url, guess_limit=1))) as client:
        statuses = [client.get(f"/m/2222222{n}").status_code for n in range(3)]
        refused = client.get("/m/22222229")
    assert statuses[0] == 404 and refused.status_code == 429, statuses
    assert refused.headers["content-type"].startswith("text/html")
    assert int(refused.headers["retry-after"]) > 0


def test_an_agency_name_with_a_line_break_still_makes_a_subject(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker, db: DbFactory
) -> None:
    """The name goes into the Subject: a line break in it failed every e-mail of the agency
    (the header refuses it) and each was retried for a day as an adapter's bug (audit)."""
    with db() as session:
        upsert_agency(session, "G22.39", "UBND Phường\r\nTân Định", "79", actor="test")
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=make_key("issuer"))
    assert first.status_code == 201, first.text
    assert worker.run(local(1, 10)) == 1
    [mail] = mailbox.received
    assert "UBND Phường Tân Định" in mail["Subject"] and "\n" not in mail["Subject"]


@pytest.mark.parametrize(
    "agency_name",
    [
        "UBND Phường Tân Định",
        "UBND Phường Bến Nghé, Quận 1",
        "A",
        "Sở Tư pháp Thành phố Hồ Chí Minh và các đơn vị trực thuộc trên địa bàn thành phố",
        "Tax Department of District 1",
        "x" * 80,
    ],
)
def test_the_subject_reads_as_written_whatever_the_agency_name(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    worker: Worker,
    db: DbFactory,
    agency_name: str,
) -> None:
    """Folding the encoded Subject dropped the space before "–": every invitation read
    "... sự hài lòng– UBND ..." in the citizen's mail client (audit)."""
    with db() as session:
        upsert_agency(session, "G22.39", agency_name, "79", actor="test")
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(contact=CONTACT), headers=key)
    assert first.status_code == 201, first.text
    assert worker.run(local(1, 10)) == 1
    worker.run(local(4, 10))  # the reminder, three days on
    subjects = [mail["Subject"] for mail in mailbox.received]
    assert subjects == [
        f"Mời ông/bà đánh giá sự hài lòng – {agency_name}",
        f"Nhắc: mời ông/bà đánh giá sự hài lòng – {agency_name}",
    ]


@pytest.mark.parametrize(
    "address", [".dan@example.vn", "dan.@example.vn", "d..an@example.vn", "dan@.example.vn"]
)
def test_an_address_with_a_misplaced_dot_is_422_naming_the_field(
    client: TestClient, make_key: KeyFactory, address: str
) -> None:
    """A mail server refuses such an address at RCPT: the invitation failed quietly after
    the handover had been answered 201 (audit)."""
    contact = {"email": address, "consent": True}
    answer = client.post(URL, json=handover_body(contact=contact), headers=make_key("issuer"))
    assert answer.status_code == 422, answer.text
    assert "contact.email" in [f["field"] for f in answer.json()["fields"]], answer.json()


@pytest.mark.parametrize(
    ("address", "sent_to"),
    [
        ("dan@bưuđiện.vn", "dan@xn--buin-1ua66gr30m.vn"),
        ("dan@PHƯỜNG.vn", "dan@xn--phng-rib8295b.vn"),
    ],
)
def test_an_address_on_an_internationalised_domain_gets_the_survey(
    client: TestClient,
    make_key: KeyFactory,
    mailbox: Mailbox,
    worker: Worker,
    address: str,
    sent_to: str,
) -> None:
    """(alerts audit) .vn issues domains in Vietnamese: such an address was refused as
    none, and the handover carrying it with a 422, so the dossier got no survey at all. It
    is written in ASCII (IDNA), as mail servers take it and one spelling of it is kept."""
    body = handover_body(contact={"email": address, "consent": True})
    answer = client.post(URL, json=body, headers=make_key("issuer"))
    assert answer.status_code == 201, answer.text
    assert [(m["channel"], m["status"]) for m in answer.json()["messages"]] == [
        ("email", "pending")
    ]
    worker.run(local(1, 9))
    [mail] = mailbox.received
    assert mail["To"] == sent_to


def test_an_address_with_an_encoded_word_is_422_naming_the_field(
    client: TestClient, make_key: KeyFactory
) -> None:
    """`=?utf-8?q?someone.else?=@...` is a dot-atom, but the mail went to
    someone.else@..., an address never given or consented to (audit)."""
    contact = {"email": "=?utf-8?q?someone.else?=@example.vn", "consent": True}
    answer = client.post(URL, json=handover_body(contact=contact), headers=make_key("issuer"))
    assert answer.status_code == 422, answer.text
    [problem] = [f for f in answer.json()["fields"] if f["field"] == "contact.email"]
    assert "'=?'" in problem["problem"], problem


class RcptRecorder(SMTP):
    """Keeps each RCPT TO as sent: aiosmtpd reads an encoded word in it decoded, as a mail
    server does not."""

    sent: ClassVar[list[str]] = []

    async def smtp_RCPT(self, arg: str | None) -> None:
        RcptRecorder.sent.append(arg or "")
        await super().smtp_RCPT(arg)


class RcptController(Controller):
    def factory(self) -> SMTP:
        return RcptRecorder(self.handler, **self.SMTP_kwargs)


def test_the_envelope_recipient_is_the_address_given_not_the_decoded_to_header(
    mailbox: Mailbox,
) -> None:
    """smtplib took the envelope from the To header, decoded: an encoded word in the
    address sent the mail to someone.else@example.vn (audit)."""
    address = "=?utf-8?q?someone.else?=@example.vn"  # as an address stored before the fix
    RcptRecorder.sent = []
    port = free_port()
    controller = RcptController(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        EmailChannel("127.0.0.1", port, sender="hailong@phuong.gov.vn").send(
            _invitation(1, address)
        )
    finally:
        controller.stop()
    assert RcptRecorder.sent == [f"TO:<{address}>"]


def test_a_named_senders_message_id_is_an_address() -> None:
    """(outreach audit) With HAILONG_SMTP_FROM="Name <a@b.vn>" the Message-ID took the
    domain as "b.vn>" and was stored, as the provider id, "<hailong.…@b.vn>>"."""
    channel = EmailChannel("127.0.0.1", 25, sender="Bộ phận Một cửa <noreply@phuong.gov.vn>")
    message = _invitation(7, "dan@example.vn")
    assert channel.message_id(message) == "<hailong.invitation.7@phuong.gov.vn>"


def _invitation(message_id: int, recipient: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=message_id,
        channel="email",
        kind="invitation",
        recipient=recipient,
        subject="Mời ông/bà đánh giá",
        text="Mời ông/bà đánh giá: http://testserver/m/ABCD1234",
        link="http://testserver/m/ABCD1234",
        opt_out_link="http://testserver/u/x",
        agency_name="UBND",
        dossier_code="D-1",
        language="vi",
    )
