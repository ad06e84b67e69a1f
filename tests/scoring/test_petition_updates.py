"""Updating a petition by import changes what the update sends and nothing else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
BODY = {
    "petition_code": "PU-1",
    "agency_code": "79.BTH",
    "received_at": "2025-09-16T09:00:00+07:00",
}


def test_an_update_without_handled_at_or_verdict_keeps_them(
    client: TestClient, make_key: KeyFactory
) -> None:
    admin = make_key("admin")
    client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="PU-D", agency_code="79.BTH"),
        headers=make_key("issuer"),
    )
    first = client.post(
        "/api/v1/petitions",
        json={
            **BODY,
            "dossier_code": "PU-D",
            "deadline_at": "2025-10-01T17:00:00+07:00",
            "handled_at": "2025-09-20T09:00:00+07:00",
            "citizen_verdict": "satisfied",
            "within_authority": False,
        },
        headers=admin,
    )
    assert first.status_code == 201
    # The national system later sends only the outcome of a result complaint.
    later = client.post("/api/v1/petitions", json={**BODY, "result_complaint": True}, headers=admin)
    assert later.status_code == 200
    petition = later.json()
    assert petition["handled_at"].startswith("2025-09-20")
    assert petition["citizen_verdict"] == "satisfied"
    assert petition["within_authority"] is False
    assert petition["deadline_at"].startswith("2025-10-01")
    assert petition["dossier_code"] == "PU-D"
    assert petition["result_complaint"] is True
    # Sent explicitly as null, a field is cleared.
    cleared = client.post(
        "/api/v1/petitions", json={**BODY, "citizen_verdict": None}, headers=admin
    ).json()
    assert cleared["citizen_verdict"] is None
    assert cleared["handled_at"].startswith("2025-09-20")


def test_a_corrected_receipt_time_moves_the_default_deadline(
    client: TestClient, make_key: KeyFactory
) -> None:
    admin = make_key("admin")
    created = client.post("/api/v1/petitions", json=BODY, headers=admin).json()
    assert created["deadline_at"].startswith("2025-10-07")  # 15 working days after 16/9
    moved = client.post(
        "/api/v1/petitions",
        json={**BODY, "received_at": "2025-09-17T09:00:00+07:00"},
        headers=admin,
    ).json()
    assert moved["deadline_at"].startswith("2025-10-08")


def test_a_corrected_receipt_time_keeps_the_deadline_the_national_system_gave(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A receipt corrected by an hour, the deadline not sent again: the national system's
    deadline of 19/9 became the default's 7/10, and a petition handled on 25/9 counted as
    handled on time (scoring audit: rate a, and so D, up)."""
    admin = make_key("admin")
    given = {**BODY, "deadline_at": "2025-09-19T17:00:00+07:00"}
    assert client.post("/api/v1/petitions", json=given, headers=admin).status_code == 201
    corrected = {
        **BODY,
        "received_at": "2025-09-16T08:00:00+07:00",
        "handled_at": "2025-09-25T10:00:00+07:00",
    }
    moved = client.post("/api/v1/petitions", json=corrected, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["deadline_at"].startswith("2025-09-19")
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert score["group5"]["petitions_on_time_rate"] == 0.0


def test_a_corrected_receipt_moves_the_default_deadline_after_a_calendar_change(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A deadline was taken as the default's only while it equalled the default recomputed
    with today's calendar: once a day off was declared within it, a corrected receipt left
    the wrong receipt's deadline, as if the national system had given it, and a petition
    handled within 15 working days of its receipt counted as late (audit)."""
    admin = make_key("admin")
    created = client.post("/api/v1/petitions", json=BODY, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["deadline_at"].startswith("2025-10-07")  # 15 working days after 16/9
    # A day off declared afterwards (a storm): the deadline told stays, by design.
    day_off = client.put(
        "/api/v1/calendar/overrides/2025-09-24", json={"working": False}, headers=admin
    )
    assert day_off.status_code == 200
    # The national system corrects the receipt (17/9, not 16/9) and reports the handling.
    corrected = {
        **BODY,
        "received_at": "2025-09-17T09:00:00+07:00",
        "handled_at": "2025-10-08T10:00:00+07:00",
    }
    moved = client.post("/api/v1/petitions", json=corrected, headers=admin)
    assert moved.status_code == 200, moved.text
    # 15 working days after 17/9, 24/9 off: the calendar of the correction's time.
    assert moved.json()["deadline_at"].startswith("2025-10-09"), moved.json()
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert score["group5"]["petitions_on_time_rate"] == 1.0


def test_a_deadline_before_the_receipt_is_refused_naming_the_field(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A deadline of 1900 for a petition of 2025 was stored: late before it arrived, and
    the quarterly report counted its working days late one by one (exports audit)."""
    body = {
        "petition_code": "PAKN-1900",
        "agency_code": "79.BTH",
        "received_at": "2025-08-01T09:00:00+07:00",
        "deadline_at": "1900-01-02T17:00:00+07:00",
    }
    response = client.post("/api/v1/petitions", json=body, headers=make_key("admin"))
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"] == "deadline_at" and "before received_at" in field["problem"]
    # The deadline on the day it was received is a deadline (handled at once or late).
    body["deadline_at"] = "2025-08-01T17:00:00+07:00"
    assert client.post("/api/v1/petitions", json=body, headers=make_key("admin")).is_success


@pytest.mark.parametrize("stored", ["handled_at", "deadline_at"])
def test_a_later_receipt_sent_alone_cannot_leave_a_stored_time_before_it(
    client: TestClient, make_key: KeyFactory, stored: str
) -> None:
    """Handled on 18/9, then the receipt sent again alone as 25/9: a 200, handled before it
    was received, and counted as handled on time (audit). The receipt is refused, naming
    the stored time; sent with it, both are taken."""
    admin = make_key("admin")
    first = {**BODY, stored: "2025-09-18T09:00:00+07:00"}
    assert client.post("/api/v1/petitions", json=first, headers=admin).status_code == 201
    later = {**BODY, "received_at": "2025-09-25T09:00:00+07:00"}
    refused = client.post("/api/v1/petitions", json=later, headers=admin)
    assert refused.status_code == 422, refused.text
    [field] = refused.json()["fields"]
    assert field["field"] == "received_at" and stored in field["problem"], field
    both = {**later, stored: "2025-09-26T09:00:00+07:00"}
    taken = client.post("/api/v1/petitions", json=both, headers=admin)
    assert taken.status_code == 200, taken.text
    assert taken.json()[stored].startswith("2025-09-26")


def test_an_import_and_an_update_that_moves_the_score_are_audited(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A key's petition import moves group 5 and so D: who did it, and what it changed,
    is in the audit log (ops audit: nothing was recorded); an update changing nothing the
    score reads is not."""
    issuer, admin = make_key("issuer"), make_key("admin")
    assert client.post("/api/v1/petitions", json=BODY, headers=issuer).status_code == 201
    handled = {**BODY, "handled_at": "2025-09-20T09:00:00+07:00", "citizen_verdict": "unsatisfied"}
    assert client.post("/api/v1/petitions", json=handled, headers=issuer).status_code == 200
    again = {**handled, "outcome": "Đã trả lời công dân"}  # text only: group 5 unchanged
    assert client.post("/api/v1/petitions", json=again, headers=issuer).status_code == 200
    listed = client.get("/api/v1/audit?action=petition.", headers=admin)
    assert listed.status_code == 200, listed.text
    records = listed.json()["data"]
    assert [r["action"] for r in records] == ["petition.update", "petition.import"]
    update, imported = records
    assert {r["actor"].split(":")[0] for r in records} == {"key"}
    assert update["target"] == imported["target"] == "petition:PU-1"
    assert update["detail"]["agency"] == "79.BTH"
    changes = update["detail"]["changes"]
    assert changes["citizen_verdict"] == [None, "unsatisfied"]
    assert changes["handled_at"][0] is None and changes["handled_at"][1].startswith("2025-09-20")
    assert set(changes) == {"handled_at", "citizen_verdict"}
    assert imported["detail"]["changes"]["received_at"][1].startswith("2025-09-16")


def test_a_verdict_on_an_unhandled_petition_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The citizen judges the handling, once, after it (DESIGN; the follow-up page and
    record_verdict refuse a verdict before handling). An import of a verdict with no
    handling time was stored (201), and the agency's console reply was then refused for
    good as already judged (ReplyJudged): the petition could only turn late. (audit)"""
    admin = make_key("admin")
    verdict = {**BODY, "citizen_verdict": "unsatisfied"}
    response = client.post("/api/v1/petitions", json=verdict, headers=admin)
    assert response.status_code == 422, response.text
    [field] = response.json()["fields"]
    assert field["field"] == "citizen_verdict" and "needs handled_at" in field["problem"]
    # Sent with its handling time, or after it, the verdict is taken.
    assert client.post("/api/v1/petitions", json=BODY, headers=admin).status_code == 201
    handled = {**BODY, "handled_at": "2025-09-20T09:00:00+07:00"}
    assert client.post("/api/v1/petitions", json=handled, headers=admin).status_code == 200
    judged = client.post("/api/v1/petitions", json=verdict, headers=admin)
    assert judged.status_code == 200, judged.text
    assert judged.json()["citizen_verdict"] == "unsatisfied"


def test_clearing_the_handling_of_a_judged_petition_is_refused(
    client: TestClient, make_key: KeyFactory
) -> None:
    """handled_at sent as null on a judged petition was taken (200): a verdict on nothing,
    and the agency's reply refused for good as already judged. Refused, naming handled_at;
    cleared with the verdict, both go. (audit)"""
    admin = make_key("admin")
    judged = {**BODY, "handled_at": "2025-09-20T09:00:00+07:00", "citizen_verdict": "satisfied"}
    first = client.post("/api/v1/petitions", json=judged, headers=admin)
    assert first.status_code == 201, first.text
    cleared = client.post("/api/v1/petitions", json={**BODY, "handled_at": None}, headers=admin)
    assert cleared.status_code == 422, cleared.text
    [field] = cleared.json()["fields"]
    assert field["field"] == "handled_at" and "citizen_verdict null" in field["problem"]
    both = {**BODY, "handled_at": None, "citizen_verdict": None}
    reopened = client.post("/api/v1/petitions", json=both, headers=admin)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["handled_at"] is None and reopened.json()["citizen_verdict"] is None


def test_a_petition_can_be_detached_from_the_dossier_it_was_wrongly_given(
    client: TestClient, make_key: KeyFactory
) -> None:
    """An update changes what it sends, null clears: dossier_code sent as null kept the
    dossier, which stayed "bad" in rate c for good. An empty code says neither (keep or
    detach): refused, naming the field. (audit)"""
    admin = make_key("admin")
    made = client.post(
        "/api/v1/handovers",
        json=handover_body(
            dossier_code="PU-W",
            agency_code="79.BTH",
            received_at="2025-09-10T08:30:00+07:00",
            due_at="2025-09-20T17:00:00+07:00",
            resolved_at="2025-09-15T10:00:00+07:00",
        ),
        headers=make_key("issuer"),
    )
    assert made.status_code == 201, made.text
    linked = client.post("/api/v1/petitions", json={**BODY, "dossier_code": "PU-W"}, headers=admin)
    assert linked.status_code == 201, linked.text
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert score["group5"]["dossiers_satisfied_rate"] == 0.0
    empty = client.post("/api/v1/petitions", json={**BODY, "dossier_code": ""}, headers=admin)
    assert empty.status_code == 422, empty.text
    assert [f["field"] for f in empty.json()["fields"]] == ["dossier_code"]
    detached = client.post("/api/v1/petitions", json={**BODY, "dossier_code": None}, headers=admin)
    assert detached.status_code == 200, detached.text
    assert detached.json()["dossier_code"] is None
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert score["group5"]["dossiers_satisfied_rate"] == 1.0


NATIONAL = {**BODY, "petition_code": "PU-OWN", "deadline_at": "2025-09-19T17:00:00+07:00"}


def test_the_wards_own_issuer_key_cannot_turn_its_late_petition_into_one_handled_on_time(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The national system's connector records a petition of the ward handled late. A key
    of the ward's own with the issuer role re-posted it with an earlier handled_at (200),
    and rate a (so D) went from 0 to 1, though D is never the agency's own (DESIGN) and its
    manager key is refused the same. An issuer imports a petition when unscoped or scoped
    above its agency, as the competent authority. (audit)"""
    connector = make_key("issuer")  # the national petition system's, unscoped
    late = {**NATIONAL, "handled_at": "2025-09-25T10:00:00+07:00"}
    assert client.post("/api/v1/petitions", json=late, headers=connector).status_code == 201
    admin = make_key("admin")
    before = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert before["group5"]["petitions_on_time_rate"] == 0.0
    backdated = {**NATIONAL, "handled_at": "2025-09-18T10:00:00+07:00"}
    wards_own = make_key("issuer", "79.BTH")  # the ward's one-stop system
    response = client.post("/api/v1/petitions", json=backdated, headers=wards_own)
    assert response.status_code == 403, response.text
    assert "connector's key" in response.json()["detail"]
    after = client.get("/api/v1/agencies/79.BTH/scores/2025-09", headers=admin).json()
    assert after["group5"]["petitions_on_time_rate"] == 0.0
    # The city's issuer key is above the ward: it may correct the handling.
    city = make_key("issuer", "79")
    assert client.post("/api/v1/petitions", json=backdated, headers=city).status_code == 200
