"""Scores nobody can bend (issue 17): survey comments are not national-channel petitions,
petitions age by themselves, and every scoring rule comes from the profile."""

from __future__ import annotations

import re
import time as clock
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app import create_app
from service.calendar.working_days import local_date
from service.db import make_engine
from service.models import Agency, Petition, utcnow
from service.periods import period_containing
from service.portal import trend
from service.profile import PROFILES_DIR, ProfileError, load_profile
from service.scoring.rebuild import rebuild
from service.scoring.service import evaluate
from tests.conftest import KeyFactory, earlier_today, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")

AGENCY = "G22.39"
ANSWERS = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}


def this_month() -> str:
    return period_containing(local_date(utcnow()), "month").key


def issue(client: TestClient, make_key: KeyFactory, code: str) -> str:
    now = utcnow()
    body = handover_body(
        dossier_code=code,
        agency_code=AGENCY,
        received_at=(now - timedelta(days=2)).isoformat(),
        due_at=(now + timedelta(days=1)).isoformat(),
        resolved_at=earlier_today(timedelta(hours=1)).isoformat(),  # in this month
        handed_over_at=None,
    )
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    token: str = response.json()["survey_url"].rsplit("/", 1)[1]
    return token


def score(client: TestClient, admin: dict[str, str], listed: bool = False) -> dict[str, Any]:
    """One agency's score, read alone or from the list (which goes through the cache of
    scored siblings)."""
    if listed:
        response = client.get("/api/v1/scores", params={"period": this_month()}, headers=admin)
        assert response.status_code == 200, response.text
        found = [s for s in response.json()["data"] if s["agency_code"] == AGENCY]
        assert len(found) == 1
        one: dict[str, Any] = found[0]
        return one
    response = client.get(f"/api/v1/agencies/{AGENCY}/scores/{this_month()}", headers=admin)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def feedback_rows(database_url: str) -> list[Petition]:
    engine = make_engine(make_settings(database_url))
    try:
        with Session(engine) as session:
            return list(session.exec(select(Petition).order_by(Petition.id)).all())  # type: ignore[arg-type]
    finally:
        engine.dispose()


# --- 1. survey comments are not national-channel petitions -----------------------------------


def test_a_thank_you_note_costs_the_ward_nothing(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    admin = make_key("admin")
    clean = issue(client, make_key, "HS-CLEAN")
    thanked = issue(client, make_key, "HS-THANKS")
    assert client.post(f"/s/{clean}", data=ANSWERS).status_code == 200
    before = score(client, admin)
    page = client.post(
        f"/s/{thanked}",
        data={**ANSWERS, "complaint": "Cảm ơn cán bộ rất nhiều!", "wants_reply": "no"},
    )
    assert page.status_code == 200
    after = score(client, admin)
    # The same group 5 and D as with two silent evaluations: no petition, no marked dossier.
    assert after["counts"]["petitions"] == 0
    assert after["group5"] == before["group5"]
    assert after["group5"]["dossiers_satisfied_rate"] == 1.0
    assert after["d"] == before["d"]
    (item,) = feedback_rows(database_url)
    # In the feedback inbox as a comment: no deadline, no follow-up link (nothing to follow).
    assert (item.source, item.kind, item.deadline_at, item.followup_seed) == (
        "survey",
        "comment",
        None,
        None,
    )
    assert "/p/" not in page.text


def test_a_comment_asking_for_an_answer_gets_a_deadline_but_is_not_in_d(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    admin = make_key("admin")
    token = issue(client, make_key, "HS-ASK")
    page = client.post(
        f"/s/{token}",
        data={**ANSWERS, "complaint": "Phải đi lại ba lần mới xong", "wants_reply": "yes"},
    )
    assert page.status_code == 200
    assert "/p/" in page.text  # the citizen's private follow-up link
    (item,) = feedback_rows(database_url)
    assert item.kind == "petition" and item.deadline_at is not None
    body = score(client, admin)
    assert body["counts"]["petitions"] == 0
    assert body["group5"]["petitions_on_time_rate"] is None
    assert body["group5"]["dossiers_satisfied_rate"] == 1.0


def test_an_import_records_a_survey_comments_handling_but_not_its_code_verdict_or_time(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    """A comment is stored as petition 'HL-' + its dossier's code. An import under that code
    forged the citizen's verdict and moved the comment into another period; sent before the
    citizen answered, it made every answer with a comment a 409 (audit)."""
    asked, later = issue(client, make_key, "HS-ASK"), issue(client, make_key, "HS-LATER")
    page = client.post(f"/s/{asked}", data={**ANSWERS, "complaint": "Chậm", "wants_reply": "yes"})
    assert page.status_code == 200
    (comment,) = feedback_rows(database_url)
    issuer = make_key("issuer")
    body = {"agency_code": AGENCY, "received_at": "2025-09-16T09:00:00+07:00"}
    early = client.post(
        "/api/v1/petitions", json=body | {"petition_code": "HL-HS-LATER"}, headers=issuer
    )
    assert early.status_code == 422, early.text
    assert [f["field"] for f in early.json()["fields"]] == ["petition_code"]
    forged = body | {"petition_code": "HL-HS-ASK", "citizen_verdict": "satisfied"}
    refused = client.post("/api/v1/petitions", json=forged, headers=issuer)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["citizen_verdict"]
    # Handled "before" the comment was made: checked against the comment's own receipt
    # (today), not the time the import sends (review: accepted).
    too_early = body | {"petition_code": "HL-HS-ASK", "handled_at": "2025-09-20T09:00:00+07:00"}
    refused = client.post("/api/v1/petitions", json=too_early, headers=issuer)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["handled_at"]
    # Nor moved onto another citizen's dossier, whose code their follow-up page then showed
    # (petitions audit); its own dossier named again is no move.
    moved = body | {"petition_code": "HL-HS-ASK", "dossier_code": "HS-LATER"}
    refused = client.post("/api/v1/petitions", json=moved, headers=issuer)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["dossier_code"]
    detached = body | {"petition_code": "HL-HS-ASK", "dossier_code": None}
    assert client.post("/api/v1/petitions", json=detached, headers=issuer).status_code == 422
    handled = utcnow().isoformat()  # after the comment (its receipt is the answer's time)
    recorded = body | {
        "petition_code": "HL-HS-ASK",
        "handled_at": handled,
        "dossier_code": "HS-ASK",
    }
    assert client.post("/api/v1/petitions", json=recorded, headers=issuer).status_code == 200
    (item,) = feedback_rows(database_url)
    assert item.handled_at is not None and item.citizen_verdict is None
    assert item.received_at == comment.received_at  # not moved to 2025-09
    assert item.dossier_id == comment.dossier_id
    page = client.post(f"/s/{later}", data={**ANSWERS, "complaint": "Lâu", "wants_reply": "yes"})
    assert page.status_code == 200, page.text
    assert len(feedback_rows(database_url)) == 2


def variant(tmp_path: Path, *changes: tuple[str, str]) -> str:
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "variant.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_province_that_counts_survey_petitions_counts_only_those_asking_an_answer(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    profile = variant(
        tmp_path, ("survey_comments_are_petitions = false", "survey_comments_are_petitions = true")
    )
    settings = make_settings(database_url).model_copy(update={"scoring_profile": profile})
    admin = make_key("admin")
    with TestClient(create_app(settings)) as client:
        asked = issue(client, make_key, "HS-ASK")
        thanked = issue(client, make_key, "HS-THANKS")
        client.post(f"/s/{asked}", data={**ANSWERS, "complaint": "Chậm", "wants_reply": "yes"})
        client.post(f"/s/{thanked}", data={**ANSWERS, "complaint": "Cảm ơn", "wants_reply": "no"})
        body = score(client, admin)
    assert body["counts"]["petitions"] == 1
    # The petition's dossier counts against group 5 c; the thanked one does not.
    assert body["group5"]["dossiers_satisfied_rate"] == 0.5
    # Within its deadline it is neither on time nor late yet.
    assert body["group5"]["petitions_on_time_rate"] is None


# --- 2. petitions age by themselves ----------------------------------------------------------


@pytest.mark.slow  # waits 3 s for a real deadline to pass
def test_an_unhandled_petition_turns_late_when_its_deadline_passes(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    """No event moves a counter: the live scores, the cached list, explain, a recompute and
    the console agree before and after the deadline."""
    admin = make_key("admin")
    now = utcnow()
    deadline = now + timedelta(seconds=3)
    handled = {
        "petition_code": "PAKN-DONE",
        "agency_code": AGENCY,
        "received_at": earlier_today(timedelta(minutes=5)).isoformat(),
        "handled_at": earlier_today(timedelta(minutes=1)).isoformat(),
    }
    waiting = {
        "petition_code": "PAKN-WAIT",
        "agency_code": AGENCY,
        "received_at": earlier_today(timedelta(minutes=5)).isoformat(),
        "deadline_at": deadline.isoformat(),
    }
    for body in (handled, waiting):
        response = client.post("/api/v1/petitions", json=body, headers=admin)
        assert response.status_code == 201, response.text

    def explained() -> dict[str, dict[str, Any]]:
        response = client.get(
            f"/api/v1/agencies/{AGENCY}/scores/{this_month()}/explain", headers=admin
        )
        assert response.status_code == 200, response.text
        return {r["petition_code"]: r for r in response.json()["petitions"]["rows"]}

    # Within the deadline: only the handled petition is in rates a and b.
    for listed in (False, True):
        early = score(client, admin, listed)
        assert early["counts"]["petitions"] == 2
        assert early["group5"]["petitions_on_time_rate"] == 1.0
        assert early["group5"]["petitions_satisfied_rate"] == 1.0
    rows = explained()
    assert (rows["PAKN-WAIT"]["state"], rows["PAKN-WAIT"]["scored"]) == ("open", False)
    assert rows["PAKN-WAIT"]["counts_against_group5"] is False

    while utcnow() <= deadline + timedelta(milliseconds=200):
        clock.sleep(0.2)
    # Past it, with nothing written in between: late in rate a and against rate b.
    for listed in (True, False):
        late = score(client, admin, listed)
        assert late["group5"]["petitions_on_time_rate"] == 0.5
        assert late["group5"]["petitions_satisfied_rate"] == 0.5
    rows = explained()
    assert (rows["PAKN-WAIT"]["state"], rows["PAKN-WAIT"]["scored"]) == ("late", True)
    assert rows["PAKN-WAIT"]["counts_against_group5"] is True
    # A recompute from the raw rows agrees with the live counters.
    engine = make_engine(make_settings(database_url))
    with Session(engine) as session:
        rebuild(session, load_profile("hcmc-104-2024"))
        session.commit()
    engine.dispose()
    assert score(client, admin)["group5"] == late["group5"]


def test_the_trend_scores_each_period_as_its_score_does(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    """The public page's and the quarterly report's trend summed the day counters alone: a
    period with a petition open past its deadline read 22 "hài lòng" in the trend beside
    16.67 "không hài lòng" in its own score (audit)."""
    admin = make_key("admin")
    now = utcnow()
    today = earlier_today(timedelta(minutes=5))  # this quarter's, however early in it
    for code, received in (("PAKN-OLD", now - timedelta(days=120)), ("PAKN-NEW", today)):
        body = {
            "petition_code": code,
            "agency_code": AGENCY,
            "received_at": received.isoformat(),
            "deadline_at": received.isoformat(),  # passed, open
        }
        assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    engine = make_engine(make_settings(database_url))
    profile = load_profile("hcmc-104-2024")
    try:
        with Session(engine) as session:
            agency = session.exec(select(Agency).where(Agency.code == AGENCY)).one()
            assert agency.id is not None
            quarter = period_containing(local_date(now), "quarter")
            points = trend.trend(
                session, agency.id, trend.trend_periods(quarter, local_date(now)), profile
            )
            scored = [p for p in points if p.computed.group5.score is not None]
            assert len(scored) == 2  # the two quarters with a petition
            for point in points:
                assert (
                    point.computed == evaluate(session, [agency], point.period, profile)[agency.id]
                )
    finally:
        engine.dispose()


def test_handling_a_petition_late_keeps_it_late(client: TestClient, make_key: KeyFactory) -> None:
    admin = make_key("admin")
    # Received in this month, however early in it (three days back was last month's on the
    # 1st to 3rd, and this month's rates were None); its deadline already passed.
    received = earlier_today(timedelta(days=3))
    body = {
        "petition_code": "PAKN-1",
        "agency_code": AGENCY,
        "received_at": received.isoformat(),
        "deadline_at": received.isoformat(),
    }
    assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    assert score(client, admin)["group5"]["petitions_on_time_rate"] == 0.0
    handled = {**body, "handled_at": utcnow().isoformat()}
    assert client.post("/api/v1/petitions", json=handled, headers=admin).status_code == 200
    g5 = score(client, admin)["group5"]
    assert (g5["petitions_on_time_rate"], g5["petitions_satisfied_rate"]) == (0.0, 0.0)


# --- 5. evaluations without optional questions -------------------------------------------------


def test_an_admin_import_may_lack_overall_but_a_citizen_may_not(
    client: TestClient, make_key: KeyFactory
) -> None:
    admin = make_key("admin")
    partial = {k: v for k, v in ANSWERS.items() if k != "overall"}
    partial["staff_attitude"] = "poor"
    imported = issue(client, make_key, "HS-OLD")
    citizen = issue(client, make_key, "HS-NEW")
    refused = client.post("/api/v1/responses", json={"token": citizen, "answers": partial})
    assert refused.status_code == 422
    assert [f["field"] for f in refused.json()["fields"]] == ["answers.overall"]
    assert client.post(f"/s/{citizen}", data=partial).status_code == 422
    assert score(client, admin)["group5"]["dossiers_satisfied_rate"] == 1.0
    accepted = client.post(
        "/api/v1/responses", json={"token": imported, "answers": partial}, headers=admin
    )
    assert accepted.status_code == 201, accepted.text
    # No overall and a poor attitude: unsatisfied for group 5 c (DESIGN.md), 1 of 2 dossiers.
    assert score(client, admin)["group5"]["dossiers_satisfied_rate"] == 0.5


# --- 8. every scoring rule in the profile, checked when it loads -------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('{ value = "good", icon', '{ value = "tot", icon'), "good_attitude"),
        (('{ value = "poor", icon', '{ value = "kem", icon'), "unsatisfied_attitude"),
        (('{ value = "unsatisfied", icon', '{ value = "khong", icon'), "unsatisfied_overall"),
        (('{ value = "once", supplements = 1, ', '{ value = "once", '), "supplements"),
    ],
)
def test_a_profile_that_renames_an_answer_fails_to_load(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    with pytest.raises(ProfileError, match=named):
        load_profile(variant(tmp_path, change))


def test_the_supplement_rules_come_from_the_profile(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """Under 766 a dossier is overdue from `supplements_overdue_from` requests; B's point
    follows each answer's `supplements`."""
    text = (PROFILES_DIR / "vn-766.toml").read_text(encoding="utf-8")
    text = text.replace("supplements_overdue_from = 2", "supplements_overdue_from = 3")
    text = text.replace('{ value = "once", supplements = 1,', '{ value = "once", supplements = 2,')
    path = tmp_path / "strict.toml"
    path.write_text(text, encoding="utf-8")
    settings = make_settings(database_url).model_copy(update={"scoring_profile": str(path)})
    admin = make_key("admin")
    with TestClient(create_app(settings)) as client:
        now = utcnow()
        body = handover_body(
            dossier_code="HS-TWICE",
            agency_code=AGENCY,
            received_at=(now - timedelta(days=2)).isoformat(),
            due_at=(now + timedelta(days=1)).isoformat(),
            resolved_at=earlier_today(timedelta(hours=1)).isoformat(),
            handed_over_at=None,
            supplement_requests=2,
        )
        response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
        assert response.status_code == 201, response.text
        token = response.json()["survey_url"].rsplit("/", 1)[1]
        answered = {**ANSWERS, "supplement_requests": "once"}
        assert client.post(f"/s/{token}", data=answered).status_code == 200
        got = score(client, admin)
    assert got["a"] == 1.0  # two requests: not overdue from three
    assert got["b"] == 0.0  # "once" now means two requests: over the one allowed


def test_the_handling_a_citizen_judged_cannot_be_imported_away(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """An import clearing a judged survey comment's handled_at (200) made it open again
    within its deadline, out of rates a and b, and the citizen's "unsatisfied" with it
    (group 5 audit): refused, as the citizen's verdict itself is."""
    profile = variant(
        tmp_path, ("survey_comments_are_petitions = false", "survey_comments_are_petitions = true")
    )
    settings = make_settings(database_url).model_copy(update={"scoring_profile": profile})
    admin, issuer = make_key("admin"), make_key("issuer")
    with TestClient(create_app(settings)) as client:
        token = issue(client, make_key, "HS-V")
        complaint = {**ANSWERS, "complaint": "Chậm", "wants_reply": "yes"}
        page = client.post(f"/s/{token}", data=complaint)
        followup = re.search(r"/p/([A-Za-z0-9_\-]+)", page.text)
        assert followup is not None
        now = utcnow().isoformat()
        body = {"petition_code": "HL-HS-V", "agency_code": AGENCY, "received_at": now}
        handled = client.post("/api/v1/petitions", json=body | {"handled_at": now}, headers=issuer)
        assert handled.status_code == 200, handled.text
        judged = client.post(f"/p/{followup.group(1)}", data={"verdict": "unsatisfied"})
        assert judged.status_code == 200
        assert score(client, admin)["group5"]["petitions_satisfied_rate"] == 0.0
        for moved in (None, utcnow().isoformat()):
            refused = client.post(
                "/api/v1/petitions", json=body | {"handled_at": moved}, headers=issuer
            )
            assert (
                refused.status_code == 422 and refused.json()["fields"][0]["field"] == "handled_at"
            )
        same = client.post("/api/v1/petitions", json=body | {"handled_at": now}, headers=issuer)
        assert same.status_code == 200  # sent again as it stands: nothing changes
        assert score(client, admin)["group5"]["petitions_satisfied_rate"] == 0.0


def test_a_comment_asking_no_answer_gets_no_deadline_from_an_update(
    client: TestClient, make_key: KeyFactory
) -> None:
    """An update sending only an outcome gave a plain comment the default 15 working days
    (the console and the follow-up page then showed it due; group 5 audit)."""
    token = issue(client, make_key, "HS-C")
    page = client.post(f"/s/{token}", data={**ANSWERS, "complaint": "Cảm ơn", "wants_reply": "no"})
    assert page.status_code == 200
    now = utcnow().isoformat()
    body = {"petition_code": "HL-HS-C", "agency_code": AGENCY, "received_at": now}
    issuer = make_key("issuer")
    updated = client.post(
        "/api/v1/petitions", json=body | {"outcome": "Đã ghi nhận"}, headers=issuer
    )
    assert updated.status_code == 200 and updated.json()["deadline_at"] is None
    # Sent as null, it stays none (a default filled it in before); a deadline the national
    # system gives is its own, as for any petition.
    given = client.post("/api/v1/petitions", json=body | {"deadline_at": None}, headers=issuer)
    assert given.status_code == 200 and given.json()["deadline_at"] is None
