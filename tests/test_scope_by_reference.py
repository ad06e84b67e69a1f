"""No key touches another agency's data, even by reference (found by an audit, both
databases): a scoped admin reached every agency's webhooks, the province's calendar and
other agencies' surveys with its import powers; SQLite's LIKE ignored case and a kiosk
list took '_' as a wildcard; and a 403 naming the agency told what existed beyond a key's
part of the tree where a missing record was a 404.

The tree: SP over SA (over SA1), SB, its lower-case twin sb, X_1 and XA1."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.admin.agencies import upsert_agency
from service.auth.officials import add_official
from service.models import Petition
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.console.conftest import ConsoleClient, raw_key
from tests.surveys.conftest import ANSWERS

TREE: list[tuple[str, str | None]] = [
    ("SP", None),
    ("SA", "SP"),
    ("SA1", "SA"),
    ("SB", "SP"),
    ("sb", "SP"),
    ("X_1", "SP"),
    ("XA1", "SP"),
]


@pytest.fixture
def tree(db: DbFactory) -> None:
    with db() as session:
        for code, parent in TREE:
            upsert_agency(session, code, f"Đơn vị {code}", parent, actor="test")


def _hook(client: TestClient, key: dict[str, str], url: str) -> str:
    body = {"url": url, "events": ["invitation.issued"]}
    made = client.post("/api/v1/webhooks", json=body, headers=key)
    assert made.status_code == 201, made.text
    hook: str = made.json()["id"]
    return hook


def test_a_scoped_admin_reaches_only_the_webhooks_of_its_part_of_the_tree(
    client: TestClient, make_key: KeyFactory, tree: None
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhook_allow_networks": "127.0.0.0/8"}
    )
    theirs = _hook(client, make_key("reader", agency="SB"), "http://127.0.0.1:9/sb")
    below = _hook(client, make_key("reader", agency="SA1"), "http://127.0.0.1:9/sa1")
    admin_sa = make_key("admin", agency="SA")
    listed = client.get("/api/v1/webhooks", headers=admin_sa).json()["data"]
    assert [s["id"] for s in listed] == [below]
    for method, path in [
        ("GET", f"/api/v1/webhooks/{theirs}"),
        ("GET", f"/api/v1/webhooks/{theirs}/deliveries"),
        ("POST", f"/api/v1/webhooks/{theirs}/enable"),
        ("DELETE", f"/api/v1/webhooks/{theirs}"),
    ]:
        answer = client.request(method, path, headers=admin_sa)
        assert answer.status_code == 404, (method, path, answer.text)
    assert client.get(f"/api/v1/webhooks/{below}", headers=admin_sa).status_code == 200
    # The province's admin reaches them all.
    everyone = client.get("/api/v1/webhooks", headers=make_key("admin")).json()["data"]
    assert {s["id"] for s in everyone} == {theirs, below}


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_only_a_key_of_every_agency_changes_the_calendar(
    client: TestClient, make_key: KeyFactory, tree: None, role: str
) -> None:
    """A calendar day is an input (API.md: an admin's, or a manager's of an ancestor
    agency): an unscoped manager is above every agency, and was refused (audit)."""
    day = "/api/v1/calendar/overrides/2025-09-16"
    scoped = client.put(day, json={"working": False}, headers=make_key(role, agency="SA"))
    assert scoped.status_code == 403
    assert "not limited to an agency" in scoped.json()["detail"]
    assert client.put(day, json={"working": False}, headers=make_key(role)).status_code == 200


@pytest.mark.parametrize("action", ["revoke", "rotate"])
def test_a_key_beyond_the_scope_is_answered_as_one_that_does_not_exist(
    client: TestClient, make_key: KeyFactory, tree: None, action: str
) -> None:
    """The words "within your key's agencies" for a key elsewhere and another
    sentence for an id no key has: a scoped admin walking the ids mapped every agency's
    keys (audit)."""
    admin_sa = make_key("admin", agency="SA")
    make_key("issuer", agency="SB")
    listed = client.get("/api/v1/keys", headers=make_key("admin")).json()["data"]
    theirs = next(k["id"] for k in listed if k["agency_code"] == "SB")
    missing = max(k["id"] for k in listed) + 1000
    told = client.post(f"/api/v1/keys/{theirs}/{action}", headers=admin_sa)
    unknown = client.post(f"/api/v1/keys/{missing}/{action}", headers=admin_sa)
    assert (told.status_code, unknown.status_code) == (404, 404)
    assert told.json()["detail"].replace(str(theirs), "N") == unknown.json()["detail"].replace(
        str(missing), "N"
    )


def test_a_scoped_admins_import_powers_end_at_its_part_of_the_tree(
    client: TestClient, make_key: KeyFactory, tree: None
) -> None:
    def survey(code: str, agency: str) -> str:
        body = handover_body(dossier_code=code, agency_code=agency)
        made = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
        assert made.status_code == 201, made.text
        token: str = made.json()["survey_url"].rsplit("/", 1)[1]
        return token

    admin_sa = make_key("admin", agency="SA")
    backdated: dict[str, Any] = {"answers": ANSWERS, "submitted_at": "2025-09-17T09:00:00+07:00"}
    theirs = {**backdated, "token": survey("B-1", "SB")}
    refused = client.post("/api/v1/responses", json=theirs, headers=admin_sa)
    assert refused.status_code == 403, refused.text
    ours = {**backdated, "token": survey("A1-1", "SA1")}
    assert client.post("/api/v1/responses", json=ours, headers=admin_sa).status_code == 201
    # A key of the agency itself is the agency's own: it may answer now, not into the past
    # (dated into a reported period, good answers move its B, C and K; as D and E, an
    # import is the competent authority's).
    own = {**backdated, "token": survey("A-1", "SA")}
    refused = client.post("/api/v1/responses", json=own, headers=admin_sa)
    assert refused.status_code == 403, refused.text
    assert "imported by an admin above it" in refused.json()["detail"]
    now = {key: value for key, value in own.items() if key != "submitted_at"}
    assert client.post("/api/v1/responses", json=now, headers=admin_sa).status_code == 201


def test_codes_differing_only_in_case_or_by_a_wildcard_are_other_agencies(
    client: TestClient, make_key: KeyFactory, tree: None
) -> None:
    """SQLite's LIKE ignored case (a key of 'sb' read 'SB'); the kiosk list did not escape
    '_' (a key of 'X_1' read XA1's tablets)."""
    listed = client.get("/api/v1/agencies", headers=make_key("reader", agency="sb")).json()
    assert [a["code"] for a in listed["data"]] == ["sb"]
    admin = make_key("admin")
    made = client.post(
        "/api/v1/kiosk/pairings", json={"agency_code": "XA1", "counter_code": "Q9"}, headers=admin
    )
    assert client.post("/kiosk/api/pair", json={"code": made.json()["code"]}).status_code == 200
    client.cookies.clear()
    devices = client.get("/api/v1/kiosk/devices", headers=make_key("manager", agency="X_1"))
    assert devices.json()["data"] == []


def test_a_record_beyond_the_keys_tree_is_missing_not_forbidden(
    client: TestClient, make_key: KeyFactory, tree: None, db: DbFactory
) -> None:
    admin = make_key("admin")
    made = client.post(
        "/api/v1/kiosk/pairings", json={"agency_code": "SB", "counter_code": "Q1"}, headers=admin
    )
    assert client.post("/kiosk/api/pair", json={"code": made.json()["code"]}).status_code == 200
    client.cookies.clear()
    [device] = client.get("/api/v1/kiosk/devices", headers=admin).json()["data"]
    manager_sa = make_key("manager", agency="SA")
    theirs = client.post(f"/api/v1/kiosk/devices/{device['id']}/unpair", headers=manager_sa)
    unknown = client.post("/api/v1/kiosk/devices/999999/unpair", headers=manager_sa)
    assert (theirs.status_code, unknown.status_code) == (404, 404)
    assert "SB" not in theirs.text

    with db() as session:
        of_sb = add_official(session, "test", "gd@sb.gov.vn", "Giám đốc", "manager", "SB")
        of_all = add_official(session, "test", "tinh@sp.gov.vn", "Tỉnh", "admin", None)
    admin_sa = make_key("admin", agency="SA")
    for official_id in (of_sb.id, of_all.id, 999999):
        answer = client.post(f"/api/v1/officials/{official_id}/disable", headers=admin_sa)
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"] == f"No official has the id {official_id}."


def test_the_console_answers_another_agencys_petition_as_missing(
    client: TestClient, make_key: KeyFactory, tree: None, db: DbFactory
) -> None:
    body = {
        "petition_code": "PB-1",
        "agency_code": "SB",
        "received_at": "2025-09-16T09:00:00+07:00",
    }
    made = client.post("/api/v1/petitions", json=body, headers=make_key("admin"))
    assert made.status_code == 201, made.text
    with db() as session:
        petition_id = session.exec(select(Petition.id)).one()
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", agency="SA")))
    assert console.get("/console").status_code == 200  # signed in
    theirs = console.get(f"/console/petitions/{petition_id}")
    unknown = console.get("/console/petitions/999999")
    assert (theirs.status_code, unknown.status_code) == (404, 404)


def test_a_petition_code_or_dossier_named_with_spaces_reaches_no_other_agency(
    client: TestClient, make_key: KeyFactory, db: DbFactory, tree: None
) -> None:
    """Petition and dossier codes are cleaned now (0c942b9): " SB-1 " is SB-1, and still
    refused as unknown to SA's admin, as SB-1 is; a petition of SB's is not reached by
    SA's key under a code with spaces around it."""
    body = handover_body(dossier_code="SB-1", agency_code="SB")
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    received = {"received_at": "2025-09-16T09:00:00+07:00"}
    theirs = {"petition_code": "PB-1", "agency_code": "SB", **received}
    assert client.post("/api/v1/petitions", json=theirs, headers=make_key("admin")).is_success
    admin_sa = make_key("admin", agency="SA")
    for dossier in ("SB-1", " SB-1 "):
        naming = {"petition_code": "PA-1", "agency_code": "SA1", "dossier_code": dossier}
        answer = client.post("/api/v1/petitions", json={**naming, **received}, headers=admin_sa)
        assert answer.status_code == 422, answer.text
        assert answer.json()["fields"][0]["field"] == "dossier_code"
    for agency in ("SB", " SB "):
        again = {**theirs, "agency_code": agency, "petition_code": " PB-1 ", "outcome": "x"}
        assert client.post("/api/v1/petitions", json=again, headers=admin_sa).status_code == 403
    with db() as session:
        stored = session.exec(select(Petition)).all()
        assert [(p.code, p.outcome) for p in stored] == [("PB-1", None)]
