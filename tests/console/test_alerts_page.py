"""The console's alerts page: the alerts raised for the agencies an official may see (and
only those), the rules in force, and a manager switching a rule off or setting its
threshold, audited like the API; a forged form, an auditor and a reader change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.admin.agencies import get_agency_by_code
from service.alerts import emails
from service.auth.officials import add_official
from service.console.format import typed_number
from service.models import Alert, AlertEmail, AlertRuleOverride, AuditLog, Official, utcnow
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import (
    OTHER_WARD,
    OTHER_WARD_NAME,
    WARD,
    ConsoleClient,
    autofocused_alert,
    raw_key,
)

pytestmark = pytest.mark.usefixtures("agencies")
ALERT_ROW = re.compile(r'<tr data-alert="(\d+)" data-agency="([^"]+)" data-rule="([^"]+)">')
RULES = "/console/alerts/{code}/rules/{rule}"


def raise_alert(
    db: DbFactory,
    agency: str,
    rule: str,
    *,
    subject: str = "",
    period: str = "2025-Q3",
    minutes_ago: int = 0,
    values: dict[str, Any] | None = None,
    emailed: dict[str, str] | None = None,
    reason: str | None = None,
) -> int:
    """An alert as the evaluator records it; `emailed`: official's e-mail → status."""
    with db() as session:
        found = get_agency_by_code(session, agency)
        assert found is not None and found.id is not None
        alert = Alert(
            agency_id=found.id,
            rule=rule,
            subject=subject,
            period=period,
            raised_at=utcnow() - timedelta(minutes=minutes_ago),
            values=values or {},
            email_reason=reason,
        )
        session.add(alert)
        session.flush()
        assert alert.id is not None
        for email, status in (emailed or {}).items():
            official = add_official(session, "test", email, email.split("@")[0], "manager", agency)
            assert official.id is not None
            session.add(AlertEmail(alert_id=alert.id, official_id=official.id, status=status))
        return alert.id


def shown_alerts(html: str) -> list[tuple[int, str, str]]:
    return [(int(i), agency, rule) for i, agency, rule in ALERT_ROW.findall(html)]


def figures(html: str, alert_id: int) -> str:
    """The text of an alert's "Số liệu" (figures) cell, whitespace collapsed."""
    row = re.search(rf'<tr data-alert="{alert_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"alert {alert_id} is not shown"
    cell = re.search(r'<td data-label="(?:Số liệu|Figures)">(.*?)</td>', row.group(1), re.S)
    assert cell, row.group(1)
    return " ".join(re.sub(r"<[^>]+>", "", cell.group(1)).split())


def notified(html: str, alert_id: int) -> str:
    """The text of an alert's "Đã báo cho" (notified) cell, whitespace collapsed."""
    row = re.search(rf'<tr data-alert="{alert_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"alert {alert_id} is not shown"
    cell = re.search(
        r'<td data-label="(?:Đã báo cho|Notified)"[^>]*>(.*?)</td>', row.group(1), re.S
    )
    assert cell, row.group(1)
    return " ".join(re.sub(r"<[^>]+>", "", cell.group(1)).split())


def described_by(html: str, field_id: str) -> list[str]:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert tag, f"no #{field_id}"
    found = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    return found.group(1).split() if found else []


def overrides(db: DbFactory, agency: str) -> dict[str, tuple[bool, float | None]]:
    with db() as session:
        found = get_agency_by_code(session, agency)
        assert found is not None
        rows = session.exec(
            select(AlertRuleOverride).where(AlertRuleOverride.agency_id == found.id)
        ).all()
        return {r.rule: (r.enabled, r.threshold) for r in rows}


def rule_audits(db: DbFactory) -> list[AuditLog]:
    with db() as session:
        rows = session.exec(
            select(AuditLog).where(AuditLog.action == "alert_rules.set").order_by(col(AuditLog.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_a_ward_manager_sees_its_own_alerts_newest_first_and_never_the_other_wards(
    console: ConsoleClient, another_console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    older = raise_alert(
        db,
        WARD,
        "k_below_threshold",
        minutes_ago=90,
        values={"k": 14.5, "threshold": 20.0, "group": "khong_hai_long"},
        emailed={"lan@benthanh.gov.vn": "sent", "minh@benthanh.gov.vn": "pending"},
    )
    newer = raise_alert(
        db, WARD, "staff_c_falling", subject="CB003", minutes_ago=5, reason="no_recipients"
    )
    theirs = raise_alert(
        db,
        OTHER_WARD,
        "petition_deadline",
        subject="PAKN-SG-77",
        emailed={"tran.thi.hoa@saigon.gov.vn": "sent"},
    )

    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    home = console.get(f"/console/a/{WARD}")
    assert 'href="/console/alerts" id="alerts-link"' in home.text
    page = console.get("/console/alerts")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert shown_alerts(page.text) == [
        (newer, WARD, "staff_c_falling"),
        (older, WARD, "k_below_threshold"),
    ]
    assert "Chỉ số hài lòng K dưới ngưỡng" in page.text
    assert figures(page.text, older) == "K: 14,5; Ngưỡng: 20; Xếp loại: Không hài lòng"
    assert "lan (đã gửi), minh (chờ gửi)" in page.text
    assert "không có lãnh đạo quản lý nào phụ trách" in page.text
    assert "CB003" in page.text
    # Nothing of the other ward: not its alert, its subject, its official, nor its name.
    for text in ("PAKN-SG-77", "tran.thi.hoa", OTHER_WARD_NAME, f'data-agency="{OTHER_WARD}"'):
        assert text not in page.text
    # The ward's rules are in force from the profile, and editable here.
    assert f'action="/console/alerts/{WARD}/rules/k_below_threshold"' in page.text

    asked = console.get(f"/console/alerts?agency={OTHER_WARD}")
    assert asked.status_code == 403
    assert "PAKN-SG-77" not in asked.text and OTHER_WARD_NAME not in asked.text

    english = console.get("/console/alerts?lang=en")
    assert '<html lang="en">' in english.text
    assert "Alerts raised" in english.text and "K below the threshold" in english.text
    assert figures(english.text, older) == "K: 14.5; Threshold: 20; Rating: Unsatisfied"

    # The city's manager sees both wards, newest first, and may pick one.
    another_console.sign_in(raw_key(make_key("manager", agency="79")))
    city = another_console.get("/console/alerts")
    assert [i for i, _, _ in shown_alerts(city.text)] == [theirs, newer, older]
    only_theirs = another_console.get(f"/console/alerts?agency={OTHER_WARD}")
    assert shown_alerts(only_theirs.text) == [(theirs, OTHER_WARD, "petition_deadline")]
    assert "tran.thi.hoa (đã gửi)" in only_theirs.text


def test_the_figures_of_every_rule_are_named_in_the_pages_language(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The figures cell printed the evaluator's dict as it is stored, on the Vietnamese page
    too: "k: 14,5; threshold: 20; group: khong_hai_long" (pages audit). Each figure that
    service/alerts/evaluate.py writes now has a name in the page's language, rates are
    percentages and the group reads as on the public pages."""
    k_low = raise_alert(
        db,
        WARD,
        "k_below_threshold",
        values={"k": 14.5, "threshold": 20.0, "group": "khong_hai_long"},
    )
    c_falling = raise_alert(
        db,
        WARD,
        "staff_c_falling",
        subject="CB003",
        values={
            "c": 0.6,
            "previous_c": 0.8,
            "previous_period": "2025-Q2",
            "drop": 0.2,
            "threshold": 0.15,
            "evaluations": 12,
            "previous_evaluations": 10,
        },
    )
    deadline = raise_alert(
        db,
        WARD,
        "petition_deadline",
        subject="PAKN-01",
        values={
            "deadline_at": "2025-09-19T10:00:00+00:00",
            "working_days_left": 2,
            "threshold": 3,
        },
    )
    rate_low = raise_alert(
        db,
        WARD,
        "response_rate_low",
        values={
            "rate": 0.125,
            "issued": 40,
            "answered": 5,
            "floor": 0.3,
            "min_issued": 30,
            "settle_days": 7,
        },
    )
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get("/console/alerts").text
    assert figures(page, k_low) == "K: 14,5; Ngưỡng: 20; Xếp loại: Không hài lòng"
    assert figures(page, c_falling) == (
        "C kỳ này: 0,6; C kỳ trước: 0,8; Kỳ trước: 2025-Q2; Mức giảm: 0,2; Ngưỡng: 0,15; "
        "Số phiếu kỳ này: 12; Số phiếu kỳ trước: 10"
    )
    assert figures(page, deadline) == (
        "Hạn giải quyết: 19/09/2025 17:00; Số ngày làm việc còn lại: 2; Ngưỡng: 3"
    )
    assert figures(page, rate_low) == (
        "Tỉ lệ phản hồi: 12,5 %; Phiếu đã phát: 40; Đã trả lời: 5; Ngưỡng: 30 %; "
        "Số phiếu đã phát tối thiểu để xét: 30; Chỉ xét phiếu phát cách đây ít nhất (ngày): 7"
    )

    english = console.get("/console/alerts?lang=en").text
    assert figures(english, k_low) == "K: 14.5; Threshold: 20; Rating: Unsatisfied"
    assert figures(english, c_falling) == (
        "C this period: 0.6; C last period: 0.8; Last period: 2025-Q2; Drop: 0.2; "
        "Threshold: 0.15; Evaluations this period: 12; Evaluations last period: 10"
    )
    assert figures(english, deadline).startswith("Deadline: ")
    assert figures(english, deadline).endswith("; Working days left: 2; Threshold: 3")
    assert figures(english, rate_low) == (
        "Response rate: 12.5 %; Surveys issued: 40; Answered: 5; Threshold: 30 %; "
        "Fewest surveys issued to be considered: 30; "
        "Only surveys issued at least this many days ago: 7"
    )


def test_a_refused_threshold_is_described_by_its_own_error_then_its_hint(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    """A refused threshold was marked aria-invalid but described only by its hint: a screen
    reader on the field never heard that it was wrong (pages audit), and the focus stayed at
    the top of the page. Now its own error comes first, then the hint with the range, and
    the page opens on the summary of the problem."""
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    console.get(f"/console/alerts?agency={WARD}")
    field = "threshold-k_below_threshold"
    for typed in ("abc", "23"):  # not a number; above K's maximum of 22
        refused = console.post(
            RULES.format(code=WARD, rule="k_below_threshold"), {"enabled": "on", "threshold": typed}
        )
        assert refused.status_code == 422
        assert described_by(refused.text, field) == [
            "err-threshold-k_below_threshold",
            "hint-k_below_threshold",
        ]
        error = re.search(
            r'<p class="error" id="err-threshold-k_below_threshold">([^<]*)</p>', refused.text
        )
        assert error and error.group(1).startswith("Ngưỡng không hợp lệ"), refused.text
        assert autofocused_alert(refused.text) == "problem"
        # The other rules' fields are not in error and describe only their hint.
        assert described_by(refused.text, "threshold-petition_deadline") == [
            "hint-petition_deadline"
        ]
        assert refused.text.count('class="error"') == 1
    page = console.get(f"/console/alerts?agency={WARD}")
    assert "autofocus" not in page.text
    assert described_by(page.text, field) == ["hint-k_below_threshold"]


def test_a_manager_switches_a_rule_off_sets_a_threshold_and_both_are_audited(
    console: ConsoleClient, client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get("/console/alerts")
    assert 'id="stricter-only"' in page.text
    # The ward's own manager may not switch off what also tells the city (audit).
    refused = console.post(RULES.format(code=WARD, rule="k_below_threshold"), {"threshold": ""})
    assert refused.status_code == 403
    assert "việc của lãnh đạo cấp trên" in refused.text
    assert autofocused_alert(refused.text) == "problem"
    assert overrides(db, WARD) == {} and rule_audits(db) == []
    # The other ward is out of its reach.
    theirs = console.post(RULES.format(code=OTHER_WARD, rule="k_below_threshold"), {})
    assert theirs.status_code == 403
    assert overrides(db, OTHER_WARD) == {}

    console.sign_in(raw_key(make_key("manager", agency="79")))
    assert 'id="stricter-only"' not in console.get(f"/console/alerts?agency={WARD}").text
    off = console.post(RULES.format(code=WARD, rule="k_below_threshold"), {"threshold": ""})
    assert off.status_code == 200 and off.url.path == "/console/alerts"
    assert "Đã lưu quy tắc: Chỉ số hài lòng K dưới ngưỡng." in off.text
    assert overrides(db, WARD) == {"k_below_threshold": (False, None)}
    row = re.search(r'<tr data-rule="k_below_threshold">.*?</tr>', off.text, re.S)
    assert row and "Đã tắt" in row.group(0) and "riêng của đơn vị" in row.group(0)
    # The API reads what the console set.
    rules = client.get(f"/api/v1/agencies/{WARD}/alert-rules", headers=make_key("admin"))
    by_rule = {r["rule"]: r for r in rules.json()["rules"]}
    assert by_rule["k_below_threshold"]["enabled"] is False

    raised = console.post(
        RULES.format(code=WARD, rule="response_rate_low"), {"enabled": "on", "threshold": "0,5"}
    )
    assert raised.status_code == 200
    assert overrides(db, WARD)["response_rate_low"] == (True, 0.5)
    assert 'value="0,5"' in raised.text

    audits = rule_audits(db)
    assert [(a.target, a.detail["to"]) for a in audits] == [
        (f"agency:{WARD}", {"k_below_threshold": {"enabled": False, "threshold": None}}),
        (f"agency:{WARD}", {"response_rate_low": {"enabled": True, "threshold": 0.5}}),
    ]
    assert all(a.actor.startswith("key:") and a.actor.endswith(":test manager") for a in audits)

    # A rate above 1 is refused with the field marked; nothing saved, nothing audited.
    bad = console.post(
        RULES.format(code=WARD, rule="response_rate_low"), {"enabled": "on", "threshold": "1,5"}
    )
    assert bad.status_code == 422
    assert "không hợp lệ" in bad.text and 'aria-invalid="true"' in bad.text
    nonsense = console.post(
        RULES.format(code=WARD, rule="response_rate_low"), {"enabled": "on", "threshold": "abc"}
    )
    assert nonsense.status_code == 422
    # (audit) float() took "0_5" as 5 (refused only by the range) and "5e-1" as 0,5, saved as
    # a number the manager never wrote: digits with one decimal comma or point only.
    for typed in ("5e-1", "0_5", "+0,5", "\u0660\u066b\u0665"):  # the last: Arabic-Indic 0,5
        odd = console.post(
            RULES.format(code=WARD, rule="response_rate_low"),
            {"enabled": "on", "threshold": typed},
        )
        assert odd.status_code == 422, typed
    assert overrides(db, WARD)["response_rate_low"] == (True, 0.5)
    assert len(rule_audits(db)) == 2

    # On, with no threshold of its own: back to the profile's rule.
    back = console.post(RULES.format(code=WARD, rule="k_below_threshold"), {"enabled": "on"})
    assert back.status_code == 200
    assert "k_below_threshold" not in overrides(db, WARD)
    assert rule_audits(db)[-1].detail["to"] == {"k_below_threshold": None}

    # An unknown rule is refused.
    console.get("/console/alerts")
    unknown = console.post(RULES.format(code=WARD, rule="k_below"), {})
    assert unknown.status_code == 422
    assert len(rule_audits(db)) == 3


THRESHOLD_FIELD = re.compile(
    r'id="threshold-k_below_threshold" name="threshold" maxlength="(\d+)" value="([^"]*)"'
)


def test_saving_a_rule_as_shown_keeps_its_threshold(
    console: ConsoleClient, client: TestClient, make_key: KeyFactory
) -> None:
    """The threshold field showed the agency's own threshold with six significant digits
    (`:g`): one set through the API with more was shown rounded, and saving the form as
    shown (only switching the rule off) stored the rounded one. Every digit is shown, as
    the D field does (Formatter.exact), and the field holds a float's longest repr
    (audit)."""
    threshold = 19.1234567
    admin = make_key("admin")
    put = client.put(
        f"/api/v1/agencies/{WARD}/alert-rules",
        json={"k_below_threshold": {"enabled": True, "threshold": threshold}},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    console.sign_in(raw_key(make_key("manager", "79")))
    page = console.get(f"/console/alerts?agency={WARD}").text
    shown = THRESHOLD_FIELD.search(page)
    assert shown, "no threshold field"
    assert shown.group(2) == "19,1234567"
    assert int(shown.group(1)) >= len(repr(-2.2250738585072014e-308))
    # The manager only switches the rule off, leaving the threshold field as it is shown.
    saved = console.post(
        RULES.format(code=WARD, rule="k_below_threshold"),
        {"enabled": "off", "threshold": shown.group(2)},
    )
    assert saved.status_code == 200, saved.text[:500]
    rules = client.get(f"/api/v1/agencies/{WARD}/alert-rules", headers=admin).json()
    [k_rule] = [r for r in rules["rules"] if r["rule"] == "k_below_threshold"]
    assert (k_rule["enabled"], k_rule["threshold"]) == (False, threshold)


def test_the_rules_page_says_what_a_threshold_may_be_and_what_each_rule_watches(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    """The K hint said 0 to 100 where the profile's K is 0 to 22 (50 is a 422), and the
    response-rate rule's title read "citizens rate us low" (alerts audit); its hint left
    out the surveys of the last days, which are not counted yet (second alerts audit)."""
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get("/console/alerts").text
    assert "Ngưỡng: điểm K, từ 0 đến 22;" in page and "từ 0 đến 100" not in page
    assert "không tính phiếu phát trong 3 ngày gần nhất" in page  # the profile's settle days
    assert "Tỷ lệ người dân trả lời khảo sát thấp" in page
    assert "đánh giá thấp" not in page
    refused = console.post(
        RULES.format(code=WARD, rule="k_below_threshold"), {"enabled": "on", "threshold": "23"}
    )
    assert refused.status_code == 422


def test_a_form_with_a_wrong_csrf_token_is_refused(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    console.sign_in(raw_key(make_key("admin")))
    console.get(f"/console/alerts?agency={WARD}")
    for token in ("forged", ""):
        refused = console.post(
            RULES.format(code=WARD, rule="k_below_threshold"), {"threshold": ""}, csrf=token
        )
        assert refused.status_code == 403
    # Another session's token is no better.
    other = ConsoleClient(TestClient(console.client.app))
    other.sign_in(raw_key(make_key("admin")))
    other.get("/console/alerts")
    refused = console.post(
        RULES.format(code=WARD, rule="k_below_threshold"), {"threshold": ""}, csrf=other.csrf()
    )
    assert refused.status_code == 403
    assert overrides(db, WARD) == {}
    assert rule_audits(db) == []


def test_an_auditor_and_a_reader_cannot_change_rules(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    raise_alert(db, WARD, "k_below_threshold", subject="", values={"k": 14.0})
    console.sign_in(raw_key(make_key("auditor")))
    assert console.get("/console/alerts").status_code == 403
    audit_page = console.get("/console/audit")  # a form with this session's own token
    assert 'id="alerts-link"' not in audit_page.text
    refused = console.post(RULES.format(code=WARD, rule="k_below_threshold"), {})
    assert refused.status_code == 403

    reader = ConsoleClient(TestClient(console.client.app))
    assert reader.sign_in(raw_key(make_key("reader", agency=WARD))).status_code == 403
    # Without a session the form leads back to signing in, and changes nothing.
    sent = reader.post(RULES.format(code=WARD, rule="k_below_threshold"), {})
    assert sent.url.path == "/console/sign-in"
    assert overrides(db, WARD) == {}
    assert rule_audits(db) == []


def test_alerts_come_a_page_at_a_time_newest_first(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    ids = [
        raise_alert(db, WARD, "petition_deadline", subject=f"PAKN-{n:02}", minutes_ago=60 - n)
        for n in range(51)
    ]
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    first = console.get("/console/alerts")
    assert [i for i, _, _ in shown_alerts(first.text)] == ids[::-1][:50]
    older = re.search(r'href="([^"]+)" id="older"', first.text)
    assert older, "no link to the older alerts"
    second = console.get(older.group(1).replace("&amp;", "&"))
    assert [i for i, _, _ in shown_alerts(second.text)] == [ids[0]]
    assert 'id="older"' not in second.text and 'id="newest"' in second.text


def test_an_alert_s_k_a_hair_under_the_threshold_never_reads_as_it(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An alert's K is stored as a float (service/alerts/evaluate.py): the page cleaned
    19.99999999999996 (K = 3 + 15.99999999999996 + 1, a D the API accepts) of binary noise and
    read "K: 20; Ngưỡng: 20; Xếp loại: Không hài lòng". An alert's figures are read as the
    decimals their floats are, cut, never cleaned up: the e-mail's rule (audit)."""
    k_low = raise_alert(
        db,
        WARD,
        "k_below_threshold",
        values={"k": 19.99999999999996, "threshold": 20.0, "group": "khong_hai_long"},
    )
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get("/console/alerts").text
    assert figures(page, k_low) == "K: 19,99; Ngưỡng: 20; Xếp loại: Không hài lòng"
    english = console.get("/console/alerts?lang=en").text
    assert figures(english, k_low) == "K: 19.99; Threshold: 20; Rating: Unsatisfied"


def test_the_every_agency_choice_of_the_picker_shows_every_agency(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The picker's "every agency" option sends ?agency= (empty): once agency codes were
    refused blank, it was a 422 page, and an admin who had chosen one agency had no way back
    to all of them (review). Empty is none chosen; a code with spaces is the code."""
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("admin")))
    assert '<option value="">' in console.get("/console/alerts").text
    for query in ("?agency=", "?agency=+", f"?agency=+{WARD}+"):
        chosen = console.get(f"/console/alerts{query}")
        assert chosen.status_code == 200, (query, chosen.text[:300])


@pytest.mark.parametrize(
    ("typed", "read"),
    [("17,5", 17.5), ("0.25", 0.25), (" 18 ", 18.0), (".5", 0.5), (",5", 0.5), ("5.", 5.0)],
)
def test_a_number_typed_as_people_type_it_is_read(typed: str, read: float) -> None:
    """(review) float() read ".5", ",5" and "5."; the stricter reading refused them."""
    assert typed_number(typed) == read


@pytest.mark.parametrize("typed", ["1_0", "-0", "+5", "1e1", ".", ",", "5..", "\u0665"])
def test_anything_else_typed_is_not_a_number(typed: str) -> None:
    with pytest.raises(ValueError):
        typed_number(typed)


PROVINCE_OFFICIAL = "giam.doc.so@tphcm.gov.vn"


def _alert_mailed_as_the_emails_choose(db: DbFactory) -> int:
    """A ward's alert e-mailed to every manager and admin whose scope covers the ward: the
    province's official of every agency (added, as the API adds one without a name, under
    its e-mail address), the city's manager, and the ward's own."""
    with db() as session:
        add_official(session, "test", PROVINCE_OFFICIAL, "", "admin", None)
        add_official(session, "test", "hung@tphcm.gov.vn", "Hùng", "manager", "79")
        add_official(session, "test", "lan@benthanh.gov.vn", "Lan", "manager", WARD)
        ward = get_agency_by_code(session, WARD)
        assert ward is not None
        recipients = emails.recipients(session, ward)
    alert_id = raise_alert(db, WARD, "k_below_threshold", values={"k": 14.5})
    with db() as session:
        for official in recipients:
            assert official.id is not None
            session.add(AlertEmail(alert_id=alert_id, official_id=official.id, status="sent"))
    return alert_id


def test_an_alert_names_only_the_officials_within_the_viewers_tree(
    client: TestClient, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) A ward's manager no longer reads, on the alerts page, the names and e-mail
    addresses of the province's and the city's officials its alert was mailed to, which the
    officials API hides from the ward: they are counted as officials above."""
    alert_id = _alert_mailed_as_the_emails_choose(db)
    # What the ward's part of the tree holds of officials, as the API tells an admin of it.
    ward_admin = make_key("admin", agency=WARD)
    listed = client.get("/api/v1/officials", headers=ward_admin).json()["data"]
    assert [o["email"] for o in listed] == ["lan@benthanh.gov.vn"]

    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get("/console/alerts").text
    assert notified(page, alert_id) == "Lan (đã gửi), 2 cán bộ cấp trên (đã gửi)"
    assert PROVINCE_OFFICIAL not in page and "Hùng" not in page
    english = console.get("/console/alerts?lang=en").text
    assert notified(english, alert_id) == "Lan (sent), 2 officials above (sent)"

    # Another ward's alert mailed only above it: nobody named.
    theirs = raise_alert(db, OTHER_WARD, "k_below_threshold", values={"k": 14.5})
    with db() as session:
        above = session.exec(select(Official.id).where(Official.name != "Lan")).all()
        for official_id in above:
            assert official_id is not None
            session.add(AlertEmail(alert_id=theirs, official_id=official_id, status="failed"))
    console.sign_in(raw_key(make_key("manager", agency=OTHER_WARD)))
    assert (
        notified(console.get("/console/alerts").text, theirs)
        == "2 cán bộ cấp trên (gửi không được)"
    )

    # The city's manager sees its own tree's officials; the one of every agency is above.
    console.sign_in(raw_key(make_key("manager", agency="79")))
    city = console.get("/console/alerts").text
    assert notified(city, alert_id) == "Hùng (đã gửi), Lan (đã gửi), 1 cán bộ cấp trên (đã gửi)"
    assert notified(console.get("/console/alerts?lang=en").text, alert_id) == (
        "Hùng (sent), Lan (sent), 1 official above (sent)"
    )

    # An official of every agency sees every one, as before.
    console.sign_in(raw_key(make_key("admin")))
    everyone = console.get("/console/alerts").text
    assert notified(everyone, alert_id) == (
        f"{PROVINCE_OFFICIAL} (đã gửi), Hùng (đã gửi), Lan (đã gửi)"
    )


def test_a_failed_email_to_an_official_above_is_not_shown_as_notified(
    client: TestClient, console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(review) The ward's manager read "1 cán bộ cấp trên" under "Đã báo cho" for an
    e-mail to the province that had failed: told, it seemed. The officials above are
    counted by how their e-mails went."""
    alert_id = raise_alert(db, WARD, "k_below_threshold", values={"k": 14.5})
    with db() as session:
        above = add_official(session, "test", "so@tphcm.gov.vn", "Sở", "manager", "79")
        assert above.id is not None
        session.add(AlertEmail(alert_id=alert_id, official_id=above.id, status="failed"))
    console.sign_in(raw_key(make_key("admin")))
    assert notified(console.get("/console/alerts").text, alert_id) == "Sở (gửi không được)"
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    cell = notified(console.get("/console/alerts").text, alert_id)
    assert cell == "1 cán bộ cấp trên (gửi không được)"


def _threshold_cell(html: str, table: str, rule: str) -> str:
    """The text of a rule's applied threshold in the table `table` (rules in force, or the
    agencies with their own rules)."""
    body = re.search(rf'<table id="{table}".*?</table>', html, re.S)
    assert body, f"no #{table}"
    row_tag = rf'<tr data-(?:agency="{WARD}" data-)?rule="{rule}">(.*?)</tr>'
    row = re.search(row_tag, body.group(0), re.S)
    assert row, f"no {rule} row in #{table}"
    cell = r'<td data-label="Ngưỡng áp dụng" class="num[^"]*">(.*?)</td>'
    cells: list[str] = re.findall(cell, row.group(1))
    assert len(cells) == 1, row.group(1)
    return cells[0].strip()


def test_the_rules_tables_show_an_agencys_threshold_as_it_is_stored(
    console: ConsoleClient, client: TestClient, make_key: KeyFactory
) -> None:
    """(review) The rules tables cut an agency's own threshold to two decimals: a K threshold
    of 16.333 read 16,33 and a response-rate floor of 0.125 read 0,12, so an official read
    (and might copy into the form) a rule other than the one in force."""
    admin = make_key("admin")
    own = {"k_below_threshold": 16.333, "response_rate_low": 0.125}
    put = client.put(
        f"/api/v1/agencies/{WARD}/alert-rules",
        json={rule: {"enabled": True, "threshold": t} for rule, t in own.items()},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    console.sign_in(raw_key(make_key("manager", WARD)))
    page = console.get(f"/console/alerts?agency={WARD}").text
    for table in ("rules-in-force", "overrides"):
        assert _threshold_cell(page, table, "k_below_threshold") == "16,333"
        assert _threshold_cell(page, table, "response_rate_low") == "0,125"
    # The profile's own thresholds read as before.
    assert _threshold_cell(page, "rules-in-force", "petition_deadline") == "2"
    assert _threshold_cell(page, "rules-in-force", "staff_c_falling") == "0,2"

    # Saving the form as shown (the floor's field left as it is) keeps the rule.
    field = re.search(r'id="threshold-response_rate_low"[^>]*value="([^"]*)"', page)
    assert field and field.group(1) == "0,125"
    saved = console.post(
        RULES.format(code=WARD, rule="response_rate_low"),
        {"enabled": "on", "threshold": field.group(1)},
    )
    assert saved.status_code == 200, saved.text[:500]
    rules = client.get(f"/api/v1/agencies/{WARD}/alert-rules", headers=admin).json()
    assert {r["rule"]: r["threshold"] for r in rules["rules"] if r["rule"] in own} == own


def test_an_alerts_threshold_reads_as_the_rules_table_reads_it(
    console: ConsoleClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(review) The rules table read an agency's threshold 16,333 while the alert raised on
    it read "K: 16,33; Ngưỡng: 16,33": a K that read equal to the threshold it fell below."""
    alert = raise_alert(
        db,
        WARD,
        "k_below_threshold",
        values={"k": 16.331, "threshold": 16.333, "group": "khong_hai_long"},
    )
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    shown = figures(console.get("/console/alerts").text, alert)
    assert shown.startswith("K: 16,33; Ngưỡng: 16,333;"), shown
