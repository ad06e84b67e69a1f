"""The survey page without a browser: statuses, errors kept next to answers, headers, weight."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Invitation, Petition, Response, utcnow
from service.surveys.service import SHOWN_FORM_GRACE
from tests.conftest import DbFactory, KeyFactory
from tests.surveys.conftest import ANSWERS, IssuedSurvey, issue

FORM = {**ANSWERS, "lang": "vi"}


def _checked(html: str) -> set[str]:
    return {f"{n}={v}" for n, v in re.findall(r'name="(\w+)" value="(\w+)" checked', html)}


def test_page_shows_what_is_rated_and_marks_opened(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    page = client.get(survey.path)
    assert page.status_code == 200
    html = page.text
    assert '<html lang="vi">' in html
    for text in (
        "UBND Phường Tân Định",
        "Đăng ký khai sinh",
        "G22.39-250915-0001",
        "Hồ sơ có được trả đúng hẹn không?",
        "Rất hài lòng",
        "Gửi đánh giá",
    ):
        assert text in html
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
    assert invitation.status == "opened" and invitation.opened_at is not None


def test_questions_come_from_the_profile(client: TestClient, survey: IssuedSurvey) -> None:
    profile = client.app.state.profile  # type: ignore[attr-defined]
    html = client.get(survey.path).text
    for question in profile.survey.questions:
        assert question.text("vi") in html
        for answer in question.answers:
            assert f'name="{question.field}" value="{answer.value}"' in html


def test_english_by_query_and_by_invitation_language(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    vi = issue(client, make_key)
    html = client.get(f"{vi.path}?lang=en").text
    assert '<html lang="en">' in html and "Was your result ready on the promised date?" in html
    assert "Send" in html and 'href="?lang=vi"' in html
    en = issue(client, make_key, dossier_code="D-EN", language="en")
    assert '<html lang="en">' in client.get(en.path).text
    assert '<html lang="vi">' in client.get(f"{en.path}?lang=vi").text


@pytest.mark.parametrize(
    ("sent", "shown"), [("EN", "en"), ("en-US", "en"), ("vi-VN", "vi"), ("fr", "vi")]
)
def test_the_language_asked_for_is_read_as_a_language_tag(
    client: TestClient, survey: IssuedSurvey, sent: str, shown: str
) -> None:
    """?lang=EN and ?lang=en-US were ignored, and the page came in Vietnamese (audit);
    a language hailong does not speak still falls back to Vietnamese."""
    html = client.get(survey.path, params={"lang": sent}).text
    assert f'<html lang="{shown}">' in html
    public = client.get("/rankings", params={"lang": sent}).text
    assert f'<html lang="{shown}">' in public


def test_missing_answer_keeps_the_others_and_says_where(
    client: TestClient, survey: IssuedSurvey
) -> None:
    form = {k: v for k, v in FORM.items() if k != "staff_attitude"}
    form["complaint"] = "Chờ lâu"
    page = client.post(survey.path, data=form)
    assert page.status_code == 422
    html = page.text
    assert 'id="err-staff_attitude"' in html and 'role="alert"' in html
    assert 'aria-describedby="err-staff_attitude"' in html
    # Screen readers announce the unanswered question's choices as invalid, and only those.
    invalid = re.findall(r'<input type="radio" name="(\w+)"[^>]*aria-invalid="true"', html)
    assert set(invalid) == {"staff_attitude"} and len(invalid) >= 2
    assert _checked(html) == {
        "timeliness=on_time",
        "supplement_requests=none",
        "overall=satisfied",
        "wants_reply=no",  # the comment's default: no answer asked
    }
    assert ">Chờ lâu</textarea>" in html


def test_submit_thanks_then_answered_page(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    thanks = client.post(
        survey.path,
        data={**FORM, "complaint": "Cán bộ hướng dẫn chưa rõ", "wants_reply": "yes"},
    )
    assert thanks.status_code == 200
    assert "Cảm ơn ông/bà đã đánh giá!" in thanks.text
    assert "Hạn trả lời" in thanks.text  # an answer was asked for: a deadline is promised
    again = client.get(survey.path)
    assert again.status_code == 409 and "Phiếu này đã được đánh giá" in again.text
    assert client.post(survey.path, data=FORM).status_code == 409
    assert client.post(survey.path, data={"lang": "vi"}).status_code == 409  # incomplete
    with db() as session:
        response = session.exec(select(Response)).one()
        assert session.exec(select(Petition)).one().response_id == response.id
    assert response.source == "phone"


def test_unknown_revoked_expired_pages(
    client: TestClient, make_key: KeyFactory, agencies: None, db: DbFactory
) -> None:
    unknown = client.get("/s/not-a-real-token?lang=en")
    assert unknown.status_code == 404 and "Survey not found" in unknown.text
    revoked = issue(client, make_key)
    client.post(f"/api/v1/handovers/{revoked.dossier_code}/revoke", headers=make_key("issuer"))
    page = client.get(revoked.path)
    assert page.status_code == 410 and "thu hồi" in page.text
    expired = issue(client, make_key, dossier_code="D-OLD")
    with db() as session:
        invitation = session.exec(select(Invitation).where(Invitation.id == 2)).one()
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    page = client.get(expired.path)
    assert page.status_code == 410 and "hết hạn" in page.text
    assert "Traceback" not in page.text
    # An incomplete form says so too (it was the form again, a 422, to be completed).
    for path, status in ((revoked.path, 410), (expired.path, 410)):
        half = client.post(path, data={"overall": "satisfied", "lang": "vi"})
        assert half.status_code == status, path


def _shown_then_expired(db: DbFactory, shown_minutes_ago: int, expired_minutes_ago: int) -> None:
    """The survey's form was shown, then the survey expired: as time would have it."""
    now = utcnow()
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        assert invitation.status == "opened"
        invitation.opened_at = now - timedelta(minutes=shown_minutes_ago)
        invitation.expires_at = now - timedelta(minutes=expired_minutes_ago)
        session.add(invitation)


def test_a_form_shown_before_the_expiry_and_sent_soon_after_is_stored(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """Opened in the survey's last minutes and filled on a slow phone, the form was refused
    as expired and every answer typed was lost (audit). It is judged when it was shown,
    for SHOWN_FORM_GRACE; the answer takes the server's time."""
    assert client.get(survey.path).status_code == 200  # shown: the survey "opened"
    _shown_then_expired(db, shown_minutes_ago=5, expired_minutes_ago=2)
    sent = client.post(survey.path, data=FORM, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    with db() as session:
        response = session.exec(select(Response)).one()
        assert utcnow() - response.received_at < timedelta(minutes=1)
        assert session.exec(select(Invitation)).one().status == "answered"


def test_a_form_sent_long_after_the_expiry_or_never_shown_is_refused(
    client: TestClient, make_key: KeyFactory, survey: IssuedSurvey, db: DbFactory
) -> None:
    assert client.get(survey.path).status_code == 200
    grace_minutes = int(SHOWN_FORM_GRACE.total_seconds() // 60)
    _shown_then_expired(db, grace_minutes + 10, expired_minutes_ago=grace_minutes + 1)
    late = client.post(survey.path, data=FORM, follow_redirects=False)
    assert late.status_code == 410 and "hết hạn" in late.text
    # Posted without the form ever shown (a script, a stale cached page): no allowance.
    never_shown = issue(client, make_key, dossier_code="D-NEVER")
    with db() as session:
        invitation = session.exec(select(Invitation).where(Invitation.id == 2)).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        session.add(invitation)
    refused = client.post(never_shown.path, data=FORM, follow_redirects=False)
    assert refused.status_code == 410
    with db() as session:
        assert session.exec(select(Response)).first() is None


def test_honeypot_looks_accepted_but_stores_nothing(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    page = client.post(survey.path, data={**FORM, "website": "http://spam.example"})
    assert page.status_code == 200 and "Cảm ơn" in page.text
    with db() as session:
        assert session.exec(select(Response)).first() is None
    assert client.post(survey.path, data=FORM).status_code == 200  # the citizen still can


def test_unknown_form_fields_are_refused(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """Nothing is stored; the form comes back as typed (test_questionnaire_changed.py)."""
    page = client.post(survey.path, data={**FORM, "ip_address": "1.2.3.4"})
    assert page.status_code == 422 and "Bộ câu hỏi vừa được cập nhật" in page.text
    with db() as session:
        assert session.exec(select(Response)).first() is None


def test_an_answered_survey_is_409_even_for_a_form_with_a_field_it_no_longer_has(
    client: TestClient, survey: IssuedSurvey
) -> None:
    """A form opened before the questionnaire lost a question (a profile change) carries
    that field. To a survey already answered the citizen heard "the form is invalid, open
    the link again" (422), which then said 409: the survey's state comes before anything of
    the form (API.md: 409), the honeypot too, as a bot hears what anyone would (audit)."""
    assert client.post(survey.path, data=FORM).status_code == 200  # 303 followed
    for form in (
        {**FORM, "agencies_contacted": "desk_only"},
        {**FORM, "website": "http://spam.example"},
    ):
        again = client.post(survey.path, data=form)
        assert again.status_code == 409, (form, again.status_code)
        assert "Phiếu này đã được đánh giá" in again.text


def test_contact_without_consent_is_an_error_next_to_the_consent_box(
    client: TestClient, survey: IssuedSurvey
) -> None:
    """(audit) The refusal marked the number, which was fine, and not the box to tick
    (the browser's view: test_a_contact_sent_without_consent_marks_the_consent_box_...)."""
    page = client.post(survey.path, data={**FORM, "contact": "0901234567"})
    assert page.status_code == 422 and 'id="err-consent"' in page.text
    assert 'id="err-contact"' not in page.text and 'value="0901234567">' in page.text
    assert 'value="yes" aria-describedby="err-consent" aria-invalid="true">' in page.text
    assert '<a href="#consent">' in page.text
    # A contact that is wrong stays the contact's problem, consent or not.
    wrong = client.post(survey.path, data={**FORM, "contact": "not-a-phone"})
    assert 'id="err-contact"' in wrong.text and 'id="err-consent"' not in wrong.text
    ok = client.post(survey.path, data={**FORM, "contact": "0901234567", "consent": "yes"})
    assert ok.status_code == 200


def test_complaint_over_the_cap_is_an_error(client: TestClient, survey: IssuedSurvey) -> None:
    page = client.post(survey.path, data={**FORM, "complaint": "x" * 2001})
    assert page.status_code == 422 and 'id="err-complaint"' in page.text
    assert 'aria-describedby="complaint-hint err-complaint" aria-invalid="true">' in page.text
    assert page.text.count('aria-invalid="true"') == 1


@pytest.mark.parametrize("control", ["\x00", "\x01"])
def test_a_complaint_with_a_control_character_is_the_form_again_with_the_text_kept(
    client: TestClient, survey: IssuedSurvey, db: DbFactory, control: str
) -> None:
    """The JSON API refuses it (Storable); the form stored \x01 on both databases and a NUL
    on SQLite, and on PostgreSQL a NUL lost the typed complaint to a generic error page
    (answers audit)."""
    typed = f"Cán bộ rất chậm{control} và thiếu lịch sự"
    page = client.post(survey.path, data={**FORM, "complaint": typed}, follow_redirects=False)
    assert page.status_code == 422 and 'id="err-complaint"' in page.text
    assert "Có ký tự điều khiển ẩn không lưu được" in page.text
    assert "Cán bộ rất chậm" in page.text and "thiếu lịch sự" in page.text
    with db() as session:
        assert session.exec(select(Response)).all() == []


def test_a_complaint_the_textarea_allowed_is_accepted_with_its_line_breaks(
    client: TestClient, survey: IssuedSurvey, db: DbFactory
) -> None:
    """The textarea's maxlength counts a line break as one character, the browser sends it
    as CRLF: 1,999 characters shown were counted 2,008 and refused (answers audit)."""
    shown = "\n".join(["x" * 199] * 10)  # 1,999 characters in the textarea
    sent = shown.replace("\n", "\r\n")
    page = client.post(survey.path, data={**FORM, "complaint": sent}, follow_redirects=False)
    assert page.status_code == 303, page.text
    with db() as session:
        assert session.exec(select(Response)).one().complaint == shown


def test_security_headers_on_every_survey_page(client: TestClient, survey: IssuedSurvey) -> None:
    refused = client.post(survey.path, data={"lang": "vi"})
    pages = [client.get(survey.path), refused, client.get("/s/unknown")]
    pages.append(client.post(survey.path, data=FORM))
    pages.append(client.get(survey.path))
    for page in pages:
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        # The refused form is kept by the citizen's own browser, for the back button from
        # the thank-you page (test_back_after_a_fixed_form_shows_the_form_not_a_browser_error);
        # every other page is stored nowhere.
        expected = "private, no-cache" if page is refused else "no-store"
        assert page.headers["cache-control"] == expected, page.status_code
    assert refused.status_code == 422


def test_a_refused_form_repeating_a_contact_or_complaint_is_stored_nowhere(
    client: TestClient, survey: IssuedSurvey
) -> None:
    """The refused form is kept for the back button, but one repeating the phone number or
    the complaint typed in it stays no-store: on a shared computer the next person would
    find them in the browser's cache (review)."""
    for typed in ({"contact": "0912345678"}, {"complaint": "Cán bộ hẹn lại nhiều lần"}):
        refused = client.post(survey.path, data={"lang": "vi", **typed})
        assert refused.status_code == 422
        assert refused.headers["cache-control"] == "no-store", typed


def test_page_weight_under_60_kb_and_nothing_third_party(
    client: TestClient, survey: IssuedSurvey
) -> None:
    html = client.get(survey.path).text
    assets = re.findall(r'(?:href|src)="([^"?#]+)"', html)
    assert all(a.startswith("/") for a in assets), assets  # no CDN, no fonts, no trackers
    total = len(html.encode()) + sum(len(client.get(a).content) for a in assets)
    assert total < 60 * 1024, total


def test_wrong_tokens_are_throttled_on_the_page(client: TestClient, survey: IssuedSurvey) -> None:
    limit = client.app.state.settings.guess_limit  # type: ignore[attr-defined]
    for i in range(limit):
        assert client.get(f"/s/guess-{i}").status_code == 404
    page = client.get("/s/guess-last")
    assert page.status_code == 429 and "retry-after" in page.headers
    assert "Vui lòng thử lại sau ít phút" in page.text


def test_the_followup_link_of_an_english_answer_opens_in_english(
    client: TestClient, survey: IssuedSurvey
) -> None:
    """A Vietnamese survey answered in English linked from its English thanks page to a
    Vietnamese reply page (pages audit): the link carries the language it was answered in."""
    complaint = {**FORM, "lang": "en", "complaint": "Waited too long", "wants_reply": "yes"}
    thanks = client.post(survey.path, data=complaint)
    assert thanks.status_code == 200 and '<html lang="en">' in thanks.text
    link = re.search(r'id="followup-link" href="([^"]+)"', thanks.text)
    assert link is not None and link.group(1).endswith("?lang=en")
    followup = client.get(link.group(1).replace("http://testserver", ""))
    assert followup.status_code == 200 and '<html lang="en">' in followup.text
    # In the survey's own language, the link is the plain one.
    vi = client.get(f"{survey.path}/thanks")
    plain = re.search(r'id="followup-link" href="([^"]+)"', vi.text)
    assert plain is not None and "?lang" not in plain.group(1)


@pytest.mark.parametrize(
    "path",
    [
        "/s/" + "A" * 129,
        "/s/" + "A" * 129 + "/thanks",
        "/embed/s/" + "A" * 129,
        "/m/" + "7KQ4M2XD" * 3,
        "/p/" + "A" * 129,
        "/u/" + "A" * 200,
    ],
)
def test_an_overlong_link_is_a_wrong_link_page_not_a_422(client: TestClient, path: str) -> None:
    """A link with text glued to it (a chat app's auto-link, two lines copied as one) got
    the generic 422 page whose one sentence was pydantic's English ("String should have at
    most 128 characters"): it is a wrong link like any other (audit)."""
    page = client.get(path)
    assert page.status_code == 404, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "String should have" not in page.text
    # Inside a portal's frame: no slip to check, so the page says to reload.
    wrong = "Không mở được phiếu" if path.startswith("/embed/") else "không đúng"
    assert wrong in page.text, page.text
