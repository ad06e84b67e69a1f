"""The petitions inbox: deadlines in working days, overdue first; the manager's reply and
handling time move group 5, emit petition.updated (without the reply's text) and are audited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from service.calendar.working_days import LOCAL_TZ as LOCAL
from service.console import petitions as console_petitions
from service.console.petitions import timing
from service.models import AuditLog, OutboxEvent, Petition, utcnow
from service.petitions.service import REPLY_MAX_CHARS
from service.settings import Settings
from service.templating import make_templates
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import (
    WARD,
    ConsoleClient,
    Office,
    autofocused_alert,
    browser_text,
    counting_survey_petitions,
    fields_to_fix,
    form_fields,
    raw_key,
    seed_ward,
)

VN = "+07:00"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """This province counts survey comments asking for an answer as petitions, so that the
    inbox's replies and verdicts move group 5 (by default they do not: see
    tests/scoring/test_feedback_and_aging.py)."""
    return counting_survey_petitions(database_url, tmp_path)


def petition(db: DbFactory, code: str) -> Petition:
    with db() as session:
        return session.exec(select(Petition).where(Petition.code == code)).one()


@pytest.fixture
def manager(console: ConsoleClient, office: Office, make_key: KeyFactory) -> ConsoleClient:
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", WARD)))
    return console


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def local_field(moment: datetime) -> str:
    """What an official types into the reply's datetime-local field: the office's clock
    (the console reads it as Vietnam time; a UTC text was seven hours earlier)."""
    return moment.astimezone(LOCAL).strftime("%Y-%m-%dT%H:%M")


def test_deadline_in_working_days_across_a_weekend_and_national_day() -> None:
    # Deadline Wed 3/9/2025 (end of day). Mon 1/9 and Tue 2/9 are National Day holidays.
    row = Petition(
        code="P",
        agency_id=1,
        source="import",
        received_at=at(f"2025-08-11T09:00:00{VN}"),
        received_day=at(f"2025-08-11T09:00:00{VN}").date(),
        deadline_at=at(f"2025-09-03T23:59:59{VN}"),
    )
    no_overrides: dict[object, bool] = {}
    # Thu 28/8: working days left after today up to 3/9: Fri 29/8, Wed 3/9 → 2.
    assert timing(row, at(f"2025-08-28T10:00:00{VN}"), no_overrides).days == 2  # type: ignore[arg-type]
    assert timing(row, at(f"2025-09-03T08:00:00{VN}"), {}).state == "due_today"
    # Mon 8/9: past the deadline by Thu 4, Fri 5, Mon 8 → 3 working days.
    late = timing(row, at(f"2025-09-08T10:00:00{VN}"), {})
    assert (late.state, late.days) == ("overdue", 3)
    row.handled_at = at(f"2025-09-02T10:00:00{VN}")
    assert timing(row, at(f"2025-09-08T10:00:00{VN}"), {}).state == "on_time"
    row.handled_at = at(f"2025-09-05T10:00:00{VN}")  # Thu 4, Fri 5 → 2 days late
    handled = timing(row, at(f"2025-09-08T10:00:00{VN}"), {})
    assert (handled.state, handled.days) == ("late", 2)


def test_inbox_puts_overdue_first_then_the_nearest_deadline(
    manager: ConsoleClient, office: Office
) -> None:
    now = utcnow()
    office.petition(
        "PAKN-LATER",
        received_at=(now - timedelta(days=1)).isoformat(),
        deadline_at=(now + timedelta(days=60)).isoformat(),
    )
    office.petition(
        "PAKN-DONE",
        received_at=(now - timedelta(days=5)).isoformat(),
        handled_at=(now - timedelta(days=1)).isoformat(),
        deadline_at=(now + timedelta(days=1)).isoformat(),
    )
    page = manager.get(f"/console/a/{WARD}/petitions").text
    order = re.findall(r'data-petition="([^"]+)"', page)
    # HL-BT-1: the survey complaint, deadline 15 working days from today.
    assert order == ["PAKN-OVERDUE", "HL-BT-1", "PAKN-LATER"]
    assert "3 phản ánh chưa trả lời, trong đó 1 đã quá hạn." in page
    overdue = re.search(r'data-petition="PAKN-OVERDUE">(.*?)</tr>', page, re.S)
    assert overdue and "Quá hạn" in overdue.group(1)
    fresh = re.search(r'data-petition="HL-BT-1">(.*?)</tr>', page, re.S)
    assert fresh and "Còn 15 ngày làm việc" in fresh.group(1)
    handled = manager.get(f"/console/a/{WARD}/petitions?show=handled").text
    assert re.findall(r'data-petition="([^"]+)"', handled) == ["PAKN-DONE"]
    assert "Đã trả lời đúng hạn" in handled
    everything = manager.get(f"/console/a/{WARD}/petitions?show=all").text
    assert re.findall(r'data-petition="([^"]+)"', everything)[-1] == "PAKN-DONE"


def test_comments_asking_no_answer_are_not_counted_as_unanswered_petitions(
    manager: ConsoleClient, office: Office
) -> None:
    """A thank-you note (a góp ý, no answer asked) is filed in the inbox, but the summary
    counted it among the "phản ánh chưa trả lời" (petitions not answered), for ever: a
    comment is not a petition (DESIGN). (audit)"""
    office.answer_on_page("BT-4", complaint="Cảm ơn cán bộ rất nhiệt tình.", wants_reply="no")
    page = manager.get(f"/console/a/{WARD}/petitions").text
    every = manager.get(f"/console/a/{WARD}/petitions?show=all").text
    assert "HL-BT-4" in re.findall(r'data-petition="([^"]+)"', every)  # still filed
    # PAKN-OVERDUE and HL-BT-1 (seed_ward), not the comment.
    assert "2 phản ánh chưa trả lời, trong đó 1 đã quá hạn." in page


def test_the_agency_can_still_reply_to_a_petition_whose_import_carried_a_verdict(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    """An import gave a verdict to a petition not yet handled (201); the ward's reply in
    the console was then refused as "already judged" (409), and the petition could only
    turn late. The import is refused instead; the verdict comes after the reply. (audit)"""
    received = (utcnow() - timedelta(days=1)).isoformat()
    body = {"petition_code": "PAKN-V", "agency_code": WARD, "received_at": received}
    refused = office.http.post(
        "/api/v1/petitions", json={**body, "citizen_verdict": "satisfied"}, headers=office.admin
    )
    assert refused.status_code == 422, refused.text
    office.petition("PAKN-V", received_at=received)
    target = petition(db, "PAKN-V")
    manager.get(f"/console/petitions/{target.id}")
    answered = manager.post(f"/console/petitions/{target.id}/reply", {"reply": "Đã giải quyết."})
    assert answered.status_code == 200, answered.text[:2000]
    assert petition(db, "PAKN-V").handled_at is not None
    office.petition("PAKN-V", received_at=received, citizen_verdict="satisfied")
    assert petition(db, "PAKN-V").citizen_verdict == "satisfied"


def test_reply_before_the_deadline_counts_on_time_and_emits_petition_updated(
    manager: ConsoleClient, office: Office, db: DbFactory
) -> None:
    # This quarter's petitions: HL-BT-1 (today), and PAKN-OVERDUE if its receipt 40 days
    # ago falls in this quarter too. Neither is handled: HL-BT-1 is within its deadline (not
    # scored yet), PAKN-OVERDUE past it (late): rate a = 0, or none without PAKN-OVERDUE.
    assert office.score()["group5"]["petitions_on_time_rate"] in (0, None)
    in_quarter = office.score()["counts"]["petitions"]
    target = petition(db, "HL-BT-1")
    page = manager.get(f"/console/petitions/{target.id}")
    assert "Phải chờ hơn một tiếng ở quầy." in page.text
    # The citizen asked for an answer, and this province counts such survey petitions.
    assert 'id="kind">Phản ánh (cần trả lời)<' in page.text
    assert 'id="counts-in-group5">Có<' in page.text
    # The ward's own reply to a petition of its group 5: handled when it is saved.
    assert 'name="handled_at"' not in page.text
    assert "Thời điểm giải quyết xong: lúc lưu câu trả lời." in page.text
    saved = manager.post(
        f"/console/petitions/{target.id}/reply",
        {"reply": "Phường đã nhắc nhở cán bộ.\nXin lỗi ông/bà."},
    )
    assert saved.status_code == 200 and "Đã lưu câu trả lời." in saved.text
    assert "Đã trả lời đúng hạn" in saved.text
    stored = petition(db, "HL-BT-1")
    assert stored.reply == "Phường đã nhắc nhở cán bộ.\nXin lỗi ông/bà."
    assert stored.handled_at is not None and stored.replied_by is not None
    assert stored.replied_by.endswith("test manager")
    assert stored.deadline_at is not None and stored.handled_at <= stored.deadline_at
    assert abs(stored.handled_at - utcnow()) < timedelta(minutes=2)
    # Group 5 a: HL-BT-1 on time → 1 ÷ 1 = 100 %, or 1 ÷ 2 = 50 % beside PAKN-OVERDUE.
    assert office.score()["group5"]["petitions_on_time_rate"] == 1 / in_quarter
    with db() as session:
        events = session.exec(
            select(OutboxEvent)
            .where(OutboxEvent.type == "petition.updated")
            .order_by(col(OutboxEvent.id))
        ).all()
        [entry] = session.exec(select(AuditLog).where(AuditLog.action == "petition.reply")).all()
    [event] = [e for e in events if e.payload["petition_code"] == "HL-BT-1"]
    assert event.payload["handled_on_time"] is True
    assert "nhắc nhở" not in str(event.payload)  # free text never leaves in a webhook
    assert entry.target == "petition:HL-BT-1" and entry.detail["on_time"] is True


def page_value(html: str) -> str:
    found = re.search(r'name="handled_at" type="datetime-local" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.fixture
def city_manager(console: ConsoleClient, office: Office, make_key: KeyFactory) -> ConsoleClient:
    """A manager of the city above the ward: the competent authority, who may record the
    time a petition was handled."""
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", "79")))
    return console


def test_the_wards_own_reply_cannot_backdate_its_handling(
    manager: ConsoleClient, db: DbFactory, office: Office
) -> None:
    """A typed handling time let the ward turn its own overdue petition into one handled on
    time, and so raise its group 5 and D (console audit). Its reply is handled when saved;
    an update keeps the handling first recorded."""
    overdue = petition(db, "PAKN-OVERDUE")
    assert overdue.deadline_at is not None
    before_deadline = local_field(overdue.deadline_at - timedelta(days=1))
    form = {"reply": "Đã giải quyết.", "handled_at": before_deadline}  # sent by hand
    assert manager.post(f"/console/petitions/{overdue.id}/reply", form).status_code == 200
    stored = petition(db, "PAKN-OVERDUE")
    assert stored.handled_at is not None and abs(stored.handled_at - utcnow()) < timedelta(
        minutes=2
    )
    assert stored.handled_on_time is False
    updated = {"reply": "Đã giải quyết, bổ sung.", "handled_at": before_deadline}
    # From the page the first reply led to: it shows that reply, so it may replace it.
    assert manager.submit(f"/console/petitions/{overdue.id}/reply", updated).status_code == 200
    assert petition(db, "PAKN-OVERDUE").handled_at == stored.handled_at
    page = manager.get(f"/console/petitions/{overdue.id}").text
    assert 'id="handled-at-fixed"' in page and "giữ nguyên khi cập nhật" in page


def test_the_competent_authority_records_an_earlier_handling(
    city_manager: ConsoleClient, db: DbFactory
) -> None:
    overdue = petition(db, "PAKN-OVERDUE")
    assert overdue.deadline_at is not None
    page = city_manager.get(f"/console/petitions/{overdue.id}").text
    assert 'name="handled_at"' in page and 'id="handled-at-fixed"' not in page
    when = overdue.deadline_at - timedelta(days=1)
    form = {"reply": "Đã giải quyết.", "handled_at": local_field(when)}
    assert city_manager.post(f"/console/petitions/{overdue.id}/reply", form).status_code == 200
    assert petition(db, "PAKN-OVERDUE").handled_on_time is True


def test_reply_form_problems_are_shown_and_nothing_changes(
    city_manager: ConsoleClient, db: DbFactory
) -> None:
    manager = city_manager  # who may type the handling time (the ward's own may not)
    target = petition(db, "HL-BT-1")
    manager.get(f"/console/petitions/{target.id}")
    for form, message, to_fix in (
        (
            {"reply": "  ", "handled_at": "2099-01-01T09:00"},
            "Vui lòng viết câu trả lời.",
            ["reply", "handled_at"],
        ),
        (
            {"reply": "Đã xử lý", "handled_at": "2001-01-01T09:00"},
            "trước khi tiếp nhận",
            ["handled_at"],
        ),
        (
            {"reply": "Đã xử lý", "handled_at": "2099-01-01T09:00"},
            "Thời điểm này chưa tới.",
            ["handled_at"],
        ),
        ({"reply": "Đã xử lý", "handled_at": "hôm qua"}, "Nhập ngày giờ", ["handled_at"]),
    ):
        response = manager.post(f"/console/petitions/{target.id}/reply", form)
        assert response.status_code == 422, form
        assert message in response.text
        # The page opens on the summary of the problems, not at its top (pages audit).
        assert autofocused_alert(response.text) == "reply-problems"
        # The summary names each field to fix, as a link to it (accessibility audit).
        listed = [field for field, _ in fields_to_fix(response.text, "reply-problems")]
        assert listed == to_fix, form
    refused = manager.post(
        f"/console/petitions/{target.id}/reply",
        {
            "reply": "Đã xử lý",
            "handled_at": page_value(manager.get(f"/console/petitions/{target.id}").text),
        },
        csrf="",
    )
    assert refused.status_code == 403 and "Biểu mẫu không hợp lệ" in refused.text
    unchanged = petition(db, "HL-BT-1")
    assert unchanged.handled_at is None and unchanged.reply is None


UNSTORABLE = "Có ký tự điều khiển ẩn không lưu được"


@pytest.mark.parametrize("control", ["\x00", "\x1b"])
def test_a_reply_with_a_control_character_is_a_field_problem_and_the_typed_text_stays(
    manager: ConsoleClient, db: DbFactory, control: str
) -> None:
    # PostgreSQL text cannot hold NUL (the generic error page replaced the form); SQLite
    # stored it, and the citizen read it. Either way the manager now sees the form again.
    target = petition(db, "HL-BT-1")
    manager.get(f"/console/petitions/{target.id}")
    typed = f"Phường đã xử lý{control} xong."
    response = manager.post(f"/console/petitions/{target.id}/reply", {"reply": typed})
    assert response.status_code == 422
    assert re.search(rf'<p class="error" id="err-reply">{UNSTORABLE}', response.text)
    # What the manager typed, kept, in the field marked as the one to fix.
    assert f'aria-describedby="err-reply" aria-invalid="true">{typed}</textarea>' in response.text
    unchanged = petition(db, "HL-BT-1")
    assert unchanged.reply is None and unchanged.handled_at is None


def test_a_reply_as_long_as_the_textarea_allows_is_saved(
    manager: ConsoleClient, db: DbFactory
) -> None:
    """A browser sends each line break of the reply as CRLF, which the textarea's maxlength
    counts as one character: a reply the form let the manager type was refused as too long.
    Its breaks are stored as one "\\n" each (audit)."""
    target = petition(db, "PAKN-OVERDUE")
    page = manager.get(f"/console/petitions/{target.id}").text
    assert f'maxlength="{REPLY_MAX_CHARS}"' in page
    reply = browser_text(REPLY_MAX_CHARS, 20)
    response = manager.post(f"/console/petitions/{target.id}/reply", {"reply": reply})
    assert response.status_code == 200 and "saved=reply" in str(response.url), (
        response.status_code,
        re.findall(r'class="error"[^>]*>([^<]*)<', response.text),
    )
    assert petition(db, "PAKN-OVERDUE").reply == reply.replace("\r\n", "\n")


def test_signed_out_post_changes_nothing(
    another_console: ConsoleClient, db: DbFactory, office: Office
) -> None:
    seed_ward(office)
    target = petition(db, "HL-BT-1")
    response = another_console.client.post(
        f"/console/petitions/{target.id}/reply",
        data={"reply": "x", "handled_at": "2030-01-01T00:00", "csrf": "x"},
        follow_redirects=False,
    )
    assert response.status_code == 403  # no session, so no CSRF token can match
    assert petition(db, "HL-BT-1").handled_at is None


def test_editing_only_the_replys_words_keeps_the_handling_time_to_the_second(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    """The form shows the stored handling time to the minute, and saving it (only the
    reply's words edited) wrote that minute back: a petition handled 30 s after its
    deadline became one handled on time, D in group 5 with it (console audit)."""
    deadline = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    handled = deadline + timedelta(seconds=30)  # late, by half a minute
    office.petition(
        "PAKN-LATE",
        received_at=(deadline - timedelta(days=20)).isoformat(),
        deadline_at=deadline.isoformat(),
        handled_at=handled.isoformat(),
    )
    with db() as session:
        row = session.exec(select(Petition).where(Petition.code == "PAKN-LATE")).one()
        assert row.handled_on_time is False
        petition_id = row.id
    console.sign_in(raw_key(make_key("manager", "79")))  # the competent authority
    page = console.get(f"/console/petitions/{petition_id}")
    shown = re.search(
        r'id="handled_at" name="handled_at" type="datetime-local" value="([^"]+)"', page.text
    )
    assert shown, page.text
    saved = console.post(
        f"/console/petitions/{petition_id}/reply",
        {"reply": "Trả lời công dân (chỉ sửa câu chữ)", "handled_at": shown.group(1)},
    )
    assert saved.status_code == 200 and "saved=reply" in str(saved.url)
    with db() as session:
        row = session.exec(select(Petition).where(Petition.code == "PAKN-LATE")).one()
    assert (row.handled_at, row.handled_on_time) == (handled, False)
    assert row.reply == "Trả lời công dân (chỉ sửa câu chữ)"
    # Another minute typed is another time, taken as typed.
    saved = console.submit(
        f"/console/petitions/{petition_id}/reply",
        {
            "reply": "Trả lời",
            "handled_at": (deadline - timedelta(minutes=1))
            .astimezone(LOCAL)
            .strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert saved.status_code == 200 and "saved=reply" in str(saved.url)
    with db() as session:
        row = session.exec(select(Petition).where(Petition.code == "PAKN-LATE")).one()
    assert (row.handled_at, row.handled_on_time) == (deadline - timedelta(minutes=1), True)


def test_a_form_past_the_limit_is_refused_as_too_long_not_as_forged(
    manager: ConsoleClient, db: DbFactory
) -> None:
    """A console form over 64 KB was read as a field no form accepts, so it failed the CSRF
    check: "the form is out of date, open the page again", which failed the same way
    (console audit). A letter pasted whole past the field's maxlength: 413, said as such."""
    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "PAKN-OVERDUE")).one()
    letter = "Kính gửi công dân, ủy ban đã xử lý phản ánh của ông bà. " * 1500
    sent = manager.post(f"/console/petitions/{petition.id}/reply", {"reply": letter})
    assert sent.status_code == 413
    assert "Biểu mẫu quá dài" in sent.text and "shorten the text" in sent.text
    assert "Biểu mẫu đã cũ" not in sent.text
    with db() as session:
        assert session.get(Petition, petition.id).reply is None  # type: ignore[union-attr]


def test_a_reply_late_by_hours_reads_late_not_zero_days() -> None:
    """Answered hours after the deadline (the same day, or over the days off after it) is
    late, as the score counts it, but read "Đã trả lời trễ 0 ngày làm việc" (reports
    audit): late all the same, by less than a working day."""
    macros = make_templates().env.get_template("console/macros.html").module
    friday_end = datetime(2025, 10, 3, 23, 59, tzinfo=LOCAL)
    row = Petition(
        code="P-HOURS",
        agency_id=1,
        source="import",
        received_at=friday_end - timedelta(days=20),
        received_day=(friday_end - timedelta(days=20)).date(),
        deadline_at=friday_end,
        handled_at=friday_end + timedelta(hours=5),
    )
    late = timing(row, friday_end + timedelta(days=1), {})
    assert (late.state, late.days) == ("late", 0)
    text = str(macros.timing_text(late))  # type: ignore[attr-defined]
    assert text == "Đã trả lời trễ hạn (dưới 1 ngày làm việc)", text


def test_a_reply_saved_meanwhile_is_not_overwritten_unseen(
    console: ConsoleClient,
    another_console: ConsoleClient,
    office: Office,
    make_key: KeyFactory,
    db: DbFactory,
) -> None:
    """(console audit) Two officials opened one petition; the second's save replaced the
    first's reply without a word, one the citizen may already have read, and the console
    named the second as its author. The form sends what it showed back."""
    seed_ward(office)
    console.sign_in(raw_key(make_key("manager", WARD)))
    another_console.sign_in(raw_key(make_key("manager", WARD)))
    target = petition(db, "HL-BT-1")
    action = f"/console/petitions/{target.id}/reply"
    console.get(f"/console/petitions/{target.id}")
    another_console.get(f"/console/petitions/{target.id}")  # opened before the first saves

    first = console.submit(action, {"reply": "Phường đã bố trí thêm quầy. Xin cảm ơn."})
    assert first.status_code == 200 and "Đã lưu câu trả lời" in first.text
    second = another_console.submit(action, {"reply": "Đã ghi nhận."})
    assert second.status_code == 409
    assert petition(db, "HL-BT-1").reply == "Phường đã bố trí thêm quầy. Xin cảm ơn."
    # The reply saved meanwhile is shown, and the words typed are kept in the field.
    saved = re.search(r'<blockquote id="saved-reply">(.*?)</blockquote>', second.text, re.S)
    assert saved and "Phường đã bố trí thêm quầy" in saved.group(1)
    assert re.search(r"<textarea[^>]*>Đã ghi nhận\.</textarea>", second.text)
    # Sent again from that page, knowingly: it replaces the reply.
    again = another_console.submit(action, {})
    assert again.status_code == 200 and "Đã lưu câu trả lời" in again.text
    assert petition(db, "HL-BT-1").reply == "Đã ghi nhận."
    # A form that says nothing of what it showed saves nothing.
    forged = another_console.client.post(
        action, data={"csrf": form_fields(again.text, action)["csrf"], "reply": "X"}
    )
    assert forged.status_code == 409
    assert petition(db, "HL-BT-1").reply == "Đã ghi nhận."


def test_no_promise_of_a_follow_up_link_the_citizen_does_not_have(
    console: ConsoleClient, office: Office, make_key: KeyFactory, db: DbFactory
) -> None:
    """(console audit) "The citizen reads it through their follow-up link" was said of a
    national-system petition and of a comment left without a contact: neither has a link,
    and the official believed the citizen had the answer."""
    seed_ward(office)
    office.answer_on_page("BT-4", complaint="Cảm ơn cán bộ.", wants_reply="no")
    console.sign_in(raw_key(make_key("manager", WARD)))
    promise = "Người dân xem được qua đường dẫn theo dõi của mình"
    for code, has_link in (("PAKN-OVERDUE", False), ("HL-BT-4", False), ("HL-BT-1", True)):
        row = petition(db, code)
        assert (row.followup_seed is not None) == has_link
        page = console.get(f"/console/petitions/{row.id}")
        assert ('id="no-followup"' in page.text) is not has_link
        answered = console.submit(f"/console/petitions/{row.id}/reply", {"reply": "Đã xử lý."})
        assert answered.status_code == 200 and "Đã lưu câu trả lời" in answered.text
        assert (promise in answered.text) is has_link, code


def test_every_handled_petition_is_reached_page_by_page(
    console: ConsoleClient, office: Office, make_key: KeyFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(console audit) The inbox showed its first 200 and said "200 of N", with no way to
    the rest: an older handled petition (its reply to correct) had no link in the console.
    The limit is lowered to 2 so that three petitions make two pages."""
    monkeypatch.setattr(console_petitions, "LIST_LIMIT", 2)
    now = utcnow()
    for days in (3, 2, 1):
        office.petition(
            f"PAKN-H{days}",
            received_at=(now - timedelta(days=10)).isoformat(),
            handled_at=(now - timedelta(days=days)).isoformat(),
            deadline_at=(now + timedelta(days=5)).isoformat(),
        )
    console.sign_in(raw_key(make_key("manager", WARD)))
    inbox = f"/console/a/{WARD}/petitions"
    first = console.get(f"{inbox}?show=handled")
    assert "Hiển thị 1–2 trên 3 phản ánh" in first.text
    assert re.findall(r'data-petition="([^"]+)"', first.text) == ["PAKN-H1", "PAKN-H2"]
    following = re.search(r'<a href="\?([^"]+)" id="next"', first.text)
    assert following and 'id="previous"' not in first.text
    second = console.get(f"{inbox}?{following.group(1).replace('&amp;', '&')}")
    assert re.findall(r'data-petition="([^"]+)"', second.text) == ["PAKN-H3"]
    assert "Hiển thị 3–3 trên 3 phản ánh" in second.text
    assert 'id="previous"' in second.text and 'id="next"' not in second.text
    assert console.get(f"{inbox}?show=handled&page=0").status_code == 422


def test_the_not_answered_tab_lists_only_what_its_summary_counts(
    office: Office, console: ConsoleClient, make_key: KeyFactory
) -> None:
    """(console audit) A comment whose citizen asked for no answer was listed under "not
    answered" beneath "0 petitions not answered yet", and only a reply nobody asked for
    cleared it. It stays under "all"."""
    office.handover("BT-1")
    office.answer_on_page("BT-1", complaint="Chỉ góp ý thôi, không cần trả lời.", wants_reply="no")
    console.sign_in(raw_key(make_key("manager", WARD)))
    console.client.cookies.set("hl_console_lang", "en", path="/console")
    page = console.get(f"/console/a/{WARD}/petitions?show=open")
    assert page.status_code == 200
    summary = re.search(r'id="inbox-summary">([^<]*)<', page.text)
    assert summary is not None and summary.group(1).startswith("0 "), summary
    assert re.findall(r'data-petition="([^"]+)"', page.text) == []
    every = console.get(f"/console/a/{WARD}/petitions?show=all")
    assert len(re.findall(r'data-petition="([^"]+)"', every.text)) == 1
