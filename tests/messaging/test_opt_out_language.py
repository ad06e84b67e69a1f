"""The opt-out page ("Từ chối nhận tin", /u/{token}) in the citizen's language: Vietnamese
first, English when the link asks for it (`?lang=en`), which the message's link does when
the invitation was English. Found by an audit: the page spoke Vietnamese only, whatever the
link or the invitation said, with a button that stops every message."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.messaging.compose import opt_out_link
from service.messaging.contacts import opt_out_token
from service.settings import Settings
from tests.conftest import KeyFactory, handover_body
from tests.messaging.conftest import Mailbox, Worker, local

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
ADDRESS = "dan@example.vn"
# The whole opt-out link of a message, its query included.
OPT_OUT_LINK = re.compile(r"http://testserver(/u/[A-Za-z0-9_-]+(?:\?lang=[a-z]+)?)")
ASK_EN = "Would you rather get no more satisfaction survey invitations at this e-mail address?"
DONE_EN = "Done: you will get no more messages"
ASK_VI = "Ông/bà không muốn nhận tin mời đánh giá sự hài lòng gửi đến địa chỉ e-mail này nữa?"
DONE_VI = "Đã ghi nhận: ông/bà sẽ không nhận tin nữa"


def _said(html: str) -> str:
    """The page's words, without its markup."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _opt_out_path(
    client: TestClient, key: dict[str, str], worker: Worker, mailbox: Mailbox, language: str
) -> str:
    """The opt-out link (path and query) of the e-mail inviting to a survey in `language`."""
    body = handover_body(
        dossier_code=f"L-{language}", language=language, contact={"email": ADDRESS, "consent": True}
    )
    assert client.post(URL, json=body, headers=key).status_code == 201
    worker.run(local(1, 9))
    found = OPT_OUT_LINK.search(mailbox.texts()[-1])
    assert found is not None, mailbox.texts()[-1]
    return found.group(1)


def _form_action(html: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', html)
    assert found is not None, html
    return found.group(1).replace("&amp;", "&")


def test_an_english_invitations_opt_out_page_speaks_english(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """(audit) A citizen whose invitation was in English opened the e-mail's "Từ chối nhận
    tin" link and got a page in Vietnamese only, with a button that stops every message:
    the link said nothing of the language, and the page would not have listened."""
    path = _opt_out_path(client, make_key("issuer"), worker, mailbox, "en")
    assert path.endswith("?lang=en"), path

    asked = client.get(path)
    assert asked.status_code == 200
    assert '<html lang="en">' in asked.text
    said = _said(asked.text)
    assert ASK_EN in said and "Stop messages" in said, said
    assert ASK_VI not in said
    # The way back to Vietnamese, marked as Vietnamese for a screen reader.
    assert '<a href="?lang=vi" hreflang="vi" lang="vi">Tiếng Việt</a>' in asked.text

    # The button posts in English too: the confirmation is read in the same language.
    done = client.post(_form_action(asked.text))
    assert done.status_code == 200 and '<html lang="en">' in done.text
    assert DONE_EN in _said(done.text) and DONE_VI not in _said(done.text)


def test_a_vietnamese_invitations_opt_out_page_speaks_vietnamese_and_offers_english(
    client: TestClient, make_key: KeyFactory, mailbox: Mailbox, worker: Worker
) -> None:
    """(audit) The page had no language switch: a citizen who reads English could not ask
    for it, and `?lang=en` was ignored."""
    path = _opt_out_path(client, make_key("issuer"), worker, mailbox, "vi")
    assert "?" not in path, path  # Vietnamese is the default: the SMS keeps its length

    asked = client.get(path)
    assert '<html lang="vi">' in asked.text and ASK_VI in _said(asked.text)
    assert '<a href="?lang=en" hreflang="en" lang="en">English</a>' in asked.text
    english = client.get(f"{path}?lang=en")
    assert '<html lang="en">' in english.text and ASK_EN in _said(english.text)
    # Any other language asked for: Vietnamese.
    assert ASK_VI in _said(client.get(f"{path}?lang=fr").text)
    done = client.post(_form_action(asked.text))
    assert '<html lang="vi">' in done.text and DONE_VI in _said(done.text)


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("sms", "at this phone number, by SMS or by Zalo"),
        ("zalo", "at this phone number, by SMS or by Zalo"),
        ("email", "at this e-mail address"),
    ],
)
def test_the_english_page_says_what_the_opt_out_covers(
    client: TestClient, settings: Settings, channel: str, words: str
) -> None:
    """(audit) In English too, the page says what the opt-out stops (a number's: SMS and
    Zalo; an address's: e-mail alone), and names the other channel's own link by the
    Vietnamese words the messages show it with."""
    token = opt_out_token(settings.signing_key(), channel, "0901234567")
    asked, done = (
        _said(r.text)
        for r in (client.get(f"/u/{token}?lang=en"), client.post(f"/u/{token}?lang=en"))
    )
    assert words in asked and words in done, asked
    assert "“Từ chối nhận tin”" in asked and "“Từ chối nhận tin”" in done


def test_a_wrong_opt_out_link_is_explained_in_the_language_asked_for(client: TestClient) -> None:
    """(audit) The 404 page of a mangled link was Vietnamese whatever the link asked."""
    page = client.get("/u/eAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?lang=en")
    assert page.status_code == 404 and '<html lang="en">' in page.text
    assert "This link is not right" in _said(page.text)


@pytest.mark.parametrize("channel", ["sms", "zalo"])
def test_an_english_invitations_sms_and_zalo_opt_out_links_stay_bare(channel: str) -> None:
    """(review) Eight characters more moved an English SMS to the text without diacritics,
    or past its two segments ("shorten the base URL"): only the e-mail's link carries the
    language; the page has its own switch."""
    assert opt_out_link("https://hl.vn", "TOKEN", "en", channel) == "https://hl.vn/u/TOKEN"
    mail = opt_out_link("https://hl.vn", "TOKEN", "en", "email")
    assert mail == "https://hl.vn/u/TOKEN?lang=en"
