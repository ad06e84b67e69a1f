"""GET /api/v1/evaluations: every evaluation once across pages, the filters (subtree,
period by the local day, source, staff), the dossier's facts, and the citizen's own words
only for an admin who asks, with an audit record."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.models import AuditLog, Dossier, Invitation, Response
from tests.conftest import Backend, DbFactory, KeyFactory, handover_body, make_settings
from tests.portal.evaluations_seed import COMPLAINT, CONTACT, SATISFIED, Seeded, seed

URL = "/api/v1/evaluations"


@pytest.fixture
def seeded(client: TestClient, make_key: KeyFactory, agencies: None) -> Seeded:
    return seed(client, make_key)


def _get(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(client: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    return {item["response_id"] for item in _get(client, headers, **params)["data"]}


def test_pages_walk_every_evaluation_once(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    reader = make_key("reader")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = _get(client, reader, **params)
        seen += [item["response_id"] for item in page["data"]]
        assert page["count"] == len(page["data"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == seen and len(seen) == len(set(seen))
    assert set(seen) == set(seeded.ids.values())
    assert pages == 3  # 2 + 2 + 1


def test_an_item_has_the_answers_and_the_dossier_facts_but_no_private_text(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    page = _get(client, make_key("manager"), agency_code="79.BTH")
    assert [item["response_id"] for item in page["data"]] == [seeded.ids["ward"]]
    item = page["data"][0]
    assert item["source"] == "kiosk" and item["agency_code"] == "79.BTH"
    assert item["answers"]["overall"] == "unsatisfied"
    assert item["group5_satisfied"] is False
    assert item["received_day"] == "2025-09-16"
    dossier = item["dossier"]
    assert dossier["dossier_code"] == "D-ward" and dossier["procedure_code"] == "1.001612"
    assert dossier["on_time"] is False  # resolved on the 15th, due on the 12th
    assert dossier["counter_code"] == "Q01" and dossier["channel"] == "counter"
    assert dossier["staff"] == {"receiving": "CB001", "handling": "CB002", "returning": "CB009"}
    assert item["private"] is None
    assert COMPLAINT not in str(page) and CONTACT not in str(page)
    others = _get(client, make_key("reader"), agency_code="G22.39")["data"]
    assert {i["group5_satisfied"] for i in others} == {True}


def test_subtree_source_and_staff_filters(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    reader, ids = make_key("reader"), seeded.ids
    assert _ids(client, reader, agency_code="79") == {ids["city"]}
    assert _ids(client, reader, agency_code="79", subtree=True) == set(ids.values())
    assert _ids(client, reader, source="kiosk") == {ids["q4_first"], ids["ward"]}
    assert _ids(client, reader, source="api") == {ids["city"]}
    # The returning officer is the one scored on an evaluation (the profile's rule), read
    # as /staff-scores is: by a manager or an admin (scoring audit).
    manager = make_key("manager")
    assert _ids(client, manager, staff_code="CB009") == {ids["ward"]}
    assert _ids(client, manager, staff_code="CB002") == set()
    assert len(_ids(client, manager, staff_code="CB003")) == 4


def test_a_reader_is_not_told_whose_dossiers_the_answers_rated(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    """(scoring audit) A reader key (a portal, which may publish) read one officer's single
    answer, "poor" and "unsatisfied", where /staff-scores withholds that officer's C below
    the anonymity minimum and is closed to readers: the staff filter is a manager's or an
    admin's, and a reader's rows name no staff (exports too)."""
    reader = make_key("reader")
    refused = client.get(URL, params={"staff_code": "CB009"}, headers=reader)
    assert refused.status_code == 403, refused.text
    assert "staff-scores" in refused.json()["detail"]
    rows = client.get(URL, headers=reader).json()["data"]
    assert rows and {tuple(r["dossier"]["staff"].values()) for r in rows} == {(None, None, None)}
    exported = client.get("/api/v1/evaluations.csv", headers=reader).text
    assert "CB009" not in exported and "CB003" not in exported
    petitions = client.get("/api/v1/petitions.csv", headers=reader).text
    assert "CB009" not in petitions


def test_period_is_cut_on_the_local_day_as_scores_count_it(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    reader, ids = make_key("reader"), seeded.ids
    q3 = _ids(client, reader, agency_code="G22.39", period="2025-Q3")
    q4 = _ids(client, reader, agency_code="G22.39", period="2025-Q4")
    # 00:30 on 1 October in Vietnam is 30 September in UTC: it is a Q4 evaluation.
    assert (q3, q4) == ({ids["q3_last"]}, {ids["q4_first"]})
    assert _ids(client, reader, agency_code="G22.39", period="2025-10") == {ids["q4_first"]}
    score = client.get("/api/v1/agencies/G22.39/scores/2025-Q4", headers=reader).json()
    assert score["counts"]["evaluations"] == len(q4)
    bad = client.get(URL, params={"period": "2025-Q5"}, headers=reader)
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "period"


def test_private_text_only_for_an_admin_who_asks_and_it_is_audited(
    client: TestClient, make_key: KeyFactory, db: DbFactory, seeded: Seeded
) -> None:
    for role in ("reader", "manager"):
        refused = client.get(URL, params={"include_private": "true"}, headers=make_key(role))
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    with db() as session:
        assert not session.exec(
            select(AuditLog).where(col(AuditLog.action).startswith("eval"))
        ).all()
    admin = make_key("admin")
    assert _get(client, admin, agency_code="79.BTH")["data"][0]["private"] is None
    page = _get(client, admin, agency_code="79.BTH", include_private=True)
    assert page["data"][0]["private"] == {"complaint": COMPLAINT, "contact": CONTACT}
    with db() as session:
        records = session.exec(
            select(AuditLog).where(AuditLog.action == "evaluations.read_private")
        ).all()
    assert len(records) == 1
    record = records[0]
    assert record.actor.startswith("key:") and record.actor.endswith(":test admin")
    assert record.detail["count"] == 1
    assert record.detail["filters"]["agency_code"] == "79.BTH"


def test_scoped_key_sees_its_tree_only(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    scoped = make_key("reader", agency="79.BTH")
    assert _ids(client, scoped) == {seeded.ids["ward"]}
    assert _ids(client, scoped, agency_code="79.BTH", subtree=True) == {seeded.ids["ward"]}
    for code in ("79", "G22.39"):
        outside = client.get(URL, params={"agency_code": code}, headers=scoped)
        assert outside.status_code == 403 and outside.json()["error"] == "forbidden"
    unknown = client.get(URL, params={"agency_code": "NOPE"}, headers=make_key("reader"))
    assert unknown.status_code == 404


@pytest.mark.usefixtures("seeded")
def test_roles(client: TestClient, make_key: KeyFactory) -> None:
    for role in ("issuer", "kiosk", "auditor"):
        assert client.get(URL, headers=make_key(role)).status_code == 403
    assert client.get(URL).status_code == 401


def _walk(client: TestClient, headers: dict[str, str], cursor: int | None) -> tuple[list[int], Any]:
    """Every page from `cursor` on: the ids read and the cursor to go on from later."""
    seen: list[int] = []
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = _get(client, headers, **params)
        seen += [item["response_id"] for item in page["data"]]
        if page["data"]:
            cursor = page["data"][-1]["response_id"]
        if page["next_cursor"] is None:
            return seen, cursor


def _issue(client: TestClient, admin: dict[str, str], code: str) -> str:
    """A survey for dossier `code` of G22.39: its token."""
    issued = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code=code, agency_code="G22.39"),
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["survey_url"].rsplit("/", 1)[1])


def _answer(client: TestClient, admin: dict[str, str], token: str) -> int:
    body = {"token": token, "answers": SATISFIED, "source": "phone"}
    answered = client.post("/api/v1/responses", json=body, headers=admin)
    assert answered.status_code == 201, answered.text
    return int(answered.json()["response_id"])


def test_a_portal_following_the_pages_misses_no_answer_committed_out_of_id_order(
    client: TestClient, make_key: KeyFactory, engine: Any, agencies: None
) -> None:
    """(audit) On PostgreSQL two answers commit in any order: one given first (the lower
    id) may commit after one given later. A portal that had read up to the later one's id
    went on from there and never saw the first. A page now holds back what a transaction
    still open might precede; after its commit the portal reads it, nothing read twice."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits one writer at a time, in id order")
    admin, reader = make_key("admin"), make_key("reader")
    tokens = [_issue(client, admin, f"D-order-{n}") for n in range(3)]
    first = _answer(client, admin, tokens[0])
    read, cursor = _walk(client, reader, None)
    assert read == [first]
    table = Response.__table__  # type: ignore[attr-defined]
    with engine.connect() as slow:  # an answer being stored, its transaction still open
        invitation, agency = slow.execute(
            sa.select(col(Invitation.id), col(Dossier.agency_id))
            .join(Dossier, col(Dossier.id) == Invitation.dossier_id)
            .where(col(Dossier.code) == "D-order-1")
        ).one()
        slow_id = slow.execute(
            sa.insert(table)
            .values(
                invitation_id=invitation,
                agency_id=agency,
                source="phone",
                received_at=sa.func.now(),
                received_day=sa.func.current_date(),
                **SATISFIED,
            )
            .returning(table.c.id)
        ).scalar_one()
        later = _answer(client, admin, tokens[2])
        assert slow_id < later
        more, cursor = _walk(client, reader, cursor)
        assert more == []  # not yet: the open answer may come first
        slow.commit()
    more, cursor = _walk(client, reader, cursor)
    assert more == [slow_id, later]
    assert _walk(client, reader, cursor)[0] == []


def test_a_transaction_open_in_another_database_holds_no_page_back(
    client: TestClient, make_key: KeyFactory, engine: Any, agencies: None
) -> None:
    """Transaction ids are the PostgreSQL cluster's: a page held back by every open one
    waited on other applications' transactions (and on the test suite's other worker). A
    transaction of another database on the same server holds nothing back."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's own: transaction ids shared by a cluster's databases")
    admin, reader = make_key("admin"), make_key("reader")
    elsewhere = sa.create_engine(engine.url.set(database="postgres"))
    try:
        with elsewhere.connect() as other:
            other.execute(sa.text("SELECT pg_current_xact_id()"))  # open, with an id
            answered = _answer(client, admin, _issue(client, admin, "D-elsewhere"))
            assert _walk(client, reader, None)[0] == [answered]
            other.rollback()
    finally:
        elsewhere.dispose()


def test_answers_restored_from_a_server_whose_transactions_ran_ahead_are_put_first(
    app: Any, make_key: KeyFactory, engine: Any, agencies: None
) -> None:
    """(review) A dump restored onto another server keeps write_xact, the old server's
    transaction ids: billions ahead on a busy one (epoch 3 here). Every restored answer was
    held back until the new counter caught up, and each new answer sorted before the
    portal's cursor, skipped. At start they go first (0, id order): none skipped."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transaction ids")
    admin, reader = make_key("admin"), make_key("reader")
    with TestClient(app) as client:
        restored = _answer(client, admin, _issue(client, admin, "D-restored"))
    with engine.begin() as connection:  # as the restore leaves the column
        connection.execute(sa.text("UPDATE response SET write_xact = write_xact + 3 * 2^32"))
    with TestClient(app) as client:  # the service started on the restored database
        read, cursor = _walk(client, reader, None)
        assert read == [restored]
        later = _answer(client, admin, _issue(client, admin, "D-after-restore"))
        assert _walk(client, reader, cursor)[0] == [later]


def test_the_service_starts_and_answers_on_a_read_only_postgresql(
    backend: Backend, database_url: str
) -> None:
    """(review) The start's check for restored answers is an UPDATE: a read-only session
    (default_transaction_read_only, a hot standby) refused it with an InternalError, and
    the service no longer started. It is logged and left for a start that can write."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL's read-only sessions")
    read_only = database_url + "?options=" + quote("-c default_transaction_read_only=on")
    with TestClient(create_app(make_settings(database_url))):
        pass  # a first start, writable, builds the counters (their own writes at start)
    with TestClient(create_app(make_settings(read_only))) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/rankings").status_code == 200
