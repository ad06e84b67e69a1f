"""The citizen's side of the loop: the thank-you page's private follow-up link, the status and
the agency's reply on it, and the citizen's verdict moving group 5 rate b."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.calendar.working_days import LOCAL_TZ
from service.console import petitions as inbox
from service.handovers import tokens
from service.models import AuditLog, OutboxEvent, Petition, utcnow
from service.petitions import followup
from service.settings import Settings
from tests.conftest import TEST_SECRET, DbFactory, KeyFactory, make_settings
from tests.console.conftest import (
    COMPLAINT,
    WARD,
    WARD_NAME,
    ConsoleClient,
    Office,
    counting_survey_petitions,
    current_period,
    raw_key,
)
from tests.hardening.test_guessing import away_from_a_window_end
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """This province counts survey comments asking for an answer as petitions, so that the
    inbox's replies and verdicts move group 5 (by default they do not: see
    tests/scoring/test_feedback_and_aging.py). A test parametrized with `settings` "default"
    runs under the default profile instead (DEFAULT_PROFILE)."""
    if getattr(request, "param", None) == "default":
        return make_settings(database_url)
    return counting_survey_petitions(database_url, tmp_path)


DEFAULT_PROFILE = pytest.mark.parametrize("settings", ["default"], indirect=True)


def close(value: float | None, expected: Fraction) -> bool:
    return value is not None and abs(value - float(expected)) < 1e-12


def survey_petition(db: DbFactory, code: str = "HL-BT-1") -> Petition:
    with db() as session:
        return session.exec(select(Petition).where(Petition.code == code)).one()


def reply(console: ConsoleClient, petition_id: int | None, text: str) -> None:
    """The ward's own reply: handled when saved (the petition counts in its group 5)."""
    page = console.get(f"/console/petitions/{petition_id}").text
    assert 'name="handled_at"' not in page and 'id="handled-at-fixed"' in page
    saved = console.post(f"/console/petitions/{petition_id}/reply", {"reply": text})
    assert saved.status_code == 200, saved.text


def test_thank_you_page_gives_a_private_link_stored_only_as_a_hash(
    office: Office, client: TestClient, db: DbFactory
) -> None:
    office.handover("BT-1")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    assert path is not None and path.startswith("/p/")
    token = path.removeprefix("/p/")
    stored = survey_petition(db)
    assert stored.followup_token_hash == tokens.hash_token(token)
    assert stored.followup_seed is not None and token not in stored.followup_seed
    # The service can show the same link again from the seed and its signing key ...
    assert followup.token_from_seed(TEST_SECRET.encode(), stored.followup_seed) == token
    # ... a copy of the database alone cannot.
    assert followup.token_from_seed(b"another key", stored.followup_seed) != token

    page = client.get(path)
    assert page.status_code == 200
    for header, value in (
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ):
        assert page.headers[header] == value
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert WARD_NAME in page.text and "BT-1" in page.text
    assert "Phải chờ hơn một tiếng ở quầy." in page.text
    assert "Cơ quan đang xem xét" in page.text
    assert 'name="verdict"' not in page.text  # nothing to judge before the reply
    assert (
        'lang="vi"' in page.text and "Follow your complaint" in client.get(f"{path}?lang=en").text
    )
    early = client.post(path, data={"verdict": "satisfied"})
    assert early.status_code == 409 and survey_petition(db).citizen_verdict is None


def test_no_complaint_no_link(office: Office, db: DbFactory) -> None:
    office.handover("BT-2")
    assert office.answer_on_page("BT-2") is None
    with db() as session:
        assert session.exec(select(Petition)).all() == []


def test_unknown_links_get_a_clear_page_and_guessing_is_throttled(
    client: TestClient, database_url: str
) -> None:
    # Not across a window's end, where the count starts afresh (a fast run at 22:20:00).
    away_from_a_window_end(client.app.state.settings, margin=5)  # type: ignore[attr-defined]
    for attempt in range(20):
        response = client.get(f"/p/{'A' * 43}{attempt}")
        assert response.status_code == 404
        assert "Không tìm thấy phản ánh" in response.text
    throttled = client.get(f"/p/{'B' * 43}")
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers


def test_reply_verdict_and_group5_rate_b_with_numbers(
    office: Office, console: ConsoleClient, client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    # This quarter, ward Bến Thành: two dossiers resolved on time, both evaluated
    # "satisfied"; BT-1's evaluation carries a complaint → petition HL-BT-1 (open).
    office.handover("BT-1")
    office.handover("BT-2")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    office.answer_on_page("BT-2")
    assert path is not None
    # An imported petition, handled on time, the citizen satisfied.
    office.petition(
        "PAKN-1",
        received_at=survey_petition(db).received_at.isoformat(),
        handled_at=survey_petition(db).received_at.isoformat(),
        citizen_verdict="satisfied",
    )
    g5 = office.score()["group5"]
    # HL-BT-1 is open and within its deadline: neither on time nor late yet, so not scored.
    # a) in authority handled on time: PAKN-1 of {PAKN-1} = 1 ÷ 1 → 6
    # b) petitions − bad (unsatisfied, result complaint, late): (1 − 0) ÷ 1 = 1 → 6
    # c) dossiers − (unsatisfied, petition, overdue): BT-1 has a petition → 1 ÷ 2 → 10/3
    #    group 5 = 6 + 6 + 10/3 = 46/3
    assert close(g5["petitions_on_time_rate"], Fraction(1))
    assert close(g5["petitions_satisfied_rate"], Fraction(1))
    assert close(g5["dossiers_satisfied_rate"], Fraction(1, 2))
    assert close(g5["score"], Fraction(46, 3))

    console.sign_in(raw_key(make_key("manager", WARD)))
    reply(console, survey_petition(db).id, "Phường đã bố trí thêm một quầy.\nXin cảm ơn.")
    g5 = office.score()["group5"]
    # Answered before its deadline: a) 2 ÷ 2 = 1 → 6; b) still 1 → 6; c) 10/3.
    # group 5 = 6 + 6 + 10/3 = 46/3
    assert close(g5["petitions_on_time_rate"], Fraction(1))
    assert close(g5["score"], Fraction(46, 3))

    page = client.get(path)
    assert "Cơ quan đã trả lời ngày" in page.text and "(đúng hạn)" in page.text
    assert (
        '<p dir="auto">Phường đã bố trí thêm một quầy.</p><p dir="auto">Xin cảm ơn.</p>'
        in page.text
    )
    assert 'name="verdict"' in page.text
    missing = client.post(path, data={"verdict": ""})
    assert missing.status_code == 422 and "Ông/bà vui lòng chọn một câu trả lời." in missing.text

    judged = client.post(path, data={"verdict": "unsatisfied"})
    assert judged.status_code == 200
    assert "Ý kiến đã được ghi nhận" in judged.text and 'name="verdict"' not in judged.text
    assert "tính vào điểm hài lòng của cơ quan" in judged.text  # this profile counts it
    g5 = office.score()["group5"]
    # b) (2 − 1 unsatisfied) ÷ 2 = 1/2 → 6 × 0,5/0,9 = 10/3.
    #    group 5 = 6 + 10/3 + 10/3 = 38/3 = 12,666… (was 46/3 = 15,333…)
    assert close(g5["petitions_satisfied_rate"], Fraction(1, 2))
    assert close(g5["score"], Fraction(38, 3))
    assert office.score()["d_source"] == "group5" and close(office.score()["d"], Fraction(38, 3))

    # Once: a second verdict is refused and counts nothing.
    again = client.post(path, data={"verdict": "satisfied"})
    assert again.status_code == 409 and "Không hài lòng" in again.text
    assert close(office.score()["group5"]["petitions_satisfied_rate"], Fraction(1, 2))
    stored = survey_petition(db)
    assert (stored.citizen_verdict, stored.verdict_at is not None) == ("unsatisfied", True)
    with db() as session:
        events = session.exec(select(OutboxEvent).where(OutboxEvent.type == "petition.updated"))
        verdicts = [e.payload["citizen_verdict"] for e in events]
        audited = session.exec(select(AuditLog).where(AuditLog.action == "petition.verdict")).all()
    assert verdicts[-1] == "unsatisfied"
    # Which agency's: petition codes are an agency's own (console audit).
    assert [a.detail for a in audited] == [{"agency": WARD, "verdict": "unsatisfied"}]

    # The manager sees it, and can no longer rewrite the reply the citizen judged.
    agency = console.get(f"/console/a/{WARD}?period={current_period()}").text
    assert re.search(r'id="g5-b">50 %<', agency)
    assert re.search(r'id="g5-score">12,66<', agency)  # shown rounded down (README, Rounding)
    detail = console.get(f"/console/petitions/{stored.id}").text
    assert 'id="verdict">Không hài lòng' in detail and 'action="/console/petitions' not in detail


def edit(db: DbFactory, **fields: object) -> None:
    """Set fields of the survey's petition HL-BT-1 straight in the database."""
    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one()
        for name, value in fields.items():
            setattr(petition, name, value)
        session.add(petition)


@DEFAULT_PROFILE
def test_under_the_default_profile_the_page_claims_no_count_for_the_delay_or_the_verdict(
    office: Office, client: TestClient, db: DbFactory
) -> None:
    """Survey feedback counts in no score by default (DESIGN.md, D), yet the page told the
    citizen that the delay "được tính vào điểm đánh giá" and the verdict "tính vào điểm hài
    lòng của cơ quan" (audit)."""
    office.handover("BT-1")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    assert path is not None
    edit(db, deadline_at=utcnow() - timedelta(days=10))  # unanswered, long overdue
    overdue = client.get(path).text
    assert "Đã quá hạn trả lời nhưng cơ quan chưa trả lời.</p>" in overdue
    assert "Việc chậm trễ này được tính vào điểm" not in overdue

    edit(db, reply="Phường đã bố trí thêm một quầy.", handled_at=utcnow())
    before = office.score()["group5"]
    judged = client.post(path, data={"verdict": "unsatisfied"})
    assert judged.status_code == 200
    assert "Ý kiến đã được ghi nhận và gửi tới cơ quan." in judged.text
    assert "tính vào điểm hài lòng" not in judged.text
    assert office.score()["group5"] == before  # indeed counted nowhere


def test_an_open_petition_is_overdue_on_the_page_the_moment_its_deadline_passes(
    office: Office, client: TestClient, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deadline Friday 2025-10-03, end of the day; seen Saturday noon, unanswered. The page
    waited a whole working day after the deadline's day (Monday, or later after Tết) and
    said "Cơ quan đang xem xét", while the console and the score call it late from the
    deadline on (DESIGN.md, group 5) (audit)."""
    office.handover("BT-1")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    assert path is not None
    friday_end = datetime(2025, 10, 3, 23, 59, 59, 999999, tzinfo=LOCAL_TZ)
    saturday_noon = datetime(2025, 10, 4, 12, 0, tzinfo=LOCAL_TZ)
    edit(db, received_at=friday_end - timedelta(days=21), deadline_at=friday_end)
    monkeypatch.setattr(followup, "utcnow", lambda: saturday_noon)
    page = client.get(path).text
    assert "Đã quá hạn trả lời" in page and "Cơ quan đang xem xét" not in page
    # This province counts it: the page may say the delay counts.
    assert "Việc chậm trễ này được tính vào điểm đánh giá của cơ quan." in page
    # The console's inbox says the same of it at that moment.
    assert inbox.timing(survey_petition(db), saturday_noon, {}).state == "overdue"
    # A second before the deadline it is still being handled.
    monkeypatch.setattr(followup, "utcnow", lambda: friday_end - timedelta(seconds=1))
    assert "Cơ quan đang xem xét" in client.get(path).text


def test_a_comment_left_with_a_contact_is_not_promised_a_reply(
    office: Office, client: TestClient, db: DbFactory
) -> None:
    """A comment (góp ý) that asked for no answer gets the follow-up link because the citizen
    left a contact; the thank-you page and the follow-up page told them to come back for
    "the office's answer" that nothing obliges the office to give (reviewer)."""
    office.handover("BT-1")
    form = {
        **ANSWERS,
        "complaint": COMPLAINT,
        "wants_reply": "no",
        "contact": "0903 123 456",
        "consent": "yes",
    }
    thanks = client.post(f"/s/{office.tokens['BT-1']}", data=form, follow_redirects=True)
    assert thanks.status_code == 200
    assert "Góp ý của ông/bà đã được gửi tới" in thanks.text
    assert "Nếu cơ quan trả lời góp ý" in thanks.text
    assert "Xem câu trả lời của cơ quan" not in thanks.text
    found = re.search(r'id="followup-link" href="([^"]+)"', thanks.text)
    assert found is not None
    page = client.get(httpx.URL(found.group(1)).path).text
    assert "Cơ quan đã nhận góp ý của ông/bà." in page
    assert "quay lại đường dẫn này để xem câu trả lời" not in page
    assert survey_petition(db).kind == "comment"


def _said(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _local_input(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def test_a_handling_recorded_by_the_petition_system_shows_its_outcome_to_the_citizen(
    office: Office,
    client: TestClient,
    console: ConsoleClient,
    make_key: KeyFactory,
    db: DbFactory,
) -> None:
    """The national system records the handling of the citizen's survey petition with its
    `outcome`: the page said "answered on …" and asked for a verdict on an answer it never
    showed (the outcome was stored and shown nowhere; petitions audit)."""
    office.handover("BT-1")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    assert path is not None
    petition = survey_petition(db)
    outcome = "Phường đã kiểm tra và nhắc nhở cán bộ tiếp nhận."
    body: dict[str, str | None] = {
        "petition_code": "HL-BT-1",
        "agency_code": WARD,
        "received_at": petition.received_at.isoformat(),
        "handled_at": utcnow().isoformat(),
        "outcome": outcome,
    }
    assert client.post("/api/v1/petitions", json=body, headers=office.admin).status_code == 200
    page = client.get(path).text
    assert "Cơ quan đã trả lời ngày" in _said(page) and outcome in _said(page)
    assert 'name="verdict"' in page
    # The officials see it too.
    console.sign_in(raw_key(make_key("manager", WARD)))
    detail = console.get(f"/console/petitions/{petition.id}")
    assert "Kết quả giải quyết (hệ thống PAKN)" in detail.text and outcome in detail.text
    # Handled with no words at all: handled, not "answered".
    body["outcome"] = None
    assert client.post("/api/v1/petitions", json=body, headers=office.admin).status_code == 200
    bare = _said(client.get(path).text)
    assert "Cơ quan đã giải quyết ngày" in bare and "Cơ quan đã trả lời ngày" not in bare


@DEFAULT_PROFILE
def test_a_reply_written_after_the_deadline_is_not_shown_on_time_by_a_typed_time(
    office: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory, client: TestClient
) -> None:
    """Where survey feedback is in no score (the default profile), the ward typed its own
    handling time: a reply written five days after the deadline, typed as handled ten days
    ago, read on the citizen's page "answered on <ten days ago> (on time)" (audit). A
    petition with a deadline takes the handling time from the clock, as a scored one."""
    office.handover("BT-1")
    path = office.answer_on_page("BT-1", complaint=COMPLAINT)
    assert path is not None
    now = utcnow()
    with db() as session:  # the petition as it stands a month after the citizen wrote it
        row = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one()
        row.received_at = now - timedelta(days=30)
        row.deadline_at = now - timedelta(days=5)
        session.add(row)
        petition_id = row.id
    assert "Đã quá hạn trả lời" in _said(client.get(path).text)
    console.sign_in(raw_key(make_key("manager", WARD)))
    form = console.get(f"/console/petitions/{petition_id}")
    assert 'id="handled-at-fixed"' in form.text and "có hạn trả lời" in form.text
    typed = _local_input(now - timedelta(days=10))
    saved = console.post(
        f"/console/petitions/{petition_id}/reply", {"reply": "Đã xử lý.", "handled_at": typed}
    )
    assert saved.status_code == 200
    page = _said(client.get(path).text)
    assert "(trễ hạn)" in page and "(đúng hạn)" not in page
    with db() as session:
        stored = session.get(Petition, petition_id)
        assert stored is not None and stored.handled_at is not None
        assert stored.handled_at >= now - timedelta(minutes=1)


@DEFAULT_PROFILE
def test_a_typed_handling_time_past_the_calendar_is_a_form_problem_not_a_500(
    office: Office, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The typed time was compared with the stored one (converted to local time) before
    its range was checked: 9999-12-31T23:59-05:00 overflowed, a 500 (audit). A comment
    (no deadline) keeps the typed time, so the form asks for it."""
    office.handover("BT-1")
    office.answer_on_page("BT-1", complaint=COMPLAINT)
    with db() as session:
        row = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one()
        row.kind, row.deadline_at = "comment", None
        session.add(row)
        petition_id = row.id
    console.sign_in(raw_key(make_key("manager", WARD)))
    url = f"/console/petitions/{petition_id}"
    console.get(url)
    first = console.post(
        f"{url}/reply", {"reply": "Đã xử lý.", "handled_at": _local_input(utcnow())}
    )
    assert first.status_code == 200
    console.get(url)
    for typed in ("9999-12-31T23:59:00-05:00", "0001-01-01T00:10:00+05:00"):
        again = console.submit(f"{url}/reply", {"reply": "Đã xử lý lại.", "handled_at": typed})
        assert again.status_code == 422 and 'id="err-handled"' in again.text
