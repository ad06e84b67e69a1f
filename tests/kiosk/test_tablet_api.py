"""A paired tablet's calls: the survey handed over at its counter, codes typed or scanned at
it, answers stored once, and what it may not answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select, update

from service.models import Invitation, KioskPresentation, Petition, Response, utcnow
from service.settings import ROOT
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.hardening.test_guessing import away_from_a_window_end
from tests.kiosk.conftest import ANSWERS, hand_over, pair, period_of_now

pytestmark = pytest.mark.usefixtures("agencies")


def answer(
    client: TestClient,
    survey_id: str,
    submission: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Any:
    body = {"survey_id": survey_id, "answers": ANSWERS, "client_submission_id": submission}
    return client.post("/kiosk/api/answers", json={**body, **extra}, headers=headers)


def test_the_survey_handed_over_at_the_counter_is_next_and_answered_once(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    assert client.get("/kiosk/api/next").json() == {"survey": None}
    issued = hand_over(client, make_key)

    card = client.get("/kiosk/api/next").json()["survey"]
    assert card["survey_id"] == issued["survey_id"]
    assert card["dossier_code"] == "G22.39-250915-0001"
    assert card["agency_name"] == "UBND Phường Tân Định"
    assert card["procedure_name"] == "Đăng ký khai sinh"
    assert card["short_code"] == issued["short_code"]
    assert "token" not in card and "survey_url" not in card  # the tablet never holds it
    # Seen already: not offered again.
    assert client.get(f"/kiosk/api/next?after={card['cursor']}").json() == {"survey": None}

    # The screen's language comes as a header (a server older than the page ignores it).
    first = answer(client, card["survey_id"], "tap-1", headers={"Content-Language": "en-GB"})
    assert first.status_code == 201, first.text
    # The same submission again (a retry after a drop, a second tap): stored once.
    replay = answer(client, card["survey_id"], "tap-1")
    assert replay.status_code == 200
    assert replay.json() == first.json()
    # The same submission id with other answers is not a retry: nothing stored, 409.
    changed = answer(
        client, card["survey_id"], "tap-1", answers={**ANSWERS, "overall": "unsatisfied"}
    )
    assert (changed.status_code, changed.json()["error"]) == (409, "already_answered")
    # Another submission for the same dossier: refused politely.
    second = answer(client, card["survey_id"], "tap-2")
    assert second.status_code == 409
    assert second.json()["error"] == "already_answered"
    assert "Thank you" in second.json()["detail"]
    # Answered: no longer offered even without a cursor.
    assert client.get("/kiosk/api/next").json() == {"survey": None}

    with db() as session:
        responses = session.exec(select(Response)).all()
        assert [(r.source, r.client_submission_id, r.language) for r in responses] == [
            ("kiosk", "tap-1", "en")  # the screen's language, as the tablet said
        ]
        assert session.exec(select(Invitation)).one().status == "answered"
    # ... and it is in the scores, as one evaluation.
    score = client.get(
        f"/api/v1/agencies/G22.39/scores/{period_of_now()}", headers=make_key("reader")
    ).json()
    assert score["counts"]["evaluations"] == 1


def test_a_tablet_answers_only_surveys_presented_at_its_agencys_counters(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key, counter="Q01")
    elsewhere = hand_over(
        client, make_key, dossier_code="D-2", agency_code="79.BTH", counter_code="Q02"
    )
    assert client.get("/kiosk/api/next").json() == {"survey": None}  # not this counter's
    refused = answer(client, elsewhere["survey_id"], "x-1")
    assert refused.status_code == 403
    assert "not handed over at a counter of this tablet's agency" in refused.json()["detail"]

    # The citizen types the slip's short code at this tablet: now it may.
    found = client.post("/kiosk/api/lookup", json={"code": elsewhere["short_code"]})
    assert found.status_code == 200, found.text
    assert found.json()["survey_id"] == elsewhere["survey_id"]
    again = client.post("/kiosk/api/lookup", json={"code": elsewhere["short_code"].lower()})
    assert again.status_code == 200  # a second lookup (double tap) is harmless
    assert answer(client, elsewhere["survey_id"], "x-2").status_code == 201
    with db() as session:
        assert len(session.exec(select(KioskPresentation)).all()) == 1

    unknown = answer(client, "00000000-0000-0000-0000-000000000000", "x-3")
    assert unknown.status_code == 404


def test_codes_a_citizen_brings_scanned_link_dossier_code_short_code(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key, counter="Q09")
    by_link = hand_over(client, make_key, dossier_code="L-1", counter_code=None)
    found = client.post("/kiosk/api/lookup", json={"code": by_link["survey_url"]})
    assert found.status_code == 200
    assert found.json()["dossier_code"] == "L-1"

    hand_over(client, make_key, dossier_code="G22.39-DOSSIER-7", counter_code="Q01")
    by_dossier = client.post("/kiosk/api/lookup", json={"code": " G22.39-DOSSIER-7 "})
    assert by_dossier.status_code == 200
    assert by_dossier.json()["dossier_code"] == "G22.39-DOSSIER-7"

    # Dossier codes run in sequence: a tablet collected and answered every open survey of
    # its agency by trying them (audit). Only a dossier handed over at a counter within the
    # last day is found by its code; one returned online (its survey went by SMS) or long
    # ago is found by its short code only.
    online = hand_over(client, make_key, dossier_code="G22.39-DOSSIER-8", counter_code=None)
    assert client.post("/kiosk/api/lookup", json={"code": "G22.39-DOSSIER-8"}).status_code == 404
    by_short = client.post("/kiosk/api/lookup", json={"code": online["short_code"]})
    assert by_short.status_code == 200
    nine = hand_over(client, make_key, dossier_code="G22.39-DOSSIER-9", counter_code="Q01")
    with db() as session:
        session.execute(
            update(Invitation)
            .where(col(Invitation.public_id) == nine["survey_id"])
            .values(issued_at=utcnow() - timedelta(days=2))
        )
    assert client.post("/kiosk/api/lookup", json={"code": "G22.39-DOSSIER-9"}).status_code == 404

    # Dossier codes are easy to guess: only the tablet's own agency's are found by them.
    hand_over(client, make_key, dossier_code="BTH-1", agency_code="79.BTH", counter_code=None)
    other_agency = client.post("/kiosk/api/lookup", json={"code": "BTH-1"})
    assert other_agency.status_code == 404
    assert "Check the survey code" in other_agency.json()["detail"]


def test_answered_and_revoked_surveys_are_refused_at_lookup(
    client: TestClient, make_key: KeyFactory
) -> None:
    pair(client, make_key)
    answered = hand_over(client, make_key, dossier_code="A-1")
    assert answer(client, answered["survey_id"], "a-1").status_code == 201
    assert (
        client.post("/kiosk/api/lookup", json={"code": answered["short_code"]}).status_code == 409
    )
    revoked = hand_over(client, make_key, dossier_code="R-1")
    client.post("/api/v1/handovers/R-1/revoke", headers=make_key("issuer"))
    gone = client.post("/kiosk/api/lookup", json={"code": revoked["short_code"]})
    assert gone.status_code == 410
    assert answer(client, revoked["survey_id"], "r-1").status_code == 410


def test_wrong_codes_at_a_tablet_are_rate_limited(client: TestClient, make_key: KeyFactory) -> None:
    pair(client, make_key)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    limit = settings.guess_limit
    away_from_a_window_end(settings, margin=5)  # the count starts afresh at a window's end
    statuses = [
        client.post("/kiosk/api/lookup", json={"code": f"WRONG-{n}"}).status_code
        for n in range(limit + 2)
    ]
    assert statuses[:limit] == [404] * limit
    assert statuses[limit:] == [429, 429]


def test_invalid_answers_get_fields_and_nothing_is_stored(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    bad = client.post(
        "/kiosk/api/answers",
        json={
            "survey_id": issued["survey_id"],
            "answers": {**ANSWERS, "overall": "meh", "timeliness": None},
            "client_submission_id": "b-1",
        },
    )
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["fields"]}
    assert fields == {"answers.overall", "answers.timeliness"}
    no_id = client.post(
        "/kiosk/api/answers", json={"survey_id": issued["survey_id"], "answers": ANSWERS}
    )
    assert no_id.status_code == 422
    assert no_id.json()["fields"][0]["field"] == "client_submission_id"
    with db() as session:
        assert session.exec(select(Response)).all() == []


def test_control_characters_in_a_contact_or_submission_id_are_refused_as_by_the_api(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    contact = "a\x01b@example.com"
    phone = client.post(
        "/api/v1/responses",
        json={
            "token": issued["survey_url"].rsplit("/", 1)[1],
            "answers": ANSWERS,
            "contact": contact,
            "contact_consent": True,
        },
    )
    assert phone.status_code == 422
    at_kiosk = answer(client, issued["survey_id"], "k-1", contact=contact, contact_consent=True)
    assert at_kiosk.status_code == 422, at_kiosk.text
    assert at_kiosk.json()["fields"] == phone.json()["fields"]
    assert at_kiosk.json()["fields"] == [
        {"field": "contact", "problem": "must not contain the control character U+0001"}
    ]
    # A NUL went into the table on SQLite (PostgreSQL's refusal came only when it wrote).
    nul = answer(client, issued["survey_id"], "a\x00b")
    assert nul.status_code == 422, nul.text
    assert nul.json()["fields"] == [
        {"field": "client_submission_id", "problem": "must not contain the NUL character (\\u0000)"}
    ]
    with db() as session:
        assert session.exec(select(Response)).all() == []


def test_an_answer_kept_offline_counts_when_it_was_given(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key, dossier_code="O-1")
    with db() as session:  # shown at the counter five minutes ago
        session.execute(
            update(Invitation)
            .where(col(Invitation.public_id) == issued["survey_id"])
            .values(issued_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    given = datetime.now(UTC) - timedelta(seconds=40)
    assert (
        answer(client, issued["survey_id"], "o-1", answered_at=given.isoformat()).status_code == 201
    )
    # A tablet whose clock runs a day ahead does not move an answer into the future.
    later = hand_over(client, make_key, dossier_code="O-2")
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert answer(client, later["survey_id"], "o-2", answered_at=ahead).status_code == 201
    with db() as session:
        stored = {r.client_submission_id: r.received_at for r in session.exec(select(Response))}
    assert abs((stored["o-1"] - given).total_seconds()) < 1
    assert stored["o-2"] <= datetime.now(UTC)


def test_an_answer_is_never_received_before_its_survey_was_issued(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The tablet's time was taken within two minutes (the clock skew allowed) before the
    survey's issue: issued at 00:00:30 on the 1st, answered "at 23:59:30", it counted in the
    month before (kiosk audit)."""
    pair(client, make_key)
    issued = hand_over(client, make_key)
    issued_at = datetime.now(UTC) - timedelta(minutes=10)
    with db() as session:
        session.execute(
            update(Invitation)
            .where(col(Invitation.public_id) == issued["survey_id"])
            .values(issued_at=issued_at)
        )
    early = (issued_at - timedelta(seconds=60)).isoformat()
    assert answer(client, issued["survey_id"], "early-1", answered_at=early).status_code == 201
    with db() as session:
        assert session.exec(select(Response)).one().received_at == issued_at


def test_an_outbox_answer_survives_a_repost_of_its_dossier_without_the_counter(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The tablet showed the survey handed over at its counter and thanked the citizen; the
    one-stop system then posted the dossier again (a fact corrected) without counter_code,
    and the answer arriving from the tablet's outbox was refused for good, 403 (kiosk
    audit). The counter it was shown at is remembered."""
    pair(client, make_key, counter="Q01")
    shown = hand_over(client, make_key, dossier_code="RP-1", counter_code="Q01")
    again = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="RP-1", counter_code=None, supplement_requests=1),
        headers=make_key("issuer"),
    )
    assert again.status_code == 200, again.text
    stored = answer(client, shown["survey_id"], "rp-1")
    assert stored.status_code == 201, stored.text
    with db() as session:
        assert len(session.exec(select(Response)).all()) == 1
        assert len(session.exec(select(KioskPresentation)).all()) == 1
    # Posted again without a counter before it was ever at one: no tablet may answer it.
    online = hand_over(client, make_key, dossier_code="RP-2", counter_code=None)
    refused = answer(client, online["survey_id"], "rp-2")
    assert refused.status_code == 403


def test_a_tablet_clock_days_slow_moves_no_answer_back(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An old survey typed in at a tablet whose clock ran 15 days slow was stored 15 days
    back, maybe in an earlier period (audit). The tablet also sends its clock at sending:
    the time between the two is what counts, on the server's clock."""
    pair(client, make_key)
    issued = hand_over(client, make_key, dossier_code="SLOW-1", counter_code=None)
    with db() as session:
        session.execute(
            update(Invitation)
            .where(col(Invitation.public_id) == issued["survey_id"])
            .values(issued_at=utcnow() - timedelta(days=20))
        )
    card = client.post("/kiosk/api/lookup", json={"code": issued["short_code"]}).json()
    slow = datetime.now(UTC) - timedelta(days=15)  # the tablet's "now"
    body = {
        "survey_id": card["survey_id"],
        "answers": ANSWERS,
        "client_submission_id": "slow-1",
        "answered_at": (slow - timedelta(minutes=3)).isoformat(),  # kept 3 min offline
        "sent_at": slow.isoformat(),
    }
    assert client.post("/kiosk/api/answers", json=body).status_code == 201
    with db() as session:
        stored = session.exec(select(Response)).one().received_at
    lag = datetime.now(UTC) - stored
    assert timedelta(minutes=2) < lag < timedelta(minutes=4), lag


def test_a_complaint_given_at_the_kiosk_goes_to_the_feedback_inbox_not_to_d(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    response = client.post(
        "/kiosk/api/answers",
        json={
            "survey_id": issued["survey_id"],
            "answers": {**ANSWERS, "complaint": "Quầy đông, chờ lâu", "wants_reply": True},
            "client_submission_id": "c-1",
        },
    )
    assert response.status_code == 201
    with db() as session:
        item = session.exec(select(Petition)).one()
    assert (item.source, item.kind, item.deadline_at is not None) == ("survey", "petition", True)
    score = client.get(
        f"/api/v1/agencies/G22.39/scores/{period_of_now()}", headers=make_key("reader")
    ).json()
    # Not a national-channel petition: it counts in neither group 5 nor D.
    assert score["counts"]["petitions"] == 0
    assert score["group5"]["petitions_on_time_rate"] is None


def test_a_language_the_server_cannot_read_is_stored_as_none_never_refused(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The tablet drops an answer the server refuses: a Content-Language it cannot read
    (another language, a garbled tag) leaves the answer's language unknown, and stores it."""
    pair(client, make_key)
    tags = {"k-1": "fr-FR", "k-2": "x" * 300, "k-3": "VI"}
    for submission, tag in tags.items():
        issued = hand_over(client, make_key, dossier_code=f"D-{submission}")
        sent = answer(client, issued["survey_id"], submission, headers={"Content-Language": tag})
        assert sent.status_code == 201, sent.text
    with db() as session:
        stored = session.exec(select(Response.client_submission_id, Response.language)).all()
    assert sorted(stored) == [("k-1", None), ("k-2", None), ("k-3", "vi")]


def test_an_unpaired_browser_gets_401_everywhere(client: TestClient) -> None:
    for method, path, body in [
        ("GET", "/kiosk/api/state", None),
        ("GET", "/kiosk/api/next", None),
        ("GET", "/kiosk/api/waiting", None),
        ("GET", "/kiosk/api/events", None),
        ("POST", "/kiosk/api/lookup", {"code": "ABCD-EFGH"}),
        (
            "POST",
            "/kiosk/api/answers",
            {"survey_id": "x", "answers": ANSWERS, "client_submission_id": "u"},
        ),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"] == "unauthorized"


def test_the_page_and_its_service_worker(client: TestClient) -> None:
    page = client.get("/kiosk")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/static/kiosk/main.js"></script>' in page.text
    assert "Hồ sơ có được trả đúng hẹn không?" in page.text  # the profile's questions
    assert "Was your result ready on the promised date?" in page.text  # and in English
    worker = client.get("/kiosk/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/kiosk"
    assert worker.headers["content-type"].startswith("text/javascript")
    # It keeps every module of the page for offline use, and each is served as JavaScript.
    for module in sorted((ROOT / "static" / "kiosk").glob("*.js")):
        assert f'"{module.stem}"' in worker.text, module.name
        served = client.get(f"/static/kiosk/{module.name}")
        assert served.status_code == 200
        assert "javascript" in served.headers["content-type"]


def _expire(db: DbFactory, ago: timedelta) -> None:
    """Every invitation expired `ago`, issued two hours before that."""
    with db() as session:
        for invitation in session.exec(select(Invitation)).all():
            invitation.expires_at = utcnow() - ago
            invitation.issued_at = invitation.expires_at - timedelta(hours=2)
            session.add(invitation)


def test_an_answer_given_before_expiry_and_delivered_after_is_stored(
    client: TestClient, make_key: KeyFactory, db: DbFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The tablet thanks the citizen when the answer enters its outbox; delivered after the
    survey's expiry it was a 410, and the outbox dropped it (audit). Judged when given."""
    pair(client, make_key)
    given, late = (hand_over(client, make_key, dossier_code=c) for c in ("OUT-1", "OUT-2"))
    _expire(db, timedelta(minutes=30))
    now = datetime.now(UTC)

    def answered(ago: timedelta) -> dict[str, Any]:  # the tablet's clock, as it sends them
        return {"answered_at": (now - ago).isoformat(), "sent_at": now.isoformat()}

    stored = answer(client, given["survey_id"], "outbox-1", **answered(timedelta(hours=1)))
    assert stored.status_code == 201, stored.text
    refused = answer(client, late["survey_id"], "outbox-2", **answered(timedelta(minutes=5)))
    assert refused.status_code == 410 and refused.json()["error"] == "expired"
    # The tablet drops an answer refused for good: the server's log is where it is seen.
    assert f"kiosk answer refused: 410 expired (survey {late['survey_id']}" in caplog.text
    with db() as session:
        [response] = session.exec(select(Response)).all()
        assert response.client_submission_id == "outbox-1"


def test_a_tablet_cannot_date_an_answer_past_a_weekend_offline(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(scoring audit) The device key was enough to answer a survey expired ten days
    before: `answered_at` 39 days back, `sent_at` now, and it was stored, dated into a
    period already reported. An outbox's allowance is a weekend's outage
    (OFFLINE_ALLOWANCE); an answer said to be older is judged and dated now."""
    pair(client, make_key)
    old, recent = (hand_over(client, make_key, dossier_code=c) for c in ("AGED-1", "AGED-2"))
    with db() as session:
        for invitation in session.exec(select(Invitation)).all():
            invitation.issued_at = utcnow() - timedelta(days=40)
            invitation.expires_at = utcnow() - timedelta(hours=1)
            session.add(invitation)
    now = datetime.now(UTC)

    def kept(ago: timedelta) -> dict[str, Any]:
        return {"answered_at": (now - ago).isoformat(), "sent_at": now.isoformat()}

    refused = answer(client, old["survey_id"], "aged-1", **kept(timedelta(days=39)))
    assert refused.status_code == 410 and refused.json()["error"] == "expired"
    # Within the allowance, judged and dated when given: before the expiry, stored.
    stored = answer(client, recent["survey_id"], "aged-2", **kept(timedelta(days=2)))
    assert stored.status_code == 201, stored.text
    with db() as session:
        [response] = session.exec(select(Response)).all()
    assert abs(response.received_at - (utcnow() - timedelta(days=2))) < timedelta(minutes=1)


def test_an_answer_waiting_in_the_outbox_is_stored_after_pairing_at_another_counter(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Queued at Q01, the tablet unpaired (401: kept) and paired at Q02 of the same agency:
    a 403 "not this counter", and the outbox dropped it (audit)."""
    pair(client, make_key, counter="Q01")
    queued = hand_over(client, make_key, dossier_code="OUT-3", counter_code="Q01")
    pair(client, make_key, counter="Q02")
    stored = answer(client, queued["survey_id"], "outbox-3")
    assert stored.status_code == 201, stored.text


def test_an_admin_import_judges_expiry_at_submitted_at(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """A past evaluation from an older system, given before the survey expired."""
    issued = hand_over(client, make_key, dossier_code="OUT-4", counter_code=None)
    _expire(db, timedelta(days=1))
    body = {
        "token": issued["survey_url"].rsplit("/", 1)[1],
        "answers": ANSWERS,
        "submitted_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
    }
    admin = make_key("admin")
    assert client.post("/api/v1/responses", json=body, headers=admin).status_code == 201
