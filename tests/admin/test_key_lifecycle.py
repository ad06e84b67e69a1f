"""Keys with a lifecycle: listed, revoked, rotated and expiring, by CLI and API, audited."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

import service.auth.cache as cache_module
import service.auth.keys as keys_module
from service.admin.keys import create_key, revoke_key
from service.auth.principal import Principal
from service.errors import ServiceError
from service.models import ApiKey, AuditLog, utcnow
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings
from tests.console.conftest import WARD, ConsoleClient, raw_key
from tests.surveys.conftest import ANSWERS

pytestmark = pytest.mark.usefixtures("agencies")
CACHE_SECONDS = 0.4


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Keys are remembered this long per process: the bound on a revocation taking effect.
    return make_settings(database_url).model_copy(update={"auth_cache_seconds": CACHE_SECONDS})


def new_key(db: DbFactory, role: str, agency: str | None = None, name: str = "") -> tuple[int, str]:
    with db() as session:
        key, raw = create_key(
            session, role=role, name=name or f"{role} key", agency_code=agency, actor="test"
        )
        assert key.id is not None
        return key.id, raw


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def audit(db: DbFactory, action: str) -> list[AuditLog]:
    with db() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def after_the_cache() -> None:
    time.sleep(CACHE_SECONDS + 0.2)


def test_cli_list_revoke_rotate(database_url: str, client: TestClient, db: DbFactory) -> None:
    cli = cli_for(database_url)
    made = cli("keys", "create", "--role", "reader", "--name", "portal", "--expires", "2099-06-30")
    assert made.exit_code == 0, made.output
    portal = made.stdout.strip().splitlines()[-1]
    scoped = cli("keys", "create", "--role", "manager", "--agency", "79.BTH", "--name", "ward")
    assert client.get("/api/v1/agencies", headers=bearer(portal)).status_code == 200

    listing = cli("keys", "list")
    assert listing.exit_code == 0, listing.output
    header, *lines = listing.stdout.strip().splitlines()
    for column in ("ID", "NAME", "ROLE", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "REVOKED"):
        assert column in header
    assert len(lines) == 2 and portal not in listing.stdout
    assert lines[0].split()[:4] == ["1", "portal", "reader", "all"]
    assert "2099-06-30 17:00" in lines[0]  # through 30 June, Vietnam time (UTC+7)
    assert lines[1].split()[:4] == ["2", "ward", "manager", "79.BTH"]
    assert lines[1].rstrip().endswith("-")  # never used, never expires, not revoked

    rotated = cli("keys", "rotate", "1")
    assert rotated.exit_code == 0, rotated.output
    successor = rotated.stdout.strip().splitlines()[-1]
    assert successor.startswith("hl_") and successor != portal
    with db() as session:
        new = session.exec(select(ApiKey).where(ApiKey.id == 3)).one()
        old = session.get(ApiKey, 1)
    assert old is not None and (old.revoked_at, old.revoked_by) != (None, None)
    assert old.revoked_by == "cli"
    assert (new.name, new.role, new.agency_id, new.expires_at) == (
        old.name,
        old.role,
        old.agency_id,
        old.expires_at,
    )

    assert cli("keys", "revoke", "2").exit_code == 0, scoped.output
    again = cli("keys", "revoke", "2")
    assert again.exit_code == 2 and "already revoked" in again.output
    assert cli("keys", "revoke", "99").exit_code == 2

    lines = cli("keys", "list").stdout.strip().splitlines()[1:]
    assert [line.split()[0] for line in lines] == ["1", "2", "3"]
    assert "by cli" in lines[0] and "by cli" in lines[1] and "by cli" not in lines[2]
    after_the_cache()
    assert client.get("/api/v1/agencies", headers=bearer(portal)).status_code == 401
    assert client.get("/api/v1/agencies", headers=bearer(successor)).status_code == 200


def test_cli_refuses_a_past_or_malformed_expiry(database_url: str) -> None:
    cli = cli_for(database_url)
    past = cli("keys", "create", "--role", "reader", "--expires", "2020-01-01")
    assert past.exit_code == 2 and "future" in past.output
    wrong = cli("keys", "create", "--role", "reader", "--expires", "30/06/2027")
    assert wrong.exit_code == 2 and "YYYY-MM-DD" in wrong.output
    # The name column's width (on PostgreSQL a longer one failed with a traceback).
    long = cli("keys", "create", "--role", "reader", "--name", "x" * 256)
    assert long.exit_code == 2 and "1 to 255 characters" in long.output


def test_api_lists_keys_without_secrets_a_page_at_a_time(client: TestClient, db: DbFactory) -> None:
    _, admin = new_key(db, "admin")
    _, reader = new_key(db, "reader")
    new_key(db, "manager", agency="79.BTH")
    first = client.get("/api/v1/keys?limit=2", headers=bearer(admin))
    assert first.status_code == 200, first.text
    body = first.json()
    assert [k["role"] for k in body["data"]] == ["admin", "reader"]
    assert body["next_cursor"] == 2
    second = client.get(f"/api/v1/keys?limit=2&cursor={body['next_cursor']}", headers=bearer(admin))
    assert [(k["role"], k["agency_code"]) for k in second.json()["data"]] == [("manager", "79.BTH")]
    assert second.json()["next_cursor"] is None
    for text in (first.text, second.text):
        assert admin not in text and reader not in text and "hash" not in text
    listed = body["data"][0]
    assert listed["status"] == "active" and listed["last_used_at"] is not None
    assert set(listed) >= {"created_at", "expires_at", "revoked_at", "revoked_by", "prefix"}


@pytest.mark.parametrize("role", ["issuer", "reader", "manager", "kiosk"])
def test_only_admin_keys_manage_keys(client: TestClient, db: DbFactory, role: str) -> None:
    target, _ = new_key(db, "reader")
    _, raw = new_key(db, role)
    assert client.get("/api/v1/keys", headers=bearer(raw)).status_code == 403
    for action in ("revoke", "rotate"):
        response = client.post(f"/api/v1/keys/{target}/{action}", headers=bearer(raw))
        assert response.status_code == 403, response.text
    assert client.get("/api/v1/keys").status_code == 401
    with db() as session:
        key = session.get(ApiKey, target)
        assert key is not None and key.revoked_at is None


def test_api_revoke_and_rotate(client: TestClient, db: DbFactory) -> None:
    admin_id, admin = new_key(db, "admin", name="it centre")
    portal_id, portal = new_key(db, "reader", name="portal")
    issuer_id, issuer = new_key(db, "issuer", agency="79.BTH", name="one-stop")
    for raw in (portal, issuer):
        assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200

    revoked = client.post(f"/api/v1/keys/{portal_id}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_by"] == f"key:{admin_id}:it centre"
    again = client.post(f"/api/v1/keys/{portal_id}/revoke", headers=bearer(admin))
    assert again.status_code == 409 and "already revoked" in again.json()["detail"]

    rotated = client.post(f"/api/v1/keys/{issuer_id}/rotate", headers=bearer(admin))
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["replaces"] == issuer_id and body["key"].startswith("hl_")
    assert (body["data"]["name"], body["data"]["role"], body["data"]["agency_code"]) == (
        "one-stop",
        "issuer",
        "79.BTH",
    )
    assert client.post("/api/v1/keys/999/rotate", headers=bearer(admin)).status_code == 404

    after_the_cache()
    refused = client.get("/api/v1/agencies", headers=bearer(portal))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.get("/api/v1/agencies", headers=bearer(issuer)).status_code == 401
    assert client.get("/api/v1/agencies", headers=bearer(body["key"])).status_code == 200


def test_a_scoped_admin_manages_only_keys_within_its_agency(
    client: TestClient, db: DbFactory
) -> None:
    _, ward_admin = new_key(db, "admin", agency="79.BTH")
    inside, _ = new_key(db, "issuer", agency="79.BTH")
    outside, _ = new_key(db, "issuer", agency="79.SGN")
    everywhere, _ = new_key(db, "reader")
    listed = client.get("/api/v1/keys", headers=bearer(ward_admin)).json()["data"]
    assert {k["id"] for k in listed} == {1, inside}
    for key_id in (outside, everywhere):
        response = client.post(f"/api/v1/keys/{key_id}/revoke", headers=bearer(ward_admin))
        assert response.status_code == 404
    assert (
        client.post(f"/api/v1/keys/{inside}/revoke", headers=bearer(ward_admin)).status_code == 200
    )


def test_a_revoked_key_is_refused_once_the_cache_time_has_passed(
    database_url: str, client: TestClient, db: DbFactory
) -> None:
    key_id, raw = new_key(db, "reader")
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200  # remembered
    # Revoked from another process (the CLI), which this server's cache cannot see.
    assert cli_for(database_url)("keys", "revoke", str(key_id)).exit_code == 0
    after_the_cache()
    response = client.get("/api/v1/agencies", headers=bearer(raw))
    assert response.status_code == 401
    assert "was revoked on" in response.json()["detail"]
    assert "administrator" in response.json()["detail"]


def test_a_key_revoked_or_rotated_through_this_server_is_refused_at_once(
    client: TestClient, db: DbFactory
) -> None:
    """The process that revoked a key still took it for auth_cache_seconds (audit): a
    leaked key rotated away kept working there."""
    _, admin = new_key(db, "admin")
    for action in ("revoke", "rotate"):
        key_id, raw = new_key(db, "reader")
        assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
        done = client.post(f"/api/v1/keys/{key_id}/{action}", headers=bearer(admin))
        assert done.status_code in (200, 201), done.text
        assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 401, action


def test_an_expired_key_is_refused_with_a_sentence_saying_so(
    client: TestClient, db: DbFactory
) -> None:
    key_id, raw = new_key(db, "reader")
    with db() as session:
        key = session.get(ApiKey, key_id)
        assert key is not None
        key.expires_at = utcnow() - timedelta(minutes=1)
        session.add(key)
    response = client.get("/api/v1/agencies", headers=bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "expired on" in response.json()["detail"]
    _, admin = new_key(db, "admin")
    listed = client.get("/api/v1/keys", headers=bearer(admin)).json()["data"]
    assert listed[0]["status"] == "expired"
    rotate = client.post(f"/api/v1/keys/{key_id}/rotate", headers=bearer(admin))
    assert rotate.status_code == 409 and "hailong keys create" in rotate.json()["detail"]


def test_an_expiring_key_is_not_remembered_past_its_expiry(
    client: TestClient, db: DbFactory
) -> None:
    with db() as session:
        _, raw = create_key(
            session,
            role="reader",
            name="soon",
            agency_code=None,
            actor="test",
            expires_at=utcnow() + timedelta(seconds=0.3),
        )
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
    time.sleep(0.35)  # less than the cache time, more than the key's remaining life
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(client: TestClient, db: DbFactory) -> None:
    key_id, raw = new_key(db, "reader")

    def last_used() -> object:
        with db() as session:
            key = session.get(ApiKey, key_id)
            assert key is not None
            return key.last_used_at

    assert last_used() is None
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
    first = last_used()
    assert first is not None
    after_the_cache()  # looked up again, but within the minute: not written
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
    assert last_used() == first
    with db() as session:
        key = session.get(ApiKey, key_id)
        assert key is not None
        key.last_used_at = utcnow() - timedelta(minutes=2)
        session.add(key)
    after_the_cache()
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
    newest = last_used()
    assert isinstance(newest, type(utcnow())) and newest > utcnow() - timedelta(minutes=1)


def test_create_revoke_rotate_each_write_one_audit_record(
    database_url: str, client: TestClient, db: DbFactory
) -> None:
    cli = cli_for(database_url)
    assert cli("keys", "create", "--role", "reader", "--name", "portal").exit_code == 0
    admin_id, admin = new_key(db, "admin", name="it centre")
    assert client.post("/api/v1/keys/1/rotate", headers=bearer(admin)).status_code == 201
    assert cli("keys", "revoke", "3").exit_code == 0

    (created,) = [a for a in audit(db, "key.create") if a.actor == "cli"]
    assert created.target == "api_key:1" and created.detail["to"] == {"id": 1}
    assert created.detail["role"] == "reader" and created.detail["name"] == "portal"
    (rotated,) = audit(db, "key.rotate")
    assert rotated.actor == f"key:{admin_id}:it centre" and rotated.target == "api_key:1"
    assert rotated.detail == {"from": {"id": 1}, "to": {"id": 3}}
    (revoked,) = audit(db, "key.revoke")
    assert (revoked.actor, revoked.target) == ("cli", "api_key:3")
    assert revoked.detail["from"] == {"revoked_at": None}
    assert revoked.detail["to"]["revoked_at"] is not None
    with db() as session:
        keys = session.exec(select(AuditLog).where(col(AuditLog.action).startswith("key."))).all()
    # Two creates (the CLI's and the test's admin key), one rotation, one revocation.
    assert sorted(a.action for a in keys) == [
        "key.create",
        "key.create",
        "key.revoke",
        "key.rotate",
    ]


def test_a_key_revoked_while_its_lookup_runs_is_not_remembered(
    client: TestClient, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request read the key; the revocation committed and was forgotten here; then that
    request remembered the key it had read, and this process took the revoked key for
    auth_cache_seconds more (ops audit). The interleaving is forced at the lookup: the
    route's key check (web/deps.KeyedWork) reads it before the revocation, its unit of
    work after."""
    from service.admin.keys import revoke_key
    from service.auth import cache as cache_module
    from service.auth.keys import authenticate as lookup  # what the cache calls

    key_id, raw = new_key(db, "reader")

    def revoked_meanwhile(session: Session, authorization: str | None) -> Principal:
        principal = lookup(session, authorization)
        monkeypatch.setattr(cache_module, "authenticate", lookup)  # once
        with db() as other:
            revoke_key(other, key_id, actor="test")
        client.app.state.key_cache.forget(key_id)  # type: ignore[attr-defined]
        return principal

    monkeypatch.setattr(cache_module, "authenticate", revoked_meanwhile)
    # The request's work asks for the key again, after the revocation committed...
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 401
    # ...and the key read before it was not remembered: refused from then on.
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 401
    assert client.app.state.key_cache.principal_for(f"Bearer {raw}") is None  # type: ignore[attr-defined]


@pytest.mark.usefixtures("agencies")
def test_a_long_request_does_not_stretch_a_revocation_elsewhere(
    db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key is remembered from its request's COMMIT (so that its use is written first):
    the cache time was counted from there, and another process kept taking a key revoked
    during a long request (an export) for that request's length past the cache time
    (review). It is counted from the lookup."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])  # the cache reads this clock
    with db() as session:
        key, raw = create_key(session, role="reader", name="portal", agency_code=None, actor="t")
    header = f"Bearer {raw}"
    elsewhere = cache_module.KeyCache(5.0)  # the process serving the portal's long request
    with db() as session:
        elsewhere.authenticate(session, header)  # looked up while valid
        with db() as other:  # the IT centre revokes it through another process
            assert key.id is not None
            revoke_key(other, key.id, actor="it")
        revoked_at = clock[0]
        clock[0] += 4.0  # the request takes 4 s, then commits
    clock[0] = revoked_at + 5.0 + 0.5
    with db() as session, pytest.raises(ServiceError):
        elsewhere.authenticate(session, header)


def test_a_key_used_only_in_the_console_is_recorded_as_used(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """The console looks a pasted key up at sign-in and on every page, but only the API
    wrote `last_used_at`: a manager working in the console all morning read as never using
    the key, and an IT centre pruning unused keys would revoke it (audit)."""
    console = ConsoleClient(client)
    assert console.sign_in(raw_key(make_key("manager", WARD))).status_code == 200
    with db() as session:
        key = session.exec(select(ApiKey).where(col(ApiKey.role) == "manager")).one()
        assert key.last_used_at is not None  # at sign-in
        key.last_used_at = utcnow() - timedelta(hours=1)
        session.add(key)
    assert console.get(f"/console/a/{WARD}").status_code == 200
    listed = client.get("/api/v1/keys", headers=make_key("admin")).json()["data"]
    [row] = [k for k in listed if k["role"] == "manager"]
    assert utcnow() - datetime.fromisoformat(row["last_used_at"]) < timedelta(minutes=1)


def test_an_expired_keys_refusal_points_to_what_works(client: TestClient, db: DbFactory) -> None:
    """An expired key's 401 told its holder to have it rotated (`hailong keys rotate`),
    and rotating an expired key is refused (409: "create a new key") (audit)."""
    key_id, raw = new_key(db, "reader", name="portal")
    _, admin = new_key(db, "admin", name="it")
    with db() as session:
        stored = session.get(ApiKey, key_id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(minutes=1)
        session.add(stored)
    refused = client.get("/api/v1/agencies", headers=bearer(raw))
    assert refused.status_code == 401
    advice = refused.json()["detail"]
    rotated = client.post(f"/api/v1/keys/{key_id}/rotate", headers=bearer(admin))
    assert rotated.status_code == 409, rotated.text  # as designed: "create a new key"
    assert "rotate" not in advice and "for a new one" in advice, advice


def test_a_key_whose_first_request_failed_still_reads_as_used(
    client: TestClient, db: DbFactory
) -> None:
    """`last_used_at` is written in the request's transaction: when the request that looked
    the key up failed (a 4xx rolls back), the use was lost, and the key cache answered the
    key's next requests without writing it: a key in use read as never used in
    GET /api/v1/keys, the column the IT centre prunes unused keys by (audit)."""
    key_id, raw = new_key(db, "reader", name="portal")
    _, admin = new_key(db, "admin", name="it")
    # A portal asking for an agency not imported yet, then for the list, at once.
    missing = client.get("/api/v1/agencies/79.NEW/scores/2025-Q3", headers=bearer(raw))
    assert missing.status_code == 404, missing.text
    assert client.get("/api/v1/agencies", headers=bearer(raw)).status_code == 200
    listed = client.get("/api/v1/keys", headers=bearer(admin)).json()
    [row] = [k for k in listed["data"] if k["id"] == key_id]
    assert row["last_used_at"] is not None, row


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry for each key looked up in the database (keys.authenticate, as the cache
    calls it)."""
    counted: list[int] = []
    real = keys_module.authenticate

    def counting(session: Session, authorization: str | None) -> Principal:
        counted.append(1)
        return real(session, authorization)

    monkeypatch.setattr(cache_module, "authenticate", counting)
    return counted


def test_handovers_look_the_key_up_once(
    client: TestClient, make_key: KeyFactory, agencies: None, lookups: list[int]
) -> None:
    """A key is cached only once its request commits (a use rolled back was lost): the hot
    paths must still look it up once, not at every request (review)."""
    issuer = make_key("issuer")
    for n in range(4):
        body = handover_body(dossier_code=f"G22.39-250915-000{n}")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    assert len(lookups) == 1


def test_reads_look_the_key_up_once(
    client: TestClient, make_key: KeyFactory, agencies: None, lookups: list[int]
) -> None:
    reader = make_key("reader")
    for _ in range(4):
        assert client.get("/api/v1/agencies", headers=reader).status_code == 200
    assert len(lookups) == 1


def test_answers_with_a_key_look_the_key_up_once(
    client: TestClient, make_key: KeyFactory, agencies: None, lookups: list[int]
) -> None:
    issuer = make_key("issuer")
    tokens = []
    for n in range(4):
        body = handover_body(dossier_code=f"G22.39-250915-000{n}")
        made = client.post("/api/v1/handovers", json=body, headers=issuer)
        tokens.append(made.json()["survey_url"].rsplit("/", 1)[1])
    lookups.clear()
    portal = make_key("issuer")
    for token in tokens:
        body = {
            "token": token,
            "answers": ANSWERS,
            "source": "phone",
            "client_submission_id": str(uuid.uuid4()),
        }
        answered = client.post("/api/v1/responses", json=body, headers=portal)
        assert answered.status_code == 201, answered.text
    assert len(lookups) == 1
