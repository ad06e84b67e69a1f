"""`hailong purge`: old contact details and free text go, scores stay exactly as they were."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from service.app import create_app
from service.auth.principal import Principal
from service.calendar.working_days import LOCAL_TZ, local_date
from service.db import make_engine, transaction
from service.delivery.worker import DeliveryWorker
from service.models import AuditLog, Petition, Response, ResponseContact, utcnow
from service.models.response import PURGED_COMPLAINT
from service.petitions.service import record_reply
from service.profile import load_profile, profile_of
from service.retention.purge import PURGE_LOCK, purge, purge_unless_under_way
from service.scoring.rebuild import rebuild
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import Backend, DbFactory, KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")


def _answer(
    client: TestClient,
    make_key: KeyFactory,
    code: str,
    at: str,
    attitude: str = "poor",
    wants_reply: bool = False,
) -> None:
    # The dossier received and resolved before its answer: an answer dated before its
    # dossier was received is refused (surveys.service.check_answered_after_receipt).
    answered = datetime.fromisoformat(at)
    times = {
        "received_at": (answered - timedelta(days=5)).isoformat(),
        "due_at": (answered - timedelta(days=1)).isoformat(),
        "resolved_at": (answered - timedelta(days=1)).isoformat(),
    }
    issued = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code=code, **times),
        headers=make_key("issuer"),
    ).json()
    body = {
        "token": issued["survey_url"].rsplit("/", 1)[1],
        "submitted_at": at,
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": attitude,
            "overall": "unsatisfied",
            "complaint": f"Khiếu nại {code}",
            "wants_reply": wants_reply,
        },
        "contact": "0901234567",
        "contact_consent": True,
    }
    assert client.post("/api/v1/responses", json=body, headers=make_key("admin")).status_code == 201


def test_purge_removes_old_contacts_and_texts_and_keeps_scores(
    client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    _answer(client, make_key, "OLD", "2023-01-10T09:00:00+07:00")
    _answer(client, make_key, "NEW", "2025-09-20T09:00:00+07:00")
    admin = make_key("admin")
    before = [
        client.get(f"/api/v1/agencies/G22.39/scores/{p}", headers=admin).json()
        for p in ("2023", "2025")
    ]
    result = cli_for(database_url)("purge", "--older-than-days", "1000")
    assert result.exit_code == 0, result.output
    assert "1 contact(s), 1 complaint text(s)" in result.output
    with db() as session:
        complaints = {r.received_at.year: r.complaint for r in session.exec(select(Response))}
        contacts = session.exec(select(ResponseContact)).all()
        petitions = session.exec(select(Petition)).all()
    assert complaints == {2023: PURGED_COMPLAINT, 2025: "Khiếu nại NEW"}
    assert len(contacts) == 1 and len(petitions) == 2  # petitions (and their dates) stay
    after = [
        client.get(f"/api/v1/agencies/G22.39/scores/{p}", headers=admin).json()
        for p in ("2023", "2025")
    ]
    strip = [{k: v for k, v in s.items() if k != "computed_at"} for s in (*before, *after)]
    assert strip[:2] == strip[2:]


def test_the_purge_line_names_its_cut_off_as_an_instant_with_its_zone(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    """It said "received before 2026-12-06", the UTC date alone: between 17:00 and 24:00
    UTC, when Vietnam's date is a day ahead, an answer given at noon of 06/12 (Vietnam) had
    just lost its contact and text (time-zone audit). It names the instant, in UTC, as
    the other commands' times are."""
    cutoff_day = local_date(utcnow() - timedelta(days=1))
    answered = datetime.combine(cutoff_day - timedelta(days=1), time(12), LOCAL_TZ)
    _answer(client, make_key, "NOON", answered.isoformat())
    result = cli_for(database_url)("purge", "--older-than-days", "1")
    assert result.exit_code == 0, result.output
    assert "1 contact(s), 1 complaint text(s)" in result.output
    said = re.search(r"received before (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC:", result.output)
    assert said, result.output
    cutoff = datetime.strptime(said.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert answered < cutoff <= utcnow()


def test_a_reply_written_inside_the_retention_window_stays(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Texts are as old as their writing: a petition received long ago and answered today
    keeps its reply (the citizen's follow-up page shows it); an old reply goes."""
    admin, profile = make_key("admin"), load_profile("hcmc-104-2024")
    manager = Principal(None, "lan", "manager", None, None)
    long_ago = utcnow() - timedelta(days=800)
    for code in ("ANSWERED-TODAY", "ANSWERED-LONG-AGO"):
        body = {
            "petition_code": code,
            "agency_code": "G22.39",
            "received_at": long_ago.isoformat(),
            "outcome": f"Kết quả {code}",
        }
        assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    with db() as session:
        for petition in session.exec(select(Petition)).all():
            record_reply(session, manager, petition, f"Đã xử lý {petition.code}", utcnow(), profile)
            if petition.code == "ANSWERED-LONG-AGO":
                petition.replied_at = petition.updated_at = long_ago + timedelta(days=3)
                session.add(petition)
    with db() as session:
        assert purge(session, 730, actor="test").petition_texts == 1
    with db() as session:
        texts = {p.code: (p.reply, p.outcome) for p in session.exec(select(Petition))}
    # The outcome is as old as the row's last change (updated_at), the reply as replied_at.
    assert texts == {
        "ANSWERED-TODAY": ("Đã xử lý ANSWERED-TODAY", "Kết quả ANSWERED-TODAY"),
        "ANSWERED-LONG-AGO": (None, None),
    }


def test_a_complaint_awaiting_its_reply_keeps_its_text_and_contact_until_its_deadline_ages(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """A retention shorter than the handling deadline (15 working days) purged a complaint
    twelve days old, and the contact to answer it, before the office had replied: its
    inbox showed a marker where the citizen's words were. Now they stay while the reply is
    awaited and its deadline is younger than the cutoff; a plain comment (no reply asked)
    goes as before, and so does the complaint once it is answered."""
    twelve_days_ago = (utcnow() - timedelta(days=12)).astimezone().isoformat()
    _answer(client, make_key, "ASKS", twelve_days_ago, wants_reply=True)
    _answer(client, make_key, "COMMENTS", twelve_days_ago)

    def kept() -> dict[str, tuple[str | None, int]]:
        with db() as session:
            rows = session.exec(
                select(Petition, Response).where(Petition.response_id == Response.id)
            )
            contacts = {c.response_id for c in session.exec(select(ResponseContact))}
            return {p.code: (r.complaint, int(r.id in contacts)) for p, r in rows}

    with db() as session:
        assert purge(session, 10, actor="test").complaints == 1
    assert kept() == {"HL-ASKS": ("Khiếu nại ASKS", 1), "HL-COMMENTS": (PURGED_COMPLAINT, 0)}
    manager = Principal(None, "lan", "manager", None, None)
    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "HL-ASKS")).one()
        record_reply(
            session, manager, petition, "Đã xử lý", utcnow(), load_profile("hcmc-104-2024")
        )
    with db() as session:
        assert purge(session, 10, actor="test").complaints == 1
    assert kept() == {"HL-ASKS": (PURGED_COMPLAINT, 0), "HL-COMMENTS": (PURGED_COMPLAINT, 0)}


def test_a_comment_given_a_deadline_by_the_connector_still_goes_with_its_retention(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """A comment the citizen asked no reply to stays a comment when the petition system's
    connector gives it a deadline: kept past the retention as a complaint awaiting its
    reply, its text and contact outlived HAILONG_RETENTION_DAYS (review)."""
    twelve_days_ago = utcnow() - timedelta(days=12)
    _answer(client, make_key, "CMT", twelve_days_ago.astimezone().isoformat())
    with db() as session:
        petition = session.exec(select(Petition).where(Petition.code == "HL-CMT")).one()
        assert petition.kind == "comment" and petition.deadline_at is None
    sent = client.post(
        "/api/v1/petitions",
        json={
            "petition_code": "HL-CMT",
            "agency_code": "G22.39",
            "received_at": twelve_days_ago.isoformat(),
            "deadline_at": (utcnow() + timedelta(days=5)).isoformat(),
        },
        headers=make_key("issuer"),
    )
    assert sent.status_code in (200, 201), sent.text
    with db() as session:
        purge(session, 10, actor="test")
    with db() as session:
        response = session.exec(select(Response)).one()
        contacts = session.exec(select(ResponseContact)).all()
        kind = session.exec(select(Petition.kind).where(Petition.code == "HL-CMT")).one()
    assert kind == "comment"
    # A comment (no reply asked) goes as before (commit a116149): its text and contact.
    assert (response.complaint, len(contacts)) == (PURGED_COMPLAINT, 0)


def test_a_purged_complaint_still_caps_tt01s_attitude_live_and_rebuilt(
    database_url: str, make_key: KeyFactory
) -> None:
    """TT 01/2018's indicator 7 caps the attitude's points when a complaint was written:
    the purge emptied the complaint, so a rebuild (or a profile change, which rebuilds at
    start) gave 2 where the live counters said 1, for the agency and the dossier alike."""
    settings = make_settings(database_url, scoring_profile_also="tt-01-2018")
    params = {"profile": "tt-01-2018"}
    with TestClient(create_app(settings)) as client:
        _answer(client, make_key, "OLD", "2023-01-10T09:00:00+07:00", attitude="good")
        admin = make_key("admin")

        def indicator_7() -> tuple[float, float]:
            agency = client.get("/api/v1/agencies/G22.39/scores/2023", params=params, headers=admin)
            dossier = client.get("/api/v1/dossiers/OLD/score", params=params, headers=admin)
            return tuple(
                {i["key"]: i["points"] for i in answer.json()["indicators"]}["staff_attitude"]
                for answer in (agency, dossier)
            )

        before = indicator_7()
        engine = make_engine(settings)
        with transaction(engine) as session:
            assert purge(session, 1000, actor="test").complaints == 1
        with transaction(engine) as session:
            rebuild(session, load_profile("hcmc-104-2024", "tt-01-2018"))
        engine.dispose()
        assert indicator_7() == before == (1.0, 1.0)


def test_the_worker_applies_the_retention_once_a_day_and_records_only_what_it_purged(
    client: TestClient, make_key: KeyFactory, db: DbFactory, settings: Settings
) -> None:
    """HAILONG_RETENTION_DAYS was read by `hailong purge` alone, which nothing ran: a
    default deployment kept a consented phone number answered 800 days ago for good
    (imports and retention audit). The worker's first round purges, and again a day on."""
    answered = utcnow() - timedelta(days=800)
    times = {
        "received_at": (answered - timedelta(days=5)).isoformat(),
        "due_at": (answered - timedelta(days=1)).isoformat(),
        "resolved_at": (answered - timedelta(days=1)).isoformat(),
    }
    issued = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="OLD-1", **times),
        headers=make_key("issuer"),
    )
    assert issued.status_code == 201, issued.text
    body = {
        "token": issued.json()["survey_url"].rsplit("/", 1)[1],
        "submitted_at": answered.isoformat(),
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
            "complaint": "Gọi lại cho tôi",
        },
        "contact": "0901234567",
        "contact_consent": True,
    }
    sent = client.post("/api/v1/responses", json=body, headers=make_key("admin"))
    assert sent.status_code == 201, sent.text
    engine = make_engine(settings)
    worker = DeliveryWorker(engine, settings, profile_of(settings))
    try:
        worker.run_once()
        with db() as session:
            assert session.exec(select(ResponseContact)).all() == []
            [response] = session.exec(select(Response)).all()
            assert response.complaint == PURGED_COMPLAINT
            [done] = session.exec(
                select(AuditLog).where(AuditLog.action == "retention.purge")
            ).all()
            assert (done.actor, done.detail["contacts"]) == ("worker", 1)
        worker.run_once()  # within the day: no second purge, and nothing recorded
        worker._next_purge = 0.0  # a day on: purged again, nothing found, nothing recorded
        worker.run_once()
        with db() as session:
            purges = session.exec(select(AuditLog).where(AuditLog.action == "retention.purge"))
            assert len(purges.all()) == 1
    finally:
        worker.close()
        engine.dispose()


def test_the_worker_skips_a_purge_another_process_is_doing(
    backend: Backend, db: DbFactory, engine: sa.Engine
) -> None:
    """The workers of one deployment start together: the second waited for the first's
    purge in the middle of its round (review). It skips it; `hailong purge` waits."""
    if backend.name != "postgresql":
        pytest.skip("SQLite has one writer: a second purge waits for the write lock")
    with db() as holding:
        holding.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PURGE_LOCK})
        with Session(engine) as session:
            assert purge_unless_under_way(session, 730) is None
            session.rollback()
    with db() as session:
        assert purge_unless_under_way(session, 730) is not None
