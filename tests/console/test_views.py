"""What a manager sees: the agency's K and group 5, staff (withheld under the minimum), the
dossiers that cost points, the complaints — and nothing of agencies outside the key's scope."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlmodel import col, select

from service.calendar.overrides import load_overrides
from service.calendar.working_days import overdue_working_days
from service.console import service as console_lists
from service.models import (
    AuditLog,
    Dossier,
    Invitation,
    PeriodInput,
    Petition,
    Response,
    ResponseContact,
    utcnow,
)
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import (
    COMPLAINT,
    OTHER_WARD,
    OTHER_WARD_NAME,
    WARD,
    WARD_NAME,
    ConsoleClient,
    Office,
    autofocused_alert,
    browser_text,
    current_period,
    fields_to_fix,
    form_fields,
    raw_key,
    seed_ward,
)


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return found.group(1).strip()


@pytest.fixture
def manager(console: ConsoleClient, office: Office, make_key: KeyFactory) -> ConsoleClient:
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", WARD)))
    return console


def test_agency_page_shows_k_components_and_group5_as_the_api_computes_them(
    manager: ConsoleClient, office: Office
) -> None:
    page = manager.get(f"/console/a/{WARD}").text
    score = office.score()
    # This quarter: 5 dossiers resolved, 4 on time → A = 4 ÷ 5 = 0,8. Evaluations: 3, all
    # "none" supplements → B = 1; attitude good, good, normal → C = 2 ÷ 3.
    assert score["a"] == 0.8 and score["b"] == 1
    # Shown by the one rule of service.numbers: two decimals at most, rounded down.
    assert text_of(page, "part-a") == "0,8"
    assert text_of(page, "part-b") == "1"
    assert text_of(page, "part-c") == "0,66"
    # No E yet → K is missing, the group says so.
    assert score["group"] == "chua_du_du_lieu"
    assert text_of(page, "k-value") == "—"
    assert text_of(page, "k-group") == "Chưa đủ dữ liệu"
    # Group 5 rate c: 5 dossiers; BT-LATE overdue → 4 ÷ 5 = 80 % (BT-1's survey complaint is
    # feedback, not a national-channel petition: it marks nothing).
    assert text_of(page, "g5-c") == "80 %"
    assert current_period() in page
    assert OTHER_WARD_NAME not in page


def test_staff_under_the_minimum_show_not_enough_answers(manager: ConsoleClient) -> None:
    page = manager.get(f"/console/a/{WARD}/staff").text
    returning = re.search(r'data-staff="CB003">(.*?)</tr>', page, re.S)
    handling = re.search(r'data-staff="CB002">(.*?)</tr>', page, re.S)
    assert returning and handling
    # CB003 returned the 3 evaluated dossiers: 3 < 5 → B and C withheld.
    assert "Chưa đủ phiếu (3/5)" in returning.group(1)
    assert "1,00" not in returning.group(1) and "0,67" not in returning.group(1)
    # CB002 handled the 5 dossiers: A = 4 ÷ 5, shown (A carries no citizen's answer).
    assert ">0,8<" in handling.group(1)


def test_late_dossiers_with_their_overdue_working_days(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    office.petition("PAKN-BT-2", dossier_code="BT-2", received_at=utcnow().isoformat())
    page = manager.get(f"/console/a/{WARD}/dossiers").text
    with db() as session:
        late = session.exec(select(Dossier).where(Dossier.code == "BT-LATE")).one()
        assert late.due_at is not None
        days = overdue_working_days(late.due_at, late.resolved_at, load_overrides(session))
    assert days >= 8  # 14 calendar days late: at least 8 working days whatever the holidays
    row = re.search(r'data-dossier="BT-LATE">(.*?)</tr>', page, re.S)
    assert row and re.search(rf'class="num overdue"[^>]*>{days}</td>', row.group(1))
    assert "0 / 1" in row.group(1) and "Trễ hẹn" in row.group(1)
    with_petition = re.search(r'data-dossier="BT-2">(.*?)</tr>', page, re.S)
    assert with_petition and "Có phản ánh" in with_petition.group(1)
    # On time, and its survey comment is no national-channel petition: costs nothing.
    assert 'data-dossier="BT-1"' not in page


def test_complaints_show_the_dossier_code_never_the_contact(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    office.handover("BT-5")
    response = office.http.post(
        f"/s/{office.tokens['BT-5']}",
        data={
            "timeliness": "late",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "unsatisfied",
            "complaint": "Trả kết quả trễ",
            "contact": "0903 123 456",
            "consent": "yes",
        },
    )
    assert response.status_code == 200
    with db() as session:
        assert session.exec(select(ResponseContact)).one().contact == "0903 123 456"
    page = manager.get(f"/console/a/{WARD}/complaints").text
    assert "Phải chờ hơn một tiếng ở quầy." in page and "Trả kết quả trễ" in page
    assert "BT-1" in page and "BT-5" in page
    assert "0903" not in page
    assert "Khiếu nại ở phường Sài Gòn" not in page  # the other ward's
    assert COMPLAINT.splitlines()[1] in page


def test_a_complaint_given_on_an_english_survey_is_read_as_english(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    """Every complaint was marked lang="vi": one written on an English survey was read out
    with Vietnamese rules (WCAG 3.1.2). It takes its survey's language; the others stay vi."""
    office.handover("BT-EN", language="en")
    office.answer_on_page("BT-EN", complaint="The queue was very long.")
    page = manager.get(f"/console/a/{WARD}/complaints").text
    assert '<p dir="auto" lang="en">The queue was very long.</p>' in page
    assert f'<p dir="auto" lang="vi">{COMPLAINT.splitlines()[0]}</p>' in page
    with db() as session:
        english = session.exec(select(Petition).where(Petition.code == "HL-BT-EN")).one()
        ours = session.exec(select(Petition).where(Petition.code == "HL-BT-1")).one()
    petition_page = manager.get(f"/console/petitions/{english.id}").text
    assert '<p dir="auto" lang="en">The queue was very long.</p>' in petition_page
    petition_page = manager.get(f"/console/petitions/{ours.id}").text
    assert f'<p dir="auto" lang="vi">{COMPLAINT.splitlines()[0]}</p>' in petition_page


def test_a_complaint_is_read_in_the_language_the_citizen_switched_to(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    """The language is the page's the citizen answered on, not the invitation's: a survey
    issued in Vietnamese and answered in English (or the other way) was marked with the
    invitation's."""
    office.handover("BT-TO-EN", language="vi")
    office.answer_on_page("BT-TO-EN", complaint="The queue was very long.", lang="en")
    office.handover("BT-TO-VI", language="en")
    office.answer_on_page("BT-TO-VI", complaint="Phải chờ quá lâu.", lang="vi")
    page = manager.get(f"/console/a/{WARD}/complaints").text
    assert '<p dir="auto" lang="en">The queue was very long.</p>' in page
    assert '<p dir="auto" lang="vi">Phải chờ quá lâu.</p>' in page
    with db() as session:
        switched = session.exec(select(Petition).where(Petition.code == "HL-BT-TO-EN")).one()
        languages = {
            code: language
            for code, language in session.exec(
                select(Dossier.code, Response.language)
                .join(Invitation, col(Invitation.dossier_id) == col(Dossier.id))
                .join(Response, col(Response.invitation_id) == col(Invitation.id))
                .where(col(Dossier.code).in_(("BT-TO-EN", "BT-TO-VI")))
            ).all()
        }
    assert languages == {"BT-TO-EN": "en", "BT-TO-VI": "vi"}
    petition_page = manager.get(f"/console/petitions/{switched.id}").text
    assert '<p dir="auto" lang="en">The queue was very long.</p>' in petition_page


def _petition_links(page: str) -> dict[str, str]:
    """Each complaint card's dossier code and the words of its link to the petition."""
    cards = re.findall(r'<li class="card">(.*?)</li>', page, re.S)
    links = {}
    for card in cards:
        code = re.search(r"<strong>(.*?)</strong>", card)
        link = re.search(r'<a [^>]*href="/console/petitions/\d+"[^>]*>(.*?)</a>', card, re.S)
        assert code and link, card
        links[code.group(1)] = link.group(1).strip()
    return links


def test_a_comment_that_asks_no_answer_is_not_offered_as_a_complaint_to_answer(
    manager: ConsoleClient, office: Office
) -> None:
    """(audit) Every survey comment's link read "Trả lời phản ánh" (answer the complaint),
    also for a comment whose writer asked for no answer (the petition page calls it "Góp
    ý (người dân không yêu cầu trả lời)"). The link says what it opens: a comment to see,
    or a complaint to answer."""
    office.handover("BT-5")
    office.handover("BT-6")
    office.answer_on_page("BT-5", complaint="Quầy số 2 đóng cửa sớm.", wants_reply="no")
    office.answer_on_page("BT-6", complaint="Trả kết quả trễ", wants_reply="yes")
    links = _petition_links(manager.get(f"/console/a/{WARD}/complaints").text)
    assert links["BT-5"] == "Xem góp ý (người dân không yêu cầu trả lời)"
    assert links["BT-6"] == "Trả lời phản ánh"


def test_another_agency_is_refused_everywhere(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    for path in ("", "/staff", "/dossiers", "/complaints", "/petitions"):
        for code in (OTHER_WARD, "79"):  # a sibling, and the parent above the key's scope
            response = manager.get(f"/console/a/{code}{path}")
            assert response.status_code == 403, (code, path)
            assert "Không có quyền truy cập" in response.text
            assert OTHER_WARD_NAME not in response.text
    with db() as session:
        theirs = session.exec(select(Petition).where(Petition.code == "HL-SG-1")).one()
    # Another agency's petition, found by its id, is missing: a 403 told that it exists.
    assert manager.get(f"/console/petitions/{theirs.id}").status_code == 404
    manager.get(f"/console/a/{WARD}/petitions")
    reply = manager.post(
        f"/console/petitions/{theirs.id}/reply",
        {"reply": "Không phải việc của phường này", "handled_at": "2030-01-01T00:00"},
    )
    assert reply.status_code == 404
    with db() as session:
        assert session.get(Petition, theirs.id).handled_at is None  # type: ignore[union-attr]
    assert manager.get("/console/a/NOPE").status_code == 404
    assert manager.get(f"/console/a/{WARD}?period=2025-Q9").status_code == 422


def test_a_city_manager_sees_its_wards(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    seed_ward(office)
    page = console.sign_in(raw_key(make_key("manager", "79")))
    assert page.url.path == "/console/a/79"
    assert WARD_NAME in page.text and OTHER_WARD_NAME in page.text  # its subordinate agencies
    assert console.get(f"/console/a/{WARD}/staff").status_code == 200


def test_inputs_d_and_e_are_saved_with_who_and_when_and_audited(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    # The competent authority: a manager of the city above the ward.
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", "79")))
    manager = console
    period = current_period()
    manager.get(f"/console/a/{WARD}?period={period}")
    bad = manager.post(
        f"/console/a/{WARD}/inputs", {"period": period, "d": "19", "e": "2", "note": ""}
    )
    assert bad.status_code == 422
    assert "Nhập một số từ 0 đến 18" in bad.text and "Chọn 0 hoặc 1." in bad.text
    saved = manager.post(
        f"/console/a/{WARD}/inputs",
        {"period": period, "d": "17,5", "e": "1", "note": "Số liệu hệ thống PAKN quốc gia"},
    )
    assert saved.status_code == 200 and "Đã lưu điểm D và E." in saved.text
    assert "Cập nhật lần cuối bởi test manager" in text_of(saved.text, "inputs-by")
    score = office.score()
    # K = A 0,8 + B 1 + C 2/3 + D 17,5 + E 1 = 20,9667 → above 20: satisfied.
    assert score["d"] == 17.5 and score["e"] == 1 and score["d_source"] == "imported"
    assert abs(score["k"] - (0.8 + 1 + 2 / 3 + 17.5 + 1)) < 1e-9
    assert text_of(saved.text, "k-value") == "20,96"  # rounded down, as on the public pages
    assert text_of(saved.text, "k-group") == "Hài lòng"
    with db() as session:
        row = session.exec(select(PeriodInput)).one()
        assert (row.d, row.e, row.set_by.endswith("test manager")) == (17.5, 1, True)
        [entry] = session.exec(select(AuditLog).where(AuditLog.action == "inputs.set")).all()
        note = "Số liệu hệ thống PAKN quốc gia"
        assert entry.detail["after"] == {"d": 17.5, "e": 1, "note": note}
    assert "D do test manager nhập lúc" in text_of(saved.text, "d-source")
    cleared = manager.submit(f"/console/a/{WARD}/inputs", {"d": ""})  # as the page shows it
    assert cleared.status_code == 200
    assert office.score()["d_source"] == "group5"  # an emptied D falls back to group 5
    assert "D tính trong hệ thống này" in text_of(cleared.text, "d-source")


@pytest.mark.parametrize("typed", ["-0", "1_0", "1e1", "+5", "\u0661\u0667"])
def test_a_d_that_is_not_a_plain_number_is_the_fields_problem(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory, typed: str
) -> None:
    """(audit) D was read with float(): "1_0" was saved as 10, "-0" as a negative zero the
    form showed back as -0, "1e1", "+5" and Arabic-Indic digits as numbers the official
    never wrote. Anything but digits with a decimal comma or point is the field's own
    problem, and nothing is saved."""
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))  # competent for the ward's D and E
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    response = console.post(
        f"/console/a/{WARD}/inputs", {"period": period, "d": typed, "e": "1", "note": ""}
    )
    assert response.status_code == 422
    assert text_of(response.text, "err-d") == "Nhập một số từ 0 đến 18, ví dụ 17,5."
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None


@pytest.mark.parametrize(("typed", "stored"), [("0", 0.0), ("18", 18.0), (" 0.25 ", 0.25)])
def test_a_plain_d_with_a_comma_or_a_point_is_saved(
    console: ConsoleClient, office: Office, make_key: KeyFactory, typed: str, stored: float
) -> None:
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    saved = console.post(f"/console/a/{WARD}/inputs", {"period": period, "d": typed, "e": ""})
    assert saved.status_code == 200 and "saved=inputs" in str(saved.url)
    assert office.score(WARD, period)["d"] == stored
    shown = D_INPUT.search(saved.text)
    assert shown and shown.group(1) == typed.strip().replace(".", ",")


def test_saving_the_form_unchanged_says_nothing_changed_not_saved(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) A D/E form sent back as it was shown wrote nothing, and the page said "Đã lưu
    điểm D và E." all the same: the official believed a change had been saved."""
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    saved = console.submit(f"/console/a/{WARD}/inputs", {"d": "17,5", "e": "1"})
    assert "saved=inputs" in str(saved.url) and "Đã lưu điểm D và E." in saved.text
    with db() as session:
        before = session.exec(select(PeriodInput)).one().set_at
    again = console.submit(f"/console/a/{WARD}/inputs", {})
    assert again.status_code == 200
    assert "Đã lưu điểm D và E." not in again.text
    assert text_of(again.text, "inputs-unchanged") == (
        "Không có thay đổi nào để lưu: D, E và ghi chú vẫn như đã lưu."
    )
    with db() as session:
        assert session.exec(select(PeriodInput)).one().set_at == before


@pytest.mark.parametrize("control", ["\x00", "\x1b"])
def test_a_note_with_a_control_character_is_a_field_problem_and_the_form_stays(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory, control: str
) -> None:
    # PostgreSQL text cannot hold NUL (the generic error page replaced the form); SQLite
    # stored it. Either way the form now comes back, filled, the note marked to fix.
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))  # competent for the ward's D and E
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    note = f"Số liệu{control} PAKN"
    response = console.post(
        f"/console/a/{WARD}/inputs", {"period": period, "d": "17,5", "e": "1", "note": note}
    )
    assert response.status_code == 422
    assert "Có ký tự điều khiển ẩn không lưu được" in text_of(response.text, "err-note")
    assert f'aria-describedby="err-note" aria-invalid="true">{note}</textarea>' in response.text
    assert 'id="d" name="d" type="text" inputmode="decimal" value="17,5"' in response.text
    assert '<option value="1" selected>' in response.text
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None


def test_a_note_as_long_as_the_textarea_allows_is_saved(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    """A browser sends each line break of the D/E note as CRLF, which the textarea's
    maxlength counts as one character: a note the form let the manager type was refused as
    too long. Its breaks are stored as one "\\n" each (audit)."""
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", "79")))  # competent for the ward's D and E
    period = current_period()
    page = console.get(f"/console/a/{WARD}?period={period}").text
    assert 'maxlength="1000"' in page
    note = browser_text(1000, 10)
    response = console.post(
        f"/console/a/{WARD}/inputs", {"period": period, "d": "17,5", "e": "1", "note": note}
    )
    assert response.status_code == 200 and "saved=inputs" in str(response.url), (
        response.status_code,
        re.findall(r'class="error"[^>]*>([^<]*)<', response.text),
    )
    with db() as session:
        assert session.exec(select(PeriodInput.note)).one() == note.replace("\r\n", "\n")


PERIOD_PICKER = re.compile(r'<form method="get" class="period-picker" action="([^"]*)"')


@pytest.mark.parametrize("agency", ["79", WARD])
def test_the_period_picker_works_on_a_refused_inputs_form(
    console: ConsoleClient, office: Office, make_key: KeyFactory, agency: str
) -> None:
    """The period picker had action="": it went to the address the page was served at, and
    the agency page shown again for a refused D/E form is served at the form's POST address,
    which answers no GET: choosing another period was a 405 (audit). Refused as a problem
    (the competent authority) or as not competent (the ward's own manager)."""
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", agency)))
    for tab in ("", "/staff", "/dossiers", "/complaints", "/response-rates"):
        shown = PERIOD_PICKER.search(console.get(f"/console/a/{WARD}{tab}").text)
        assert shown and shown.group(1) == f"/console/a/{WARD}{tab}", tab  # its own page
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    refused = console.post(
        f"/console/a/{WARD}/inputs", {"period": period, "d": "nineteen", "e": "", "note": ""}
    )
    assert refused.status_code in (403, 422)
    found = PERIOD_PICKER.search(refused.text)
    assert found, "the page has no period picker"
    # What a browser does when "Xem" is pressed: a GET of the action, with ?period=.
    target = refused.url.join(found.group(1)).copy_with(query=None)
    chosen = console.get(str(target.copy_merge_params({"period": "2025-Q1"})))
    assert chosen.status_code == 200, (chosen.status_code, str(chosen.url))
    assert chosen.url.path == f"/console/a/{WARD}"
    assert "2025-Q1" in chosen.text


def test_a_refused_d_and_e_form_opens_on_its_problems(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    """After a refused form the page opened with the focus on <body>: a keyboard or screen
    reader user started again from the top, far from the errors (pages audit). The summary
    of the problems now takes the focus, as on the survey page; for the ward's own manager,
    the sentence saying who enters D and E does."""
    office.handover("BT-1")
    period = current_period()
    console.sign_in(raw_key(make_key("manager", "79")))  # competent for the ward's D and E
    page = console.get(f"/console/a/{WARD}?period={period}")
    assert "autofocus" not in page.text
    bad = console.post(f"/console/a/{WARD}/inputs", {"period": period, "d": "abc", "e": ""})
    assert bad.status_code == 422
    assert autofocused_alert(bad.text) == "inputs-problems"
    # Each field to fix is named, and a link to it: "the marked fields" relied on seeing
    # the marks (accessibility audit).
    assert fields_to_fix(bad.text, "inputs-problems") == [("d", "Điểm D")]
    assert 'id="d" name="d"' in bad.text

    console.sign_in(raw_key(make_key("manager", WARD)))
    console.get(f"/console/a/{WARD}?period={period}")
    refused = console.post(f"/console/a/{WARD}/inputs", {"period": period, "d": "18", "e": "1"})
    assert refused.status_code == 403
    assert autofocused_alert(refused.text) == "inputs-refused"


def test_the_wards_own_manager_reads_d_and_e_but_cannot_set_them(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", WARD)))
    manager = console
    period = current_period()
    page = manager.get(f"/console/a/{WARD}?period={period}")
    assert "cán bộ quản lý của đơn vị cấp trên" in text_of(page.text, "inputs-refused")
    assert f'action="/console/a/{WARD}/inputs"' not in page.text  # no form to fill
    refused = manager.post(f"/console/a/{WARD}/inputs", {"period": period, "d": "18", "e": "1"})
    assert refused.status_code == 403
    assert "Ông/bà xem được điểm nhưng không nhập được." in refused.text
    assert office.score()["d_source"] != "imported" and office.score()["e"] is None
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None


def test_history_lists_the_chosen_period_and_the_three_before(manager: ConsoleClient) -> None:
    page = manager.get(f"/console/a/{WARD}?period=2025-Q3").text
    table = re.search(r'<table id="history"[^>]*>(.*?)</table>', page, re.S)
    assert table
    assert re.findall(r"\?period=(\d{4}-Q\d)", table.group(1)) == [
        "2025-Q3",
        "2025-Q2",
        "2025-Q1",
        "2024-Q4",
    ]


def test_a_survey_comment_is_labelled_and_said_not_to_count(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    """Under the default profile a survey comment is feedback: the inbox says so."""
    office.handover("BT-THANKS")
    office.answer_on_page("BT-THANKS", complaint="Cảm ơn cán bộ!", wants_reply="no")
    with db() as session:
        item = session.exec(select(Petition).where(Petition.code == "HL-BT-THANKS")).one()
    page = manager.get(f"/console/petitions/{item.id}").text
    assert 'id="kind">Góp ý (người dân không yêu cầu trả lời)<' in page
    assert "Không: chỉ phản ánh qua hệ thống PAKN quốc gia được tính" in page
    inbox = manager.get(f"/console/a/{WARD}/petitions?show=all").text
    row = re.search(r'data-petition="HL-BT-THANKS">(.*?)</tr>', inbox, re.S)
    assert row and "góp ý" in row.group(1)


def test_a_quarter_with_a_thin_month_names_it_instead_of_b_and_c(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    """Five answers in July and one in August: the quarter's C less July's gave August's
    one answer (audit)."""
    for n, day in enumerate(["2025-07-07", "2025-07-08", "2025-07-09", "2025-07-10",
                             "2025-07-11", "2025-08-20"]):  # fmt: skip
        office.handover(
            f"TM-{n}",
            received_at=f"{day}T08:00:00+07:00",
            due_at=f"{day}T17:00:00+07:00",
            resolved_at=f"{day}T09:00:00+07:00",
        )
        answer = {
            "token": office.tokens[f"TM-{n}"],
            "submitted_at": f"{day}T15:00:00+07:00",
            "answers": {"supplement_requests": "none", "staff_attitude": "good"},
        }
        posted = office.http.post("/api/v1/responses", json=answer, headers=office.admin)
        assert posted.status_code == 201, posted.text
    console.sign_in(raw_key(make_key("manager", WARD)))
    shown_in = {
        "2025-07": 'data-label="C">1</td>',
        "2025-Q3": "Ẩn: tháng 2025-08 chưa đủ 5 phiếu cho B hoặc C",
    }
    for period, shown in shown_in.items():
        page = console.get(f"/console/a/{WARD}/staff?period={period}").text
        returning = re.search(r'data-staff="CB003">(.*?)</tr>', page, re.S)
        assert returning and shown in returning.group(1), period


D_INPUT = re.compile(r'<input id="d" name="d"[^>]*value="([^"]*)"')
NOTE_TEXT = re.compile(r'<textarea id="note"[^>]*>([^<]*)</textarea>')


def _save_e_only(console: ConsoleClient, period: str) -> None:
    """What a browser sends when the official only picks E = 1 and saves: every other
    field as the page filled it in."""
    page = console.get(f"/console/a/{WARD}?period={period}")
    shown_d, note = D_INPUT.search(page.text), NOTE_TEXT.search(page.text)
    assert shown_d is not None and note is not None
    form = {"period": period, "d": shown_d.group(1), "e": "1", "note": note.group(1)}
    saved = console.post(f"/console/a/{WARD}/inputs", form)
    assert saved.status_code == 200 and "saved=inputs" in str(saved.url)


@pytest.mark.parametrize("imported", [17.333333, 17.5, 0.1 + 0.2, 0.00001])
def test_saving_e_keeps_the_imported_d_and_who_entered_it(
    console: ConsoleClient, office: Office, make_key: KeyFactory, imported: float
) -> None:
    """The form showed D rounded to two places and sent it back whenever E was saved: an
    imported 17.333333 became 17.33, and D was stamped as entered by the official who only
    picked E (console audit). (audit) A D of 0.00001 was shown as 1e-05, which the field
    takes as no number: it is shown in plain digits."""
    period = current_period()
    put = office.http.put(
        f"/api/v1/agencies/{WARD}/periods/{period}/inputs",
        json={"d": imported},
        headers=office.admin,
    )
    assert put.status_code == 200, put.text
    importer = put.json()["inputs"]["d"]
    console.sign_in(raw_key(make_key("manager", "79")))  # competent: the city above the ward
    _save_e_only(console, period)
    score = office.score(WARD, period)
    assert (score["d"], score["e"]) == (imported, 1)
    assert score["inputs"]["d"] == importer
    assert score["inputs"]["e"]["set_by"] != importer["set_by"]  # E is the manager's


def _put_inputs(office: Office, period: str, **values: object) -> dict[str, Any]:
    """The API's write of the period's inputs (the petition system's import of D)."""
    put = office.http.put(
        f"/api/v1/agencies/{WARD}/periods/{period}/inputs", json=values, headers=office.admin
    )
    assert put.status_code == 200, put.text
    body: dict[str, Any] = put.json()
    return body


def test_saving_e_in_the_console_does_not_undo_a_d_imported_meanwhile(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    """(audit) The D/E form sent D back whenever E was saved: a D imported through the API
    while an official had the page open was put back to the page's stale D, and the score
    said the official had entered it. A field sent as the page showed it is not written."""
    period = "2025-Q3"
    _put_inputs(office, period, d=10, note="Nhập từ hệ thống PAKN")
    console.sign_in(raw_key(make_key("manager", "79")))  # competent: the city above the ward
    page = console.get(f"/console/a/{WARD}?period={period}")
    shown = D_INPUT.search(page.text)
    assert shown and shown.group(1) == "10"

    # Meanwhile the petition system's import sets D to 12.
    imported = _put_inputs(office, period, d=12)["inputs"]["d"]

    # The official picks E = 1 and saves the form as the browser sends it (D as shown).
    saved = console.submit(f"/console/a/{WARD}/inputs", {"e": "1"})
    assert saved.status_code == 200 and "saved=inputs" in str(saved.url), saved.text
    score = office.score(WARD, period)
    assert (score["d"], score["e"]) == (12, 1)  # the imported D, not the page's stale 10
    assert score["inputs"]["d"] == imported  # and still the import's, not the official's
    assert D_INPUT.search(saved.text).group(1) == "12"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "meanwhile", "typed", "current", "stored"),
    [
        ("d", 12, "15", "12", 15),
        ("e", 0, "", "0", None),  # E shown 1, set to 0 meanwhile; the official empties it
        ("note", "Theo công văn 12", "Khác", "Theo công văn 12", "Khác"),
    ],
)
def test_a_field_changed_meanwhile_and_by_the_official_is_a_conflict_not_overwritten(
    console: ConsoleClient,
    office: Office,
    make_key: KeyFactory,
    db: DbFactory,
    field: str,
    meanwhile: object,
    typed: str,
    current: str,
    stored: object,
) -> None:
    """An official changes a field whose stored value someone else changed after the page
    was shown: nothing is saved (409), the form comes back with the official's value, a
    sentence saying the field was changed meanwhile and its value now; saving that page
    again replaces it knowingly. A POST without what the page showed cannot replace it."""
    period = "2025-Q3"
    _put_inputs(office, period, d=10, e=1, note="Nhập từ hệ thống PAKN")
    console.sign_in(raw_key(make_key("manager", "79")))
    console.get(f"/console/a/{WARD}?period={period}")
    _put_inputs(office, period, **{field: meanwhile})
    action = f"/console/a/{WARD}/inputs"

    refused = console.submit(action, {field: typed})
    assert refused.status_code == 409
    assert autofocused_alert(refused.text) == "inputs-conflict"
    assert text_of(refused.text, "inputs-conflict").startswith(
        "Trong lúc ông/bà sửa, người khác đã thay đổi số liệu này. Chưa lưu gì"
    )
    assert text_of(refused.text, f"err-{field}") == (
        "Người khác đã đổi ô này trong lúc ông/bà sửa. Giá trị hiện tại: "
        f"{current}. Lưu lại sẽ thay bằng giá trị ông/bà nhập."
    )
    again = form_fields(refused.text, action)
    assert (again[field], again[f"shown_{field}"]) == (typed, current)
    with db() as session:
        row = session.exec(select(PeriodInput)).one()
        assert getattr(row, field) == meanwhile  # nothing of the form was saved
        assert not row.set_by.endswith("test manager")

    # A form without what the page showed (a page from before, a hand-made POST) replaces
    # nothing either: it never saw the value it would replace (read as shown empty, it
    # cannot empty a field at all).
    bare = {"period": period, "d": "10", "e": "1", "note": "Nhập từ hệ thống PAKN", field: typed}
    assert console.post(action, bare).status_code == (409 if typed else 200)
    with db() as session:
        assert getattr(session.exec(select(PeriodInput)).one(), field) == meanwhile

    # Shown the value now, the official saves the refused page again: theirs replaces it.
    saved = console.post(action, again)
    assert saved.status_code == 200 and "saved=inputs" in str(saved.url)
    with db() as session:
        row = session.exec(select(PeriodInput)).one()
        assert getattr(row, field) == stored


def test_a_period_not_begun_offers_no_d_and_e_form_and_a_post_for_it_says_why(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    """D and E are a period's results: the API refuses them for a period still to come,
    but the console offered the form for one typed in the address, and saving it gave a
    bare error page with the API's English sentence (audit)."""
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))  # competent for the ward's D and E
    period = "2099-Q4"
    page = console.get(f"/console/a/{WARD}?period={period}")
    assert page.status_code == 200
    assert f'action="/console/a/{WARD}/inputs"' not in page.text  # no form to fill
    assert text_of(page.text, "inputs-unbegun") == (
        "Kỳ 2099-Q4 chưa bắt đầu (bắt đầu ngày 01/10/2099): điểm D và E của kỳ được nhập "
        "khi kỳ đã bắt đầu."
    )
    assert "autofocus" not in page.text
    # A page left open, or a hand-made post: the agency page again, saying why, nothing saved.
    refused = console.post(f"/console/a/{WARD}/inputs", {"period": period, "d": "18", "e": "1"})
    assert refused.status_code == 422
    assert autofocused_alert(refused.text) == "inputs-unbegun"
    assert "has not begun" not in refused.text
    with db() as session:
        assert session.exec(select(PeriodInput)).first() is None
    # The current period still takes them.
    current = console.get(f"/console/a/{WARD}?period={current_period()}")
    assert f'action="/console/a/{WARD}/inputs"' in current.text
    assert 'id="inputs-unbegun"' not in current.text


def test_costly_dossiers_and_complaints_page_through_every_row(
    manager: ConsoleClient, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(console audit) Both tabs showed their first 200 rows with no way to the rest. The
    limit is lowered to 1 so that the ward's seed makes several pages."""
    monkeypatch.setattr(console_lists, "LIST_LIMIT", 1)
    office.petition("PAKN-BT-2", dossier_code="BT-2", received_at=utcnow().isoformat())
    office.answer_on_page("BT-4", complaint="Quầy đông, phải chờ lâu.")
    for tab, item in (
        ("dossiers", r'data-dossier="([^"]+)"'),
        ("complaints", r"<strong>(.*?)</strong>"),
    ):
        url = f"/console/a/{WARD}/{tab}"
        seen: list[str] = []
        page = manager.get(url)
        assert 'id="previous"' not in page.text
        while True:
            assert page.status_code == 200
            found = re.findall(item, page.text)
            assert len(found) == 1, (tab, found)
            seen += found
            following = re.search(r'<a href="\?([^"]+)" id="next"', page.text)
            if following is None:
                break
            page = manager.get(f"{url}?{following.group(1).replace('&amp;', '&')}")
            assert 'id="previous"' in page.text and "period=" in following.group(1)
        total = re.search(r"(\d+) (?:hồ sơ|góp ý)", manager.get(url).text)
        assert total and len(seen) == int(total.group(1)) >= 2, (tab, seen)
        assert len(set(seen)) == len(seen), seen


def _language_link(html: str) -> str:
    """Where the page's link to the other language returns to (its `next`)."""
    found = re.search(r'href="/console/lang/en\?next=([^"]*)"', html)
    assert found, "no English link on the page"
    return unquote(unescape(found.group(1)))


def test_the_language_link_keeps_the_period_of_a_refused_form_and_drops_a_saved_notice(
    console: ConsoleClient, office: Office, make_key: KeyFactory
) -> None:
    """(console audit) On the page answering a refused D and E of a past quarter, the link
    to English led to the current quarter; on a page with "saved", the notice was told
    again in the other language."""
    office.handover("BT-1")
    console.sign_in(raw_key(make_key("manager", "79")))
    console.get(f"/console/a/{WARD}?period=2025-Q3")
    refused = console.post(
        f"/console/a/{WARD}/inputs", {"period": "2025-Q3", "d": "abc", "e": "1", "note": ""}
    )
    assert refused.status_code == 422
    assert _language_link(refused.text) == f"/console/a/{WARD}?period=2025-Q3"
    period = current_period()
    console.get(f"/console/a/{WARD}?period={period}")
    saved = console.post(f"/console/a/{WARD}/inputs", {"period": period, "d": "17", "e": ""})
    assert saved.status_code == 200 and "saved=inputs" in str(saved.url)
    assert _language_link(saved.text) == f"/console/a/{WARD}?period={period}"


@pytest.mark.usefixtures("agencies")
def test_the_language_link_of_a_refused_form_keeps_its_page_s_own_query(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    """(review) The period was added after the page's own query with a second "?": an
    alerts rule form led to /console/alerts?agency=79.BTH?period=..., no such agency."""
    console.sign_in(raw_key(make_key("manager", WARD)))
    console.get(f"/console/alerts?agency={WARD}")
    refused = console.post(
        f"/console/alerts/{WARD}/rules/k_below_threshold",
        {"enabled": "on", "threshold": "abc", "period": "2025-Q3"},
    )
    assert refused.status_code == 422
    link = _language_link(refused.text)
    assert link.count("?") == 1, link
    assert parse_qs(urlsplit(link).query).get("agency") == [WARD], link
