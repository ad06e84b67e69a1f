"""The contact a citizen leaves with a comment, consenting that "the office keep it and
contact me back" (the form's words), is on that petition's page in the console, and
nowhere else there (survey audit: it was stored, and no page showed it, so no one could
do what the citizen consented to)."""

from __future__ import annotations

from sqlmodel import select

from service.models import Petition
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import WARD, ConsoleClient, Office, raw_key
from tests.surveys.conftest import ANSWERS

PHONE = "0901234567"


def test_a_consented_contact_is_on_its_petitions_page_only(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    office.handover("CONTACT-1")
    office.handover("NO-CONTACT-1")
    form = {
        **ANSWERS,
        "complaint": "Xin cơ quan gọi lại cho tôi về hồ sơ này.",
        "wants_reply": "yes",
        "contact": PHONE,
        "consent": "yes",
        "lang": "vi",
    }
    posted = office.http.post(f"/s/{office.tokens['CONTACT-1']}", data=form)
    assert posted.status_code == 200, posted.text
    office.answer_on_page("NO-CONTACT-1", complaint="Chờ lâu quá.")
    with db() as session:
        ids = {
            p.response_id: p.id for p in session.exec(select(Petition)).all() if p.id is not None
        }
    console.sign_in(raw_key(make_key("manager", WARD)))
    pages = [console.get(f"/console/petitions/{petition_id}") for petition_id in ids.values()]
    with_contact = [page for page in pages if PHONE in page.text]
    assert len(with_contact) == 1, [page.status_code for page in pages]
    assert "đồng ý để cơ quan liên hệ lại" in with_contact[0].text
    inbox = console.get(f"/console/a/{WARD}/petitions?show=all")
    assert inbox.status_code == 200 and PHONE not in inbox.text
