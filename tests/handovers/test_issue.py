"""POST /api/v1/handovers and revoke, as one-stop systems use them (API.md)."""

from __future__ import annotations

import threading
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from service.admin.agencies import upsert_agency
from service.auth.principal import Principal
from service.calendar.working_days import LOCAL_TZ
from service.db import commit as db_commit
from service.db import transaction
from service.handovers import one_by_one, revoking, tokens
from service.handovers.schemas import HandoverCreate
from service.migrations import alembic_config
from service.models import (
    COUNT_COLUMNS,
    Agency,
    AuditLog,
    Counter,
    Dossier,
    Invitation,
    InvitationContact,
    Official,
    Staff,
    utcnow,
)
from service.models.alerts import Alert
from service.profile import Profile, profile_of
from service.scoring.rebuild import rebuild
from service.settings import Settings
from tests.conftest import Backend, DbFactory, KeyFactory, handover_body
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"
FIELDS = {
    "survey_id",
    "dossier_code",
    "survey_url",
    "short_code",
    "qr_svg_url",
    "qr_png_url",
    "slip_url",
    "expires_at",
    "status",
    "messages",
}


def test_contract_example_returns_201_with_every_field(
    client: TestClient, make_key: KeyFactory
) -> None:
    response = client.post(URL, json=handover_body(), headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert body["dossier_code"] == "G22.39-250915-0001"
    assert body["status"] == "issued"
    token = body["survey_url"].removeprefix("http://testserver/s/")
    assert body["survey_url"] == f"http://testserver/s/{token}"
    assert body["qr_svg_url"] == f"{body['survey_url']}/qr.svg"
    assert body["qr_png_url"] == f"{body['survey_url']}/qr.png"
    assert body["slip_url"] == f"{body['survey_url']}/slip"
    # 256-bit HMAC, url-safe base64: well over the 128 random bits the contract asks for.
    assert len(token) == 43
    code = body["short_code"]
    assert len(code) == 9 and code[4] == "-"
    assert all(ch in tokens.SHORT_CODE_ALPHABET for ch in code.replace("-", ""))
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29, hours=23) < expires - datetime.now(UTC) <= timedelta(days=30)


def test_same_dossier_again_returns_200_same_link_and_updates_facts(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(), headers=key).json()
    again = client.post(
        URL, json=handover_body(supplement_requests=2, procedure_name="Khai tử"), headers=key
    )
    assert again.status_code == 200
    assert again.json() == first
    with db() as session:
        dossier = session.exec(select(Dossier)).one()
        assert dossier.supplement_requests == 2
        assert dossier.procedure_name == "Khai tử"
        assert session.exec(select(func.count()).select_from(Invitation)).one() == 1


def _dossier_updates(client: TestClient, make_key: KeyFactory) -> list[dict[str, Any]]:
    audit = client.get("/api/v1/audit", params={"action": "dossier."}, headers=make_key("admin"))
    assert audit.status_code == 200, audit.text
    entries: list[dict[str, Any]] = audit.json()["data"]
    return entries


def test_a_repost_changing_an_answered_dossiers_facts_leaves_an_audit_trail(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A due time moved after the citizen answered turns an on-time dossier late, or a late
    one on time, and so moves the agency's score: it was a 200 that no one could trace.
    Posted again unchanged (a retry), nothing is recorded."""
    key = make_key("issuer")
    issued = client.post(URL, json=handover_body(), headers=key).json()
    token = issued["survey_url"].rsplit("/", 1)[-1]
    answered = client.post("/api/v1/responses", json={"token": token, "answers": ANSWERS})
    assert answered.status_code == 201, answered.text
    assert client.post(URL, json=handover_body(), headers=key).status_code == 200
    assert _dossier_updates(client, make_key) == []

    moved = handover_body(
        due_at="2025-09-14T17:00:00+07:00",
        staff={"receiving": "CB001", "handling": "CB009", "returning": "CB003"},
    )
    assert client.post(URL, json=moved, headers=key).status_code == 200
    [entry] = _dossier_updates(client, make_key)
    assert entry["action"] == "dossier.update"
    assert entry["target"] == "dossier:G22.39:G22.39-250915-0001"
    assert entry["actor"].startswith("key:")
    assert entry["detail"] == {
        "from": {
            "due_at": "2025-09-15T10:00:00+00:00",
            "is_late": False,
            "overdue_working_days": 0,
            "staff.handling": "CB002",
        },
        "to": {
            "due_at": "2025-09-14T10:00:00+00:00",
            "is_late": True,
            "overdue_working_days": 1,
            "staff.handling": "CB009",
        },
        "answered": True,
    }


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("vi", ["Mã đánh giá", "In phiếu", "Hạn đánh giá: {time} ngày {day}"]),
        ("en", ["Survey code", "Print slip", "Answer by: {time} on {day}"]),
    ],
)
def test_the_slip_speaks_the_invitations_language(
    client: TestClient, make_key: KeyFactory, language: str, words: list[str]
) -> None:
    """The survey page of an "en" invitation is English (API.md); its slip said Vietnamese
    only, to the citizen it was printed for."""
    body = handover_body(language=language)
    issued = client.post(URL, json=body, headers=make_key("issuer")).json()
    slip = client.get(issued["slip_url"].removeprefix("http://testserver"))
    assert slip.status_code == 200
    assert f'lang="{language}"' in slip.text
    # The hour the survey ends as well as its day: the date alone read as "through that
    # day" to a citizen who then met "expired" (audit).
    ends = datetime.fromisoformat(issued["expires_at"]).astimezone(LOCAL_TZ)
    shown = [w.format(time=f"{ends:%H:%M}", day=f"{ends:%d/%m/%Y}") for w in words]
    assert all(word in slip.text for word in shown), slip.text
    assert issued["short_code"] in slip.text


def test_only_a_hash_of_the_token_is_stored(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    body = client.post(URL, json=handover_body(), headers=make_key("issuer")).json()
    token = body["survey_url"].rsplit("/", 1)[1]
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        stored = " ".join(str(v) for v in invitation.model_dump().values())
    assert token not in stored
    assert invitation.token_hash == tokens.hash_token(token)


def test_unknown_staff_and_counter_are_registered_under_the_agency(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    client.post(URL, json=handover_body(), headers=make_key("issuer"))
    with db() as session:
        codes = sorted(s.code for s in session.exec(select(Staff)).all())
        counters = [c.code for c in session.exec(select(Counter)).all()]
    assert codes == ["CB001", "CB002", "CB003"]
    assert counters == ["Q01"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resolved_at": "2025-09-15T10:00:00"}, "resolved_at"),
        ({"due_at": "2025-09-15 17:00"}, "due_at"),
        ({"resolved_at": None}, "resolved_at"),
        ({"dossier_code": "has space"}, "dossier_code"),
        ({"supplement_requests": -1}, "supplement_requests"),
        ({"channel": "pigeon"}, "channel"),
        ({"language": "fr"}, "language"),
        ({"staff": {"boss": "X"}}, "staff.boss"),
        ({"citizen_name": "Nguyễn Văn A"}, "citizen_name"),
        ({"agency_code": "NOPE"}, "agency_code"),
        ({"resolved_at": "2025-09-09T10:00:00+07:00"}, "resolved_at"),
        ({"resolved_at": "2099-01-01T00:00:00+07:00"}, "resolved_at"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: TestClient,
    make_key: KeyFactory,
    change: dict[str, object],
    field: str,
) -> None:
    response = client.post(URL, json=handover_body(**change), headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert field in [f["field"] for f in body["fields"]]
    assert body["detail"]


def test_missing_required_fields_are_each_named(client: TestClient, make_key: KeyFactory) -> None:
    response = client.post(URL, json={}, headers=make_key("issuer"))
    assert response.status_code == 422
    named = {f["field"] for f in response.json()["fields"]}
    assert {"dossier_code", "agency_code", "resolved_at"} <= named


def test_malformed_json_is_422_not_500(client: TestClient, make_key: KeyFactory) -> None:
    headers = {**make_key("issuer"), "Content-Type": "application/json"}
    response = client.post(URL, content=b'{"dossier_code": ', headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


def test_no_key_is_401_and_bad_key_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer hl_not-a-key"}, {"Authorization": "Basic x"}):
        response = client.post(URL, json=handover_body(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["reader", "manager", "kiosk"])
def test_roles_that_do_not_issue_get_403(
    client: TestClient, make_key: KeyFactory, role: str
) -> None:
    response = client.post(URL, json=handover_body(), headers=make_key(role))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_admin_may_issue(client: TestClient, make_key: KeyFactory) -> None:
    assert client.post(URL, json=handover_body(), headers=make_key("admin")).status_code == 201


def test_scoped_issuer_only_issues_inside_its_tree(
    client: TestClient, make_key: KeyFactory
) -> None:
    ward_key = make_key("issuer", agency="79.BTH")
    inside = client.post(URL, json=handover_body(agency_code="79.BTH"), headers=ward_key)
    assert inside.status_code == 201
    outside = client.post(
        URL, json=handover_body(dossier_code="other", agency_code="79.SGN"), headers=ward_key
    )
    assert outside.status_code == 403
    province_key = make_key("issuer", agency="79")
    below = client.post(
        URL, json=handover_body(dossier_code="d3", agency_code="79.SGN"), headers=province_key
    )
    assert below.status_code == 201


def test_scoped_issuer_cannot_take_over_another_agencys_dossier(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    # Dossier codes are unique per agency: the same code posted for another agency is that
    # agency's own dossier, with its own survey; the first one is left as it was.
    first = client.post(URL, json=handover_body(agency_code="79.SGN"), headers=make_key("issuer"))
    ward_key = make_key("issuer", agency="79.BTH")
    response = client.post(
        URL, json=handover_body(agency_code="79.BTH", procedure_code="9.9"), headers=ward_key
    )
    assert response.status_code == 201
    assert response.json()["survey_id"] != first.json()["survey_id"]
    assert response.json()["survey_url"] != first.json()["survey_url"]
    with db() as session:
        rows = session.exec(
            select(Agency.code, Dossier.procedure_code).join(
                Agency, col(Agency.id) == col(Dossier.agency_id)
            )
        ).all()
    assert sorted(rows) == [("79.BTH", "9.9"), ("79.SGN", "1.001612")]


def test_a_key_of_another_agency_changes_no_facts_and_withdraws_no_consent(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The re-post's writes (its facts, their audit record, a consent withdrawn) happen
    only inside the key's scope: a ward's key naming its neighbour's dossier is refused
    before any of them."""
    contact = {"email": "dan@example.vn", "consent": True}
    body = handover_body(agency_code="79.SGN", contact=contact)
    assert client.post(URL, json=body, headers=make_key("issuer")).status_code == 201
    withdrawn = {**contact, "consent": False}
    moved = {**body, "due_at": "2025-09-14T17:00:00+07:00", "contact": withdrawn}
    refused = client.post(URL, json=moved, headers=make_key("issuer", agency="79.BTH"))
    assert refused.status_code == 403
    with db() as session:
        dossier = session.exec(select(Dossier)).one()
        assert dossier.due_at == datetime(2025, 9, 15, 10, tzinfo=UTC)
        assert session.exec(select(AuditLog).where(AuditLog.action == "dossier.update")).all() == []
        assert session.exec(select(InvitationContact)).one().email == "dan@example.vn"


def test_revoked_key_is_401(client: TestClient, make_key: KeyFactory, db: DbFactory) -> None:
    from service.admin.keys import revoke_key
    from service.models import ApiKey

    headers = make_key("issuer")
    with db() as session:
        key_id = session.exec(select(ApiKey.id)).one()
        assert key_id is not None
        revoke_key(session, key_id, actor="test")
    assert client.post(URL, json=handover_body(), headers=headers).status_code == 401


def test_revoke_then_link_and_repost_say_revoked(client: TestClient, make_key: KeyFactory) -> None:
    key = make_key("issuer")
    issued = client.post(URL, json=handover_body(), headers=key).json()
    revoked = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["survey_url"] == issued["survey_url"]
    again = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert again.status_code == 200
    # Posting a revoked dossier again issues a fresh survey (201): a new survey id, link and
    # short code on the dossier's one invitation; the revoked link stays dead (now unknown).
    repost = client.post(URL, json=handover_body(), headers=key)
    assert repost.status_code == 201, repost.text
    fresh = repost.json()
    assert fresh["status"] == "issued"
    assert fresh["survey_id"] != issued["survey_id"]
    assert fresh["survey_url"] != issued["survey_url"]
    assert fresh["short_code"] != issued["short_code"]
    qr = client.get(issued["qr_png_url"].removeprefix("http://testserver"))
    assert qr.status_code == 404
    assert client.get(fresh["survey_url"].removeprefix("http://testserver")).status_code == 200
    # Posted again while the fresh survey is open: the same survey, 200.
    same = client.post(URL, json=handover_body(), headers=key)
    assert same.status_code == 200 and same.json()["survey_id"] == fresh["survey_id"]


def test_the_revoke_answer_says_what_became_of_the_messages(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The revoke answers as the handover does, `messages` included: it said `[]` of every
    dossier, which means "no channel configured and no contact" (audit)."""
    key = make_key("issuer")
    contact = {"phone": "0912345678", "email": "dan@example.vn", "consent": True}
    issued = client.post(URL, json=handover_body(contact=contact), headers=key).json()
    assert len(issued["messages"]) == 3
    revoked = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert revoked.status_code == 200
    assert revoked.json()["messages"] == issued["messages"]


def test_revoke_finds_the_dossier_by_the_agency_code_the_handover_accepted(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The handover takes " G22.39 " as G22.39 (codes are matched without the spaces
    around them); the revoke naming the same agency code said the survey was never
    issued (audit)."""
    key = make_key("issuer")
    issued = client.post(URL, json=handover_body(agency_code=" G22.39 "), headers=key)
    assert issued.status_code == 201, issued.text
    revoked = client.post(
        f"{URL}/G22.39-250915-0001/revoke", params={"agency_code": " G22.39 "}, headers=key
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"


def test_an_empty_agency_code_on_revoke_is_a_422_not_an_unknown_agency(
    client: TestClient, make_key: KeyFactory
) -> None:
    """As for the scores (`?agency_code=` is refused, not read as a value): the revoke said
    "No survey was issued for dossier ... of agency ''" (audit)."""
    key = make_key("issuer")
    assert client.post(URL, json=handover_body(), headers=key).status_code == 201
    revoked = client.post(f"{URL}/G22.39-250915-0001/revoke?agency_code=", headers=key)
    assert revoked.status_code == 422, revoked.text
    assert revoked.json()["fields"][0]["field"] == "agency_code"


def test_revoke_rules(client: TestClient, make_key: KeyFactory) -> None:
    key = make_key("issuer")
    assert client.post(f"{URL}/nope/revoke", headers=key).status_code == 404
    client.post(URL, json=handover_body(agency_code="79.SGN"), headers=key)
    # Outside the key's scope a dossier is not found: the answer does not tell that it exists.
    ward_key = make_key("issuer", agency="79.BTH")
    assert client.post(f"{URL}/G22.39-250915-0001/revoke", headers=ward_key).status_code == 404
    assert (
        client.post(f"{URL}/G22.39-250915-0001/revoke", headers=make_key("reader")).status_code
        == 403
    )


def test_answered_invitation_cannot_be_revoked(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    key = make_key("issuer")
    client.post(URL, json=handover_body(), headers=key)
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        invitation.status = "answered"
        session.add(invitation)
    response = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert response.status_code == 409


def test_an_answer_stored_while_a_revoke_reads_makes_the_revoke_a_409(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The revoke read the status, checked it and wrote 'revoked' unconditionally: an
    answer committed in between was stored with a 201, then the survey read "revoked" and
    was reissued, and every answer to the new one was a 409 (audit)."""
    key = make_key("issuer")
    client.post(URL, json=handover_body(), headers=key)
    stamp = utcnow

    def answered_meanwhile() -> datetime:
        with db() as session:  # another connection: the citizen's answer commits now
            invitation = session.exec(select(Invitation)).one()
            invitation.status, invitation.answered_at = "answered", stamp()
            session.add(invitation)
        return stamp()

    monkeypatch.setattr(revoking, "utcnow", answered_meanwhile)
    response = client.post(f"{URL}/G22.39-250915-0001/revoke", headers=key)
    assert response.status_code == 409, response.text
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        assert invitation.status == "answered" and invitation.revoked_at is None


def test_concurrent_first_posts_of_one_dossier_make_one_invitation(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    key = make_key("issuer")
    results: list[tuple[int, str]] = []

    def post() -> None:
        r = client.post(URL, json=handover_body(dossier_code="RACE-1"), headers=key)
        results.append((r.status_code, r.json().get("survey_url", r.text)))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * 7 + [201], results
    assert len({url for _, url in results}) == 1
    with db() as session:
        assert session.exec(select(func.count()).select_from(Invitation)).one() == 1


def _day_counters(engine: sa.Engine) -> dict[tuple[str, Any, str], int]:
    """Every non-zero count of the agency and staff day counters."""
    found = {}
    with engine.connect() as connection:
        for table, key in (("agency_day_counter", "agency_id"), ("staff_day_counter", "staff_id")):
            names = ", ".join(COUNT_COLUMNS)
            rows = connection.execute(sa.text(f"SELECT {key}, day, {names} FROM {table}"))
            for row in rows:
                for name, value in zip(COUNT_COLUMNS, row[2:], strict=True):
                    if value:
                        found[(table, f"{row[0]} {row[1]}", name)] = value
    return found


def until_one_waits_on_a_lock(engine: sa.Engine, seconds: float = 20) -> None:
    """Until a PostgreSQL backend waits on a row lock (or `seconds` have passed)."""
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    deadline = utcnow() + timedelta(seconds=seconds)
    with engine.connect() as probe:
        while probe.execute(sa.text(waiting)).scalar() == 0 and utcnow() < deadline:
            probe.commit()


def rebuilt_counters(engine: sa.Engine, profile: Profile) -> dict[tuple[str, Any, str], int]:
    """The day counters once rebuilt from the rows (what the live ones must equal)."""
    with transaction(engine) as session:
        rebuild(session, profile)
    return _day_counters(engine)


def test_two_reposts_of_one_dossier_at_once_keep_the_counters_true(
    backend: Backend,
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
) -> None:
    """Both re-posts took "before" from the same row, unlocked: the first's move was never
    undone (resolved_dossiers -1 in September, a phantom dossier in October; audit). The
    second now waits for the first and starts from what it wrote. PostgreSQL: SQLite has
    one writer (the app's write lock) and cannot interleave them."""
    if backend.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    due = "2025-09-15T17:00:00+07:00"
    body = handover_body(due_at=due, resolved_at="2025-09-15T10:00:00+07:00")
    assert client.post(URL, json=body, headers=make_key("issuer")).status_code == 201
    profile, who = profile_of(settings), Principal(None, "test", "issuer", None, None)
    october = HandoverCreate.model_validate({**body, "resolved_at": "2025-10-15T10:00:00+07:00"})
    november = HandoverCreate.model_validate({**body, "resolved_at": "2025-11-14T10:00:00+07:00"})
    first = Session(engine, expire_on_commit=False)
    one_by_one.issue(first, who, october, settings, profile)
    first.flush()  # holds its locks, uncommitted

    def second() -> None:
        with transaction(engine) as session:
            one_by_one.issue(session, who, november, settings, profile)

    thread = threading.Thread(target=second)
    thread.start()
    until_one_waits_on_a_lock(engine)  # the second, on the first's
    db_commit(first)
    first.close()
    thread.join(20)
    live = _day_counters(engine)
    assert live == rebuilt_counters(engine, profile)
    assert all(value > 0 for value in live.values())


def test_an_answer_waiting_for_a_repost_counts_the_dossier_as_reposted(
    backend: Backend,
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
) -> None:
    """The answer read the dossier, then its claim waited for a re-post that gave it
    another returning officer and month: the evaluation was counted for the officer and
    day it had read, a rebuild for the new ones (audit). Its claim now reads the dossier
    as the re-post left it. PostgreSQL only, as above."""
    if backend.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    body = handover_body(resolved_at="2025-09-15T10:00:00+07:00")
    issued = client.post(URL, json=body, headers=make_key("issuer")).json()
    profile, who = profile_of(settings), Principal(None, "test", "issuer", None, None)
    staff = {"receiving": "CB001", "handling": "CB002", "returning": "CB009"}
    moved = {**body, "resolved_at": "2025-10-15T10:00:00+07:00", "staff": staff}
    repost = Session(engine, expire_on_commit=False)
    one_by_one.issue(repost, who, HandoverCreate.model_validate(moved), settings, profile)
    repost.flush()  # holds the invitation and the dossier, uncommitted
    answered: list[int] = []

    def answer() -> None:
        token = issued["survey_url"].rsplit("/", 1)[1]
        answers = {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "poor",
            "overall": "unsatisfied",
        }
        posted = client.post("/api/v1/responses", json={"token": token, "answers": answers})
        answered.append(posted.status_code)

    thread = threading.Thread(target=answer)
    thread.start()
    until_one_waits_on_a_lock(engine)  # the answer's claim, on the re-post
    db_commit(repost)
    repost.close()
    thread.join(20)
    assert answered == [201]
    live = _day_counters(engine)
    assert live == rebuilt_counters(engine, profile)


@pytest.mark.parametrize(
    ("handed_over_at", "problem"),
    [
        ("2025-09-15T09:59:00+07:00", "before resolved_at"),
        ("2099-09-01T10:00:00+07:00", "future"),
    ],
)
def test_a_handover_before_its_resolution_or_ahead_of_now_is_refused(
    client: TestClient, make_key: KeyFactory, handed_over_at: str, problem: str
) -> None:
    """Both were a 201 (audit); an import's survey expires from its handover, so one
    "handed over in 2099" could be answered until then."""
    body = handover_body(resolved_at="2025-09-15T10:00:00+07:00", handed_over_at=handed_over_at)
    response = client.post(URL, json=body, headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    problems = {f["field"]: f["problem"] for f in response.json()["fields"]}
    assert problem in problems["handed_over_at"], problems


def test_a_repost_naming_another_language_changes_the_unanswered_surveys(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A re-post with "language": "en" was a 200 that left the slip and survey Vietnamese
    (audit). A re-post without a language leaves it as it is."""
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(language="vi"), headers=key).json()
    slip = first["slip_url"].removeprefix("http://testserver")
    assert client.post(URL, json=handover_body(language="en"), headers=key).status_code == 200
    assert '<html lang="en"' in client.get(slip).text
    unsaid = {k: v for k, v in handover_body().items() if k != "language"}
    assert client.post(URL, json=unsaid, headers=key).status_code == 200
    assert '<html lang="en"' in client.get(slip).text
    # Revoked and posted again without a language: the new link keeps it too (review).
    code = first["dossier_code"]
    assert client.post(f"{URL}/{code}/revoke", headers=key).status_code == 200
    again = client.post(URL, json=unsaid, headers=key).json()
    assert '<html lang="en"' in client.get(again["slip_url"].removeprefix("http://testserver")).text


def _expire(db: DbFactory, dossier_code: str) -> None:
    with db() as session:
        invitation = session.exec(
            select(Invitation)
            .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
            .where(col(Dossier.code) == dossier_code)
        ).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        session.add(invitation)


def test_revoking_an_expired_survey_leaves_it_expired_and_in_the_response_rate(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An expired survey is over, as an answered one is. Its revoke relabelled it
    "revoked": it left the response rate's issued surveys (an office could lift its rate,
    and silence response_rate_low, by revoking what went unanswered) and a re-post then
    issued a fresh 30-day survey for it (audit)."""
    key, reader = make_key("issuer"), make_key("reader")
    answered = client.post(URL, json=handover_body(dossier_code="D-ANS"), headers=key).json()
    token = answered["survey_url"].rsplit("/", 1)[1]
    posted = client.post("/api/v1/responses", json={"token": token, "answers": ANSWERS})
    assert posted.status_code == 201, posted.text
    issued = client.post(URL, json=handover_body(dossier_code="D-EXP"), headers=key).json()
    _expire(db, "D-EXP")
    month = datetime.now(LOCAL_TZ).strftime("%Y-%m")
    rates = f"/api/v1/response-rates?period={month}&agency_code=G22.39"
    before = client.get(rates, headers=reader).json()["data"][0]["total"]
    assert (before["issued"], before["answered"], before["rate"]) == (2, 1, 0.5)

    revoked = client.post(f"{URL}/D-EXP/revoke", headers=key)
    assert revoked.status_code == 200 and revoked.json()["status"] == "expired"
    after = client.get(rates, headers=reader).json()["data"][0]["total"]
    assert (after["issued"], after["rate"]) == (2, 0.5)
    again = client.post(URL, json=handover_body(dossier_code="D-EXP"), headers=key)
    assert again.status_code == 200
    assert (again.json()["survey_id"], again.json()["status"]) == (issued["survey_id"], "expired")


@pytest.mark.parametrize(
    "variant",
    ["CB003\u200b", "\ufeffCB003", "CB003\u202c", "CB\u00a0003"],
    ids=["zero-width-space", "bom", "bidi-pop", "nbsp-inside"],
)
def test_a_staff_code_with_an_invisible_character_is_refused(
    client: TestClient, make_key: KeyFactory, db: DbFactory, variant: str
) -> None:
    """Codes are matched by their exact text: "CB003" and "CB003" with an invisible
    character became two officers that look the same on every page, their evaluations
    split between them (audit). Refused, naming the field."""
    staff = {"receiving": "CB001", "handling": "CB002", "returning": variant}
    response = client.post(URL, json=handover_body(staff=staff), headers=make_key("issuer"))
    assert response.status_code == 422
    [problem] = response.json()["fields"]
    assert problem["field"] == "staff.returning" and "invisible character" in problem["problem"]
    with db() as session:
        assert session.exec(select(func.count()).select_from(Staff)).one() == 0


@pytest.mark.parametrize("spaced", ["CB003 ", " CB003", "CB003\u00a0", "CB003\u3000"])
def test_spaces_around_a_code_are_not_part_of_it(
    client: TestClient, make_key: KeyFactory, db: DbFactory, spaced: str
) -> None:
    """ "CB003 " (a spreadsheet's trailing space, a no-break space) is the officer CB003,
    not a second one (audit)."""
    key = make_key("issuer")
    first = handover_body(staff={"returning": "CB003"}, counter_code="Q01")
    assert client.post(URL, json=first, headers=key).status_code == 201
    second = handover_body(
        dossier_code="G22.39-2",
        staff={"returning": spaced},
        counter_code=spaced.replace("CB003", "Q01"),
    )
    assert client.post(URL, json=second, headers=key).status_code == 201
    with db() as session:
        assert [s.code for s in session.exec(select(Staff)).all()] == ["CB003"]
        assert [c.code for c in session.exec(select(Counter)).all()] == ["Q01"]


def test_a_code_typed_decomposed_is_the_same_code(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Vietnamese typed with Unikey's "Unicode tổ hợp" is decomposed (NFD: a letter, then
    its marks): "Quầy 1" and "Lê_Văn" so typed were a second counter and a second officer
    that look the same on every page and split their figures."""
    key = make_key("issuer")
    composed = handover_body(staff={"returning": "Lê_Văn"}, counter_code="Quầy 1")
    assert client.post(URL, json=composed, headers=key).status_code == 201
    decomposed = handover_body(
        dossier_code="G22.39-2",
        staff={"returning": unicodedata.normalize("NFD", "Lê_Văn")},
        counter_code=unicodedata.normalize("NFD", "Quầy 1"),
    )
    assert decomposed["counter_code"] != "Quầy 1"
    assert client.post(URL, json=decomposed, headers=key).status_code == 201
    with db() as session:
        assert [s.code for s in session.exec(select(Staff)).all()] == ["Lê_Văn"]
        assert [c.code for c in session.exec(select(Counter)).all()] == ["Quầy 1"]


def test_names_typed_decomposed_are_stored_composed(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """As codes: a procedure, an agency or an official named with Unikey's "Unicode tổ
    hợp" was stored decomposed, and a spreadsheet of the exports showed one procedure as
    two in its filter, and a search typed precomposed missed it (exports audit)."""
    nfd = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    body = handover_body(procedure_name=nfd)
    assert client.post(URL, json=body, headers=make_key("issuer")).status_code == 201
    admin = make_key("admin")
    with db() as session:  # as `hailong agencies add` and `import` do
        upsert_agency(
            session, "79.TD", unicodedata.normalize("NFD", "Phường Tân Định"), "79", actor="t"
        )
    official = {"email": "lan@x.vn", "name": unicodedata.normalize("NFD", "Lê Thị Lan")}
    made = client.post("/api/v1/officials", json={**official, "role": "manager"}, headers=admin)
    assert made.status_code == 201, made.text
    renamed = client.patch(
        f"/api/v1/officials/{made.json()['id']}",
        json={"name": unicodedata.normalize("NFD", "Lê Thị Lan Anh")},
        headers=admin,
    )
    assert renamed.status_code == 200, renamed.text
    with db() as session:
        stored = [
            session.exec(select(Dossier.procedure_name)).one(),
            session.exec(select(Agency.name).where(Agency.code == "79.TD")).one(),
            session.exec(select(Official.name)).one(),
        ]
    assert stored == ["Đăng ký khai sinh", "Phường Tân Định", "Lê Thị Lan Anh"]
    assert all(unicodedata.is_normalized("NFC", name or "") for name in stored)


@pytest.mark.parametrize("blank", [" ", "\u200b", "\u3000"], ids=["space", "zwsp", "ideographic"])
def test_a_code_that_only_looks_empty_is_refused(
    client: TestClient, make_key: KeyFactory, db: DbFactory, blank: str
) -> None:
    """An empty code is refused; one that only looks empty was registered as a staff
    member and a counter with no visible code (audit)."""
    body = handover_body(staff={"returning": blank}, counter_code=blank)
    response = client.post(URL, json=body, headers=make_key("issuer"))
    assert response.status_code == 422
    assert {f["field"] for f in response.json()["fields"]} == {"staff.returning", "counter_code"}
    with db() as session:
        assert session.exec(select(func.count()).select_from(Staff)).one() == 0


def test_the_upgrade_keeps_codes_stored_with_spaces_as_their_officers(
    client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    """From this code on "CB003 " is matched as "CB003": stored from an upstream that always
    sent the space, the officer would have become a second one at the upgrade, their
    history left under the old row. Migration 0021 rewrites such codes as they are now
    matched, where the agency has no code of that text already."""
    issuer = make_key("issuer")
    assert client.post(URL, json=handover_body(), headers=issuer).status_code == 201
    with db() as session:
        agency = session.exec(select(Agency).where(col(Agency.code) == "G22.39")).one()
        assert agency.id is not None
        stored = ["CB013 ", "\ufeffCB007", "CB008\u200b", "CB009", "CB009\u00a0", "C\u3000B"]
        for code in stored:
            session.add(Staff(agency_id=agency.id, code=code))
        session.add(Counter(agency_id=agency.id, code=" Q02 "))
    with db() as session:
        before = {s.code: s.id for s in session.exec(select(Staff)).all()}

    config = alembic_config(database_url)
    config.attributes["quiet_logging"] = True
    command.downgrade(config, "0020")
    command.upgrade(config, "head")

    with db() as session:
        after = {s.id: s.code for s in session.exec(select(Staff)).all()}
        counters = [c.code for c in session.exec(select(Counter)).all()]
    assert after[before["CB013 "]] == "CB013"
    assert after[before["\ufeffCB007"]] == "CB007" and after[before["CB008\u200b"]] == "CB008"
    # "CB009" exists: both stay (merging two officers is a person's call); no code can
    # name "C\u3000B" (another space inside): left as it is.
    assert after[before["CB009\u00a0"]] == "CB009\u00a0" and after[before["CB009"]] == "CB009"
    assert after[before["C\u3000B"]] == "C\u3000B"
    assert sorted(counters) == ["Q01", "Q02"]
    # And a handover naming the officer reaches the stored row.
    again = handover_body(dossier_code="G22.39-2", staff={"returning": "CB013"})
    assert client.post(URL, json=again, headers=issuer).status_code == 201
    with db() as session:
        assert len(session.exec(select(Staff).where(col(Staff.code) == "CB013")).all()) == 1


def test_the_upgrade_keeps_a_staff_alert_on_the_officer_it_renames(
    client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    """An alert fires once per (agency, rule, subject, period): a staff_c_falling alert of
    "CB013 " raised this quarter no longer names any officer once the officer is "CB013",
    and the same fall raises it again under the new code (a second e-mail to the managers):
    migration 0022 (review)."""
    assert client.post(URL, json=handover_body(), headers=make_key("issuer")).status_code == 201
    with db() as session:
        agency = session.exec(select(Agency).where(col(Agency.code) == "G22.39")).one()
        assert agency.id is not None
        session.add(Staff(agency_id=agency.id, code="CB013 "))
        session.add(
            Alert(
                agency_id=agency.id,
                rule="staff_c_falling",
                subject="CB013 ",
                period="2026-Q4",
                values={"c_before": 90.0, "c_now": 60.0},
            )
        )
    config = alembic_config(database_url)
    config.attributes["quiet_logging"] = True
    command.downgrade(config, "0020")
    command.upgrade(config, "head")
    with db() as session:
        codes = {s.code for s in session.exec(select(Staff).where(Staff.agency_id == agency.id))}
        alert = session.exec(select(Alert).where(Alert.rule == "staff_c_falling")).one()
    assert "CB013" in codes and "CB013 " not in codes  # the officer was renamed
    assert alert.subject in codes, (alert.subject, codes)


def test_the_staff_filter_finds_the_officer_a_handover_named_with_a_space(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The evaluations' staff_code filter matched the exact text: "CB013 ", as the upstream
    sends it, found nothing once the handover stored the officer "CB013" (review)."""
    staff = {"receiving": "CB001", "handling": "CB002", "returning": "CB013 "}
    issued = client.post(URL, json=handover_body(staff=staff), headers=make_key("issuer"))
    assert issued.status_code == 201, issued.text
    token = issued.json()["survey_url"].rsplit("/", 1)[1]
    answered = client.post("/api/v1/responses", json={"token": token, "answers": ANSWERS})
    assert answered.status_code == 201, answered.text
    manager = make_key("manager")
    same_text = client.get("/api/v1/evaluations", params={"staff_code": "CB013 "}, headers=manager)
    assert same_text.status_code == 200, same_text.text
    # The handover's "CB013 " is the officer "CB013"; the same text reads it back.
    assert same_text.json()["count"] == 1, same_text.json()


def test_petition_agency_code_taken_as_the_handover_takes_it(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The petitions, scores and alerts a one-stop system reads take its agency's code as
    its handovers were taken (" G22.39 " is G22.39): the petition was refused, the reads
    were 404s (review)."""
    issuer, admin = make_key("issuer"), make_key("admin")
    handover = client.post(
        "/api/v1/handovers", json=handover_body(agency_code=" G22.39 "), headers=issuer
    )
    assert handover.status_code == 201, handover.text
    revoke = client.post(
        "/api/v1/handovers/G22.39-250915-0001/revoke",
        params={"agency_code": " G22.39 "},
        headers=issuer,
    )
    assert revoke.status_code == 200, revoke.text  # 8ce4d5f
    petition = {
        "petition_code": "PAKN-1",
        "agency_code": " G22.39 ",
        "received_at": "2025-09-16T09:00:00+07:00",
    }
    response = client.post("/api/v1/petitions", json=petition, headers=admin)
    assert response.status_code == 201, response.text
    for path in ("/api/v1/scores", "/api/v1/alerts", "/api/v1/evaluations"):
        query = {"period": "2025-09"} if path == "/api/v1/scores" else {}
        read = client.get(path, params=query | {"agency_code": " G22.39 "}, headers=admin)
        assert read.status_code == 200, (path, read.text)
        blank = client.get(path, params=query | {"agency_code": " "}, headers=admin)
        assert blank.status_code == 422, (path, blank.text)


def test_a_contact_consent_sent_as_null_is_taken_as_not_given(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) The handover's contact, a model of its own, still refused a consent sent as
    null (422): not given, so no consent, nothing stored and no message."""
    body = handover_body(
        dossier_code="G22.39-NULL-CONSENT",
        contact={"email": "a@b.vn", "phone": None, "consent": None},
    )
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    [message] = response.json()["messages"]
    assert (message["status"], message["reason"]) == ("skipped", "no_consent")


@pytest.mark.parametrize("field", ["staff", "supplement_requests", "language"])
def test_an_optional_handover_field_sent_as_null_is_taken_as_not_given(
    client: TestClient, make_key: KeyFactory, db: DbFactory, field: str
) -> None:
    """(audit) One-stop systems whose serializers write null for an unset property
    (Jackson, Newtonsoft.Json, Go pointers) had every handover without staff refused with
    a 422 in pydantic's words; null is the field not sent, as for the other optional ones."""
    body = handover_body(dossier_code=f"G22.39-NULL-{field}", **{field: None})
    response = client.post(URL, json=body, headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    slip = client.get(response.json()["slip_url"].removeprefix("http://testserver"))
    assert '<html lang="vi"' in slip.text
    with db() as session:
        dossier = session.exec(select(Dossier).where(Dossier.code == body["dossier_code"])).one()
        assert dossier.supplement_requests == 0
        assert (dossier.receiving_staff_id is None) == (field == "staff")


def test_a_repost_with_nulls_is_the_repost_without_them(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) A re-post sending staff, supplement_requests and language as null is the
    same handover as one leaving them out: 200 with the same survey, and the survey keeps
    the language it was issued in (null is not "vi")."""
    key = make_key("issuer")
    first = client.post(URL, json=handover_body(language="en"), headers=key).json()
    nulls = handover_body(staff=None, supplement_requests=None, language=None)
    again = client.post(URL, json=nulls, headers=key)
    assert again.status_code == 200, again.text
    assert again.json() == first
    unsaid = {k: v for k, v in nulls.items() if v is not None}
    assert client.post(URL, json=unsaid, headers=key).json() == first
    assert '<html lang="en"' in client.get(first["slip_url"].removeprefix("http://testserver")).text


def test_a_repost_keeps_the_facts_it_leaves_out_and_clears_those_sent_as_null(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(contract audit) A re-post with the required fields only (a retry, the typed
    client's "safe to repeat" issue_survey) erased the due time, the staff and the counter
    the first post gave: a dossier ten working days late became on time, and A rose. What
    it leaves out stays; a fact sent as null is cleared, and staff roles not named stay."""
    key = make_key("issuer")
    late = handover_body(
        received_at="2025-09-01T08:00:00+07:00",
        due_at="2025-09-05T17:00:00+07:00",
        resolved_at="2025-09-19T10:00:00+07:00",
        handed_over_at=None,
    )
    assert client.post(URL, json=late, headers=key).status_code == 201
    with db() as session:
        stored = session.exec(select(Dossier)).one()
        kept = {c: getattr(stored, c) for c in ("due_at", "counter_id", "returning_staff_id")}
        assert stored.is_late and None not in kept.values()
    required = {k: late[k] for k in ("dossier_code", "agency_code", "resolved_at")}
    assert client.post(URL, json=required, headers=key).status_code == 200
    with db() as session:
        dossier = session.exec(select(Dossier)).one()
        assert {c: getattr(dossier, c) for c in kept} == kept and dossier.is_late
        assert dossier.supplement_requests == late["supplement_requests"]
    handling_only = required | {"staff": {"handling": "CB-NEW"}, "due_at": None}
    assert client.post(URL, json=handling_only, headers=key).status_code == 200
    with db() as session:
        dossier = session.exec(select(Dossier)).one()
        assert dossier.due_at is None and not dossier.is_late  # cleared: no due time
        assert dossier.returning_staff_id == kept["returning_staff_id"]
        handling = session.get(Staff, dossier.handling_staff_id)
        assert handling is not None and handling.code == "CB-NEW"


@pytest.mark.parametrize(
    ("resolved_at", "field"),
    [("2025-09-05T10:00:00+07:00", "resolved_at"), ("2025-09-16T10:00:00+07:00", "handed_over_at")],
    ids=["resolved before the kept reception", "resolved after the kept handover"],
)
def test_a_reposts_times_are_checked_against_the_facts_it_keeps(
    client: TestClient, make_key: KeyFactory, db: DbFactory, resolved_at: str, field: str
) -> None:
    """(review) A re-post keeps the times it leaves out, and they must still agree with
    those it sends: checked against the re-post alone, a resolution before the stored
    reception (10/9) or after the stored handover (15/9) was stored with a 200."""
    key = make_key("issuer")
    assert client.post(URL, json=handover_body(), headers=key).status_code == 201
    required = {"dossier_code": "G22.39-250915-0001", "agency_code": "G22.39"}
    refused = client.post(URL, json=required | {"resolved_at": resolved_at}, headers=key)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == [field]
    with db() as session:
        stored = session.exec(select(Dossier)).one().resolved_at
    assert stored == datetime.fromisoformat(handover_body()["resolved_at"])  # type: ignore[arg-type]


def test_openapi_shows_the_optional_handover_fields_as_nullable(client: TestClient) -> None:
    """(audit) /openapi.json said staff, supplement_requests and language could not be
    null, though the handover takes null for each as not sent."""
    schema = client.get("/openapi.json").json()["components"]["schemas"]["HandoverCreate"]
    for name in ("staff", "supplement_requests", "language"):
        assert {"type": "null"} in schema["properties"][name]["anyOf"], name


def test_a_dossier_code_padded_with_spaces_is_the_code_without_them(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(handover audit) A one-stop system keeping codes in a fixed-width column sends them
    padded: every handover was a 422, while agency, staff and counter codes are trimmed."""
    issuer = make_key("issuer")
    padded = client.post(URL, json=handover_body(dossier_code="  G22-PAD  "), headers=issuer)
    assert padded.status_code == 201, padded.text
    assert padded.json()["dossier_code"] == "G22-PAD"
    again = client.post(URL, json=handover_body(dossier_code="G22-PAD"), headers=issuer)
    assert again.status_code == 200 and again.json()["survey_id"] == padded.json()["survey_id"]


def test_a_padded_dossier_code_in_a_path_is_the_code_without_its_spaces(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) The handover took "G22-PAD   " as G22-PAD; its revoke with the same padded
    code in the path was a 422."""
    issuer = make_key("issuer")
    padded = "G22-PAD   "
    issued = client.post(URL, json=handover_body(dossier_code=padded), headers=issuer)
    assert issued.status_code == 201, issued.text
    revoked = client.post(f"{URL}/{quote(padded)}/revoke", headers=issuer)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
