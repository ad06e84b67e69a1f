"""English pages mark the Vietnamese names they show (lang="vi"), so that a screen reader
reads them as Vietnamese (WCAG 3.1.2, language of parts). The survey form and its thank-you
page do (templates/survey/form.html: "marked so that a screen reader on the English page
reads them as Vietnamese", audit); the public score pages, the widget and the citizen's
follow-up page showed the same agency names inside lang="en" and nothing else (public
pages audit)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")
NAME = "UBND Phường Tân Định"
VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr"}


class _LangOfText(HTMLParser):
    """The language each text node is in: the lang of its nearest ancestor that has one."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.texts: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append((tag, dict(attrs).get("lang")))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not data.strip() or (
            self.stack and self.stack[-1][0] in ("script", "style", "title", "textarea")
        ):
            return
        lang = next((lang for _, lang in reversed(self.stack) if lang), None)
        self.texts.append((data.strip(), lang))


def _unmarked(html: str, name: str) -> list[str]:
    """Visible texts holding `name` that are read as English."""
    parser = _LangOfText()
    parser.feed(html)
    return [text for text, lang in parser.texts if name in text and lang != "vi"]


@pytest.mark.parametrize(
    "path",
    ["/agencies/G22.39?lang=en", "/rankings?lang=en", "/embed/agencies/G22.39?lang=en"],
)
def test_english_public_pages_mark_the_agency_names(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert 'lang="en"' in page.text
    assert _unmarked(page.text, NAME) == []


def test_english_followup_page_marks_the_agency_name(
    client: TestClient, make_key: KeyFactory
) -> None:
    survey = issue(client, make_key)
    form = {
        **ANSWERS,
        "lang": "en",
        "complaint": "Too slow",
        "wants_reply": "yes",
        "contact": "0901234567",
        "consent": "yes",
    }
    thanks = client.post(survey.path, data=form, follow_redirects=True)
    assert thanks.status_code == 200
    assert _unmarked(thanks.text, NAME) == []  # the thank-you page does it
    link = thanks.text.split('id="followup-link" href="', 1)[1].split('"', 1)[0]
    followup = client.get(link.replace("http://testserver", ""))
    assert followup.status_code == 200 and 'lang="en"' in followup.text
    assert _unmarked(followup.text, NAME) == []


PARENT = "Thành phố Hồ Chí Minh"


@pytest.mark.parametrize("path", ["/rankings?lang=en&parent_code=79", "/agencies/G22.39?lang=en"])
def test_english_pages_mark_the_parents_name(client: TestClient, path: str) -> None:
    """The parent's name in the rankings' breadcrumb and lead, and the agency page's way
    back, inside translated sentences (review)."""
    page = client.get(path)
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert PARENT in page.text
    assert _unmarked(page.text, PARENT) == []
