"""Pairing a tablet with a counter: codes, the device cookie, unpairing, who may do what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from service.admin.agencies import upsert_agency
from service.app import create_app
from service.auth.officials import (
    OfficialChange,
    add_official,
    disable_official,
    update_official,
)
from service.kiosk.pairing import create_pairing
from service.models import ApiKey, AuditLog, Counter, KioskPairing, utcnow
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, make_settings
from tests.kiosk.conftest import pair, pairing_code

pytestmark = pytest.mark.usefixtures("agencies")
CODE = re.compile(r"^[23456789A-HJ-NP-TW-Z]{4}-[23456789A-HJ-NP-TW-Z]{4}$")


def test_a_code_pairs_a_tablet_once_and_sets_a_strict_httponly_cookie(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    created = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": "G22.39", "counter_code": "Q07"},
        headers=make_key("manager", agency="G22.39"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert CODE.match(body["code"]), body["code"]
    assert body["kiosk_url"] == "http://testserver/kiosk"
    assert (body["agency_code"], body["counter_code"]) == ("G22.39", "Q07")

    paired = client.post("/kiosk/api/pair", json={"code": body["code"].lower()})
    assert paired.status_code == 200, paired.text
    assert paired.json() == {
        "agency_code": "G22.39",
        "agency_name": "UBND Phường Tân Định",
        "counter_code": "Q07",
        "counter_name": None,
        "idle_seconds": 30,
    }
    cookie = paired.headers["set-cookie"]
    assert cookie.startswith("hl_kiosk=hl_")
    for attribute in ("HttpOnly", "Path=/kiosk", "SameSite=strict", "Max-Age="):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain http here; see the https test below

    # The cookie is the device's credential from now on.
    assert client.get("/kiosk/api/state").json()["counter_code"] == "Q07"
    # The code is spent.
    again = TestClient(client.app).post("/kiosk/api/pair", json={"code": body["code"]})
    assert again.status_code == 401
    assert again.json()["error"] == "pairing_code_invalid"
    assert "already used" in again.json()["detail"]

    with db() as session:
        key = session.exec(select(ApiKey).where(ApiKey.role == "kiosk")).one()
        counter = session.exec(select(Counter).where(Counter.code == "Q07")).one()
        assert key.counter_id == counter.id  # the key is bound to the counter
        pairing = session.exec(select(KioskPairing)).one()
        assert pairing.api_key_id == key.id and pairing.used_at is not None
        assert len(pairing.code_hash) == 64 and body["code"] not in pairing.code_hash
        actions = {row.action for row in session.exec(select(AuditLog))}
        assert {"kiosk.pairing_code", "kiosk.pair"} <= actions


def test_the_cookie_is_secure_when_served_over_https(
    database_url: str, make_key: KeyFactory
) -> None:
    app: FastAPI = create_app(make_settings(database_url, base_url="https://hailong.example"))
    with TestClient(app, base_url="https://hailong.example") as client:
        response = client.post("/kiosk/api/pair", json={"code": pairing_code(client, make_key)})
        assert response.status_code == 200
        assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_expired_and_malformed_codes_are_refused_with_a_sentence(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    wrong = client.post("/kiosk/api/pair", json={"code": "2345-6789"})
    assert wrong.status_code == 401
    assert "Ask for a new one" in wrong.json()["detail"]
    short = client.post("/kiosk/api/pair", json={"code": "12"})
    assert short.status_code == 401
    assert "8 letters and digits" in short.json()["detail"]
    missing = client.post("/kiosk/api/pair", json={})
    assert missing.status_code == 422

    code = pairing_code(client, make_key)
    with db() as session:
        pairing = session.exec(select(KioskPairing)).one()
        pairing.expires_at = pairing.expires_at - timedelta(hours=1)
        session.add(pairing)
    expired = client.post("/kiosk/api/pair", json={"code": code})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    assert "set-cookie" not in expired.headers


def test_guessing_pairing_codes_is_rate_limited(database_url: str, make_key: KeyFactory) -> None:
    settings = make_settings(database_url).model_copy(update={"guess_limit": 3})
    with TestClient(create_app(settings)) as client:
        statuses = [
            client.post("/kiosk/api/pair", json={"code": f"2345-678{n}"}).status_code
            for n in range(2, 7)
        ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


def test_managers_pair_only_their_own_agencies_and_other_roles_not_at_all(
    client: TestClient, make_key: KeyFactory
) -> None:
    body = {"agency_code": "G22.39", "counter_code": "Q01"}
    other = client.post(
        "/api/v1/kiosk/pairings", json=body, headers=make_key("manager", agency="79.BTH")
    )
    assert other.status_code == 403
    for role in ("issuer", "reader", "kiosk"):
        refused = client.post("/api/v1/kiosk/pairings", json=body, headers=make_key(role))
        assert refused.status_code == 403, role
    assert client.post("/api/v1/kiosk/pairings", json=body).status_code == 401
    unknown = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": "NOPE", "counter_code": "Q01"},
        headers=make_key("admin"),
    )
    assert unknown.status_code == 422
    assert unknown.json()["fields"] == [
        {"field": "agency_code", "problem": "no agency has the code 'NOPE'"}
    ]


def test_unpairing_signs_the_tablet_out_at_once(client: TestClient, make_key: KeyFactory) -> None:
    pair(client, make_key)
    manager = make_key("manager", agency="G22.39")
    devices = client.get("/api/v1/kiosk/devices", headers=manager).json()
    assert devices["count"] == 1
    device = devices["data"][0]
    assert (device["agency_code"], device["counter_code"]) == ("G22.39", "Q01")
    # A manager elsewhere neither sees nor unpairs it.
    elsewhere = make_key("manager", agency="79.BTH")
    assert client.get("/api/v1/kiosk/devices", headers=elsewhere).json()["count"] == 0
    url = f"/api/v1/kiosk/devices/{device['id']}/unpair"
    assert client.post(url, headers=elsewhere).status_code == 404  # as if there were none
    assert client.post(url, headers=make_key("reader")).status_code == 403

    unpaired = client.post(url, headers=manager)
    assert unpaired.status_code == 200
    assert unpaired.json()["unpaired_at"] is not None
    state = client.get("/kiosk/api/state")
    assert state.status_code == 401
    assert "Enter a pairing code" in state.json()["detail"]
    assert client.post(url, headers=manager).status_code == 409
    assert client.post("/api/v1/kiosk/devices/999999/unpair", headers=manager).status_code == 404
    # Beyond a 32-bit row id: a clear 422 (it once reached PostgreSQL and came back a 500).
    too_big = client.post("/api/v1/kiosk/devices/2147483648/unpair", headers=manager)
    assert too_big.status_code == 422
    assert too_big.json()["fields"][0]["field"] == "device_id"
    assert client.get("/kiosk/api/next?after=2147483648").status_code == 422
    assert client.get("/api/v1/kiosk/devices", headers=manager).json()["count"] == 0


def test_a_tablet_paired_again_is_unpaired_from_where_it_was(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """Moved from Q01 to Q02 by typing a new code on it, the tablet's old device key stayed
    paired at Q01: listed as a second device, and answering Q01's surveys (kiosk audit)."""
    pair(client, make_key, counter="Q01")
    old_key = client.cookies.get("hl_kiosk")
    assert old_key
    pair(client, make_key, counter="Q02")
    devices = client.get("/api/v1/kiosk/devices", headers=make_key("admin")).json()["data"]
    assert [d["counter_code"] for d in devices] == ["Q02"]
    old = TestClient(client.app)
    old.cookies.set("hl_kiosk", old_key, path="/kiosk")
    assert old.get("/kiosk/api/state").status_code == 401
    assert client.get("/kiosk/api/state").json()["counter_code"] == "Q02"
    with db() as session:
        [unpaired] = session.exec(select(AuditLog).where(AuditLog.action == "kiosk.unpair"))
        assert (unpaired.actor, unpaired.detail) == ("kiosk", {"counter": "Q01"})


def test_unpairing_says_who_revoked_the_device_key(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    pair(client, make_key)
    pair(TestClient(client.app), make_key, counter="Q02")
    manager = make_key("manager", agency="G22.39")
    admin = make_key("admin")
    devices = client.get("/api/v1/kiosk/devices", headers=manager).json()["data"]
    by_counter = {d["counter_code"]: d["id"] for d in devices}
    unpaired = client.post(f"/api/v1/kiosk/devices/{by_counter['Q01']}/unpair", headers=manager)
    assert unpaired.status_code == 200
    assert cli_for(database_url)("kiosk", "unpair", str(by_counter["Q02"])).exit_code == 0

    keys = {k["id"]: k for k in client.get("/api/v1/keys", headers=admin).json()["data"]}
    [manager_id] = [i for i, k in keys.items() if k["role"] == "manager"]
    assert keys[by_counter["Q01"]]["revoked_by"] == f"key:{manager_id}:test manager"
    assert keys[by_counter["Q02"]]["revoked_by"] == "cli"
    again = client.post(f"/api/v1/keys/{by_counter['Q01']}/revoke", headers=admin)
    assert again.status_code == 409
    assert f"by key:{manager_id}:test manager" in again.json()["detail"]


def test_a_kiosk_key_from_keys_create_is_not_a_paired_tablet(
    client: TestClient, make_key: KeyFactory
) -> None:
    response = client.get("/kiosk/api/state", headers=make_key("kiosk"))
    assert response.status_code == 401


def test_cli_pairs_lists_and_unpairs(client: TestClient, database_url: str) -> None:
    cli = cli_for(database_url)
    made = cli("kiosk", "pair", "--agency", "G22.39", "--counter", "Q02")
    assert made.exit_code == 0, made.output
    code = made.stdout.strip().splitlines()[-1]
    assert CODE.match(code), made.stdout
    assert client.post("/kiosk/api/pair", json={"code": code}).status_code == 200

    listed = cli("kiosk", "devices")
    assert listed.exit_code == 0
    device_id, agency, counter, paired = listed.stdout.strip().split("\t")
    assert (agency, counter) == ("G22.39", "Q02")
    # The time says its zone, as `kiosk pair`'s does: a bare 17:28 was a tablet paired at
    # 00:28 the next day in the office (time-zone audit).
    when = datetime.strptime(paired, "paired %Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    assert utcnow() - timedelta(minutes=2) < when <= utcnow()
    assert cli("kiosk", "unpair", device_id).exit_code == 0
    assert client.get("/kiosk/api/state").status_code == 401
    assert cli("kiosk", "unpair", device_id).exit_code == 2
    bad = cli("kiosk", "pair", "--agency", "NOPE", "--counter", "Q02")
    assert bad.exit_code == 2


def test_a_tablet_in_use_reads_as_used_in_the_key_list(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) A tablet's device key is an API key, listed by GET /api/v1/keys with its
    `last_used_at`, but /kiosk looked it up by a query of its own that never wrote it: a
    tablet at work every day read as never used, the column an IT centre prunes keys by.
    Written as any key's, at most once a minute however often the tablet calls."""
    admin = make_key("admin")

    def last_used() -> str | None:
        keys = client.get("/api/v1/keys", headers=admin).json()["data"]
        [kiosk] = [k for k in keys if k["role"] == "kiosk"]
        assert kiosk["status"] == "active"
        used: str | None = kiosk["last_used_at"]
        return used

    pair(client, make_key)
    assert last_used() is None  # pairing is not a use
    for _ in range(3):
        assert client.get("/kiosk/api/state").status_code == 200
        assert client.get("/kiosk/api/waiting").status_code == 200
    first = last_used()
    assert first is not None
    assert client.get("/kiosk/api/state").status_code == 200
    assert last_used() == first  # within the minute: not written again
    with db() as session:
        key = session.exec(select(ApiKey).where(ApiKey.role == "kiosk")).one()
        key.last_used_at = utcnow() - timedelta(minutes=2)
        session.add(key)
    assert client.get("/kiosk/api/waiting").status_code == 200
    newest = last_used()
    assert newest is not None
    assert utcnow() - datetime.fromisoformat(newest) < timedelta(minutes=1)


def test_a_code_whose_maker_lost_access_pairs_no_tablet(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(operations audit) A leaked manager key, revoked as soon as the leak was seen, still
    paired a tablet with a code it had made: a device key receiving every survey handed
    over at that counter, which no revocation of the leaked key reaches. So is a code made
    by an official since disabled. Tablets paired before stay paired."""
    leaked = make_key("manager", "G22.39")
    codes = []
    for counter in ("Q01", "Q02"):
        made = client.post(
            "/api/v1/kiosk/pairings",
            json={"agency_code": "G22.39", "counter_code": counter},
            headers=leaked,
        )
        assert made.status_code == 201, made.text
        codes.append(made.json()["code"])
    assert (
        TestClient(client.app).post("/kiosk/api/pair", json={"code": codes[0]}).status_code == 200
    )
    admin = make_key("admin")
    with db() as session:
        key_id = session.exec(select(ApiKey.id).where(ApiKey.role == "manager")).one()
    assert client.post(f"/api/v1/keys/{key_id}/revoke", headers=admin).status_code == 200
    refused = TestClient(client.app).post("/kiosk/api/pair", json={"code": codes[1]})
    assert refused.status_code == 401 and refused.json()["error"] == "pairing_code_invalid"
    assert "revoked" in refused.json()["detail"]
    devices = client.get("/api/v1/kiosk/devices", headers=admin).json()
    assert devices["count"] == 1  # the tablet paired before the revocation

    with db() as session:
        official = add_official(session, "test", "lan@phuong.gov.vn", "Lan", "manager", "G22.39")
        made = create_pairing(
            session,
            agency_code="G22.39",
            counter_code="Q03",
            actor=f"official:{official.id}:lan@phuong.gov.vn",
            principal=None,
            minutes=30,
        )
        assert official.id is not None
        disable_official(session, "test", official.id)
    refused = TestClient(client.app).post("/kiosk/api/pair", json={"code": made.code})
    assert refused.status_code == 401 and refused.json()["error"] == "pairing_code_invalid"


@pytest.mark.parametrize(
    "change",
    [
        OfficialChange(set_agency=True, agency_code="79.SGN"),  # moved to another ward
        OfficialChange(role="auditor", set_agency=True, agency_code=None),  # no manager now
    ],
    ids=["moved_to_another_ward", "made_an_auditor"],
)
def test_a_code_whose_official_lost_the_agency_pairs_no_tablet(
    client: TestClient, db: DbFactory, change: OfficialChange
) -> None:
    """(scope audit) A code is the word of its maker as they stand when it is typed: an
    official moved to another ward or made an auditor no longer manages the counter."""
    with db() as session:
        official = add_official(session, "test", "lan@bth.gov.vn", "Lan", "manager", "79.BTH")
        assert official.id is not None
        made = create_pairing(
            session,
            agency_code="79.BTH",
            counter_code="Q01",
            actor=f"official:{official.id}:lan@bth.gov.vn",
            principal=None,
            minutes=30,
        )
        # The admin takes 79.BTH away from her a minute later.
        update_official(session, "test", official.id, change)
    answer = TestClient(client.app).post("/kiosk/api/pair", json={"code": made.code})
    # Paired at 79.BTH's counter Q01 by the word of someone who no longer manages 79.BTH.
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "pairing_code_invalid"


def test_a_code_for_a_ward_moved_out_of_the_makers_tree_pairs_no_tablet(
    client: TestClient, db: DbFactory, make_key: KeyFactory
) -> None:
    """The same with a key: 79.STP's manager key makes a code for a counter of a ward then
    under 79.STP; before it is typed, the ward is moved under 79.BTH, out of that key's tree."""
    with db() as session:
        upsert_agency(session, "79.STP.W1", "Phường thử", "79.STP", actor="test")
    made = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": "79.STP.W1", "counter_code": "Q01"},
        headers=make_key("manager", agency="79.STP"),
    )
    assert made.status_code == 201, made.text
    with db() as session:  # the ward moves under 79.BTH, out of 79.STP's tree
        upsert_agency(session, "79.STP.W1", "Phường thử", "79.BTH", actor="test")
    answer = TestClient(client.app).post("/kiosk/api/pair", json={"code": made.json()["code"]})
    assert answer.status_code == 401, answer.text
