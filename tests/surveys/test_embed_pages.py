"""/embed/s/{token} without a browser: the survey page framed by the origins of
HAILONG_EMBED_ORIGINS only, the same form and thank-you flow as /s/{token}, no cookie."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import select

from service.app import create_app
from service.models import Invitation, Response
from service.settings import Settings
from tests.conftest import DbFactory, KeyFactory, make_settings
from tests.hardening.test_database_restart import database_down
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue

PORTAL = "https://dichvucong.hochiminhcity.gov.vn"
LOCAL = "http://127.0.0.1:8123"
FORM = {**ANSWERS, "lang": "vi"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, embed_origins=f"{PORTAL}/, {LOCAL}")


def frame_ancestors(csp: str) -> list[str]:
    found = re.search(r"frame-ancestors ([^;]+)", csp)
    assert found, csp
    return found.group(1).split()


def test_listed_origins_may_frame_the_survey_and_its_answer(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    embed = f"/embed/s/{survey.token}"
    page = client.get(embed)
    assert page.status_code == 200
    assert f'action="{embed}"' in page.text and 'class="top compact"' in page.text
    with db() as session:
        assert session.exec(select(Invitation)).one().status == "opened"
    missing = client.post(embed, data={"lang": "vi"})
    assert missing.status_code == 422 and f'action="{embed}"' in missing.text
    thanks = client.post(embed, data=FORM)
    assert thanks.status_code == 200 and "Cảm ơn ông/bà đã đánh giá!" in thanks.text
    again = client.post(embed, data=FORM)
    assert again.status_code == 409
    unknown = client.get("/embed/s/not-a-real-token")
    assert unknown.status_code == 404
    for response in (page, missing, thanks, again, unknown):
        csp = response.headers["content-security-policy"]
        assert frame_ancestors(csp) == [PORTAL, LOCAL]
        assert "default-src 'none'" in csp and "form-action 'self'" in csp
        # X-Frame-Options knows no list of origins and would refuse every frame.
        assert "x-frame-options" not in response.headers
        assert "set-cookie" not in response.headers  # nothing a third-party frame could lose
        assert response.headers["referrer-policy"] == "no-referrer"
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        assert len(session.exec(select(Response)).all()) == 1
    script = re.search(r'<script src="/static/survey-embed.js"([^>]*)>', thanks.text)
    assert script, thanks.text
    assert f'data-origins="{PORTAL} {LOCAL}"' in script.group(1)
    assert f'data-survey-id="{invitation.public_id}"' in script.group(1)
    assert client.get("/static/survey-embed.js").status_code == 200


def test_the_phone_page_itself_is_never_framed(client: TestClient, survey: IssuedSurvey) -> None:
    for response in (client.get(survey.path), client.post(survey.path, data=FORM)):
        assert frame_ancestors(response.headers["content-security-policy"]) == ["'none'"]
        assert response.headers["x-frame-options"] == "DENY"
        assert "survey-embed.js" not in response.text and "compact" not in response.text


def test_follow_up_link_leaves_the_frame(client: TestClient, survey: IssuedSurvey) -> None:
    complaint = {**FORM, "complaint": "Chờ lâu", "wants_reply": "yes"}
    thanks = client.post(f"/embed/s/{survey.token}", data=complaint)
    assert thanks.status_code == 200
    link = re.search(r'<a id="followup-link"[^>]*>', thanks.text)
    assert link and 'target="_blank"' in link.group(0)  # the follow-up page is never framed


def test_no_origins_no_framing(
    database_url: str, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    with TestClient(create_app(make_settings(database_url))) as client:
        survey = issue(client, make_key)
        page = client.get(f"/embed/s/{survey.token}")
        thanks = client.post(f"/embed/s/{survey.token}", data=FORM)
    for response in (page, thanks):
        assert frame_ancestors(response.headers["content-security-policy"]) == ["'none'"]
    assert thanks.status_code == 200 and "survey-embed.js" not in thanks.text


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https://*.gov.vn",
        "https://a.gov.vn/path",
        "a.gov.vn",
        "ftp://a.gov.vn",
        "'self'",
        "https://a.gov.vn:99999",
        "https://a.gov.vn; script-src *",
    ],
)
def test_embed_origins_must_be_origins(value: str) -> None:
    with pytest.raises(ValidationError, match="HAILONG_EMBED_ORIGINS") as refused:
        Settings(embed_origins=value)
    assert "scheme://host[:port]" in str(refused.value)


def test_embed_origins_are_normalised() -> None:
    settings = Settings(embed_origins=" HTTPS://Portal.gov.vn/ ,, http://10.0.0.5:8080 ")
    assert settings.embed_origin_list == ["https://portal.gov.vn", "http://10.0.0.5:8080"]
    assert Settings().embed_origin_list == []
    # (audit) As browsers name an origin (location.ancestorOrigins): with its default port
    # kept, the frame was allowed but the script comparing the text told the portal nothing.
    defaults = Settings(embed_origins="https://portal.gov.vn:443, http://p2.gov.vn:80")
    assert defaults.embed_origin_list == ["https://portal.gov.vn", "http://p2.gov.vn"]
    others = Settings(embed_origins="https://a.vn:8443, http://b.vn:443")
    assert others.embed_origin_list == ["https://a.vn:8443", "http://b.vn:443"]


def test_the_framed_already_answered_page_tells_the_portal(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """(audit) A double tap, or the portal's page opened again later, shows the "already
    answered" page: it loaded no survey-embed.js, and the portal went on offering the
    survey answered in this very frame."""
    embed = f"/embed/s/{survey.token}"
    assert client.post(embed, data=FORM, follow_redirects=False).status_code == 303
    with db() as session:
        survey_id = session.exec(select(Invitation.public_id)).one()
    for again in (
        client.post(embed, data=FORM, follow_redirects=False),
        client.get(embed),
    ):
        assert again.status_code == 409
        assert 'src="/static/survey-embed.js"' in again.text
        assert f'data-survey-id="{survey_id}"' in again.text
    # The phone page (not framed) has no script to tell anyone.
    assert "survey-embed.js" not in client.get(f"/s/{survey.token}").text


def test_the_framed_pages_do_not_send_an_online_citizen_to_a_slip_or_a_counter(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """(audit) Inside the portal's result page the citizen never had a slip, a QR code or a
    counter: the portal put the link there."""
    unknown = client.get("/embed/s/not-a-real-token")
    assert unknown.status_code == 404
    revoked = issue(client, make_key, dossier_code="G22.39-REVOKED")
    revoke = f"/api/v1/handovers/{revoked.dossier_code}/revoke"
    assert client.post(revoke, headers=make_key("issuer")).status_code == 200
    withdrawn = client.get(f"/embed/s/{revoked.token}")
    assert withdrawn.status_code == 410
    for page in (unknown, withdrawn):
        text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
        assert "trên phiếu" not in text and "mã QR" not in text and "tại quầy" not in text
        assert "tải lại trang hoặc liên hệ cơ quan giải quyết hồ sơ" in text, text
    # The phone page keeps its words: the citizen holds the slip.
    assert "tại quầy" in client.get(f"/s/{revoked.token}").text


def test_the_honeypot_tells_the_portal_nothing(client: TestClient, survey: IssuedSurvey) -> None:
    """A bot's post (the hidden field filled) gets the thank-you page, but inside a portal's
    page that page told the portal "answered" (survey-embed.js) though nothing was stored."""
    embed = f"/embed/s/{survey.token}"
    bot = client.post(embed, data={**FORM, "website": "http://spam.example"})
    assert bot.status_code == 200 and "Cảm ơn" in bot.text
    assert "data-survey-id" not in bot.text  # the script sizes the frame, says no answer
    citizen = client.post(embed, data=FORM)
    assert citizen.status_code == 200 and "data-survey-id" in citizen.text


def test_a_framed_answer_is_a_page_a_reload_shows_again(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """The framed form answered its POST with the thank-you page itself (200): a reload in
    the portal's page posted the form again and got "already answered", without the
    complaint's follow-up link (citizen pages audit). Now as on the phone: 303 to a
    thank-you page of its own, framed as the survey is."""
    embed = f"/embed/s/{survey.token}"
    complaint = {**FORM, "complaint": "Chờ lâu", "wants_reply": "yes"}
    stored = client.post(embed, data=complaint, follow_redirects=False)
    assert stored.status_code == 303
    assert stored.headers["location"] == f"{embed}/thanks?lang=vi"
    for _ in range(2):  # the redirect's page, then a reload
        thanks = client.get(stored.headers["location"])
        assert thanks.status_code == 200 and "Cảm ơn ông/bà đã đánh giá!" in thanks.text
        assert frame_ancestors(thanks.headers["content-security-policy"]) == [PORTAL, LOCAL]
        assert "x-frame-options" not in thanks.headers
        link = re.search(r'<a id="followup-link"[^>]*>', thanks.text)
        assert link and 'target="_blank"' in link.group(0)
        assert "survey-embed.js" in thanks.text
    # Posted again (the browser's resend): the refusal links to that page, in the frame.
    again = client.post(embed, data=complaint)
    assert again.status_code == 409 and f'href="{embed}/thanks?lang=vi"' in again.text
    with db() as session:
        assert len(session.exec(select(Response)).all()) == 1


def test_the_framed_thanks_of_an_unanswered_survey_tells_the_portal_nothing(
    client: TestClient, survey: IssuedSurvey
) -> None:
    thanks = client.get(f"/embed/s/{survey.token}/thanks")
    # The script sizes the frame; it names no survey answered.
    assert thanks.status_code == 200 and "data-survey-id" not in thanks.text
    assert client.get("/embed/s/not-a-real-token/thanks").status_code == 404


@pytest.mark.parametrize("prefix", ["/s", "/embed/s"])
def test_past_the_guess_limit_a_right_link_s_answer_is_stored(
    client: TestClient, survey: IssuedSurvey, db: DbFactory, prefix: str
) -> None:
    """(audit, walkthrough) Citizens behind one address (a carrier's, an office's Wi-Fi)
    share the count of wrong links: past the limit a right link was refused too, and the
    posted answers and complaint met a 429 page. A whole token cannot be guessed: it is
    looked up all the same, and the answer stored. A wrong link's post is still refused,
    its answers offered to be sent again as typed (the form page is no-store)."""
    complaint = "Cán bộ hẹn lại ba lần, tôi phải nghỉ làm để đi"
    limit = client.app.state.settings.guess_limit  # type: ignore[attr-defined]
    for i in range(limit):
        assert client.get(f"{prefix}/guess-{i}").status_code == 404
    wrong = f"{prefix}/{'w' * 43}"
    refused = client.post(wrong, data={**FORM, "complaint": complaint}, follow_redirects=False)
    assert refused.status_code == 429 and refused.headers.get("retry-after")
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', refused.text, re.S)
    assert form is not None and form.group(1) == wrong
    kept = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    assert kept["complaint"] == complaint and kept["overall"] == FORM["overall"]
    assert "gửi lại đúng như đã nhập" in refused.text
    assert "<form" not in client.get(wrong).text  # a GET refused has nothing to send again
    posted = client.post(
        f"{prefix}/{survey.token}", data={**FORM, "complaint": complaint}, follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    with db() as session:
        assert [r.complaint for r in session.exec(select(Response)).all()] == [complaint]


def test_a_citizens_outage_page_speaks_only_the_citizens_language(
    settings: Settings, make_key: KeyFactory, agencies: None
) -> None:
    """(audit) The framed survey met by a database outage said it in Vietnamese, then the
    API's English sentence to the citizen ("The service cannot reach its database")."""
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as lenient:
        survey = issue(lenient, make_key)
        with database_down(app.state.engine):
            page = lenient.post(f"/embed/s/{survey.token}", data=FORM, follow_redirects=False)
    assert page.status_code == 503
    assert "Hệ thống tạm thời gián đoạn" in page.text and ">Gửi lại</button>" in page.text
    assert "cannot reach its database" not in page.text
