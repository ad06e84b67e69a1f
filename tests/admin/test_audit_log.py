"""The audit log, readable: by API (filters, cursor pages) and as CSV, for admins and
auditors only; and each audited action writes exactly one record of who changed what."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.admin import audit_router
from service.admin.agencies import get_agency_by_code
from service.models import ApiKey, AuditLog, Petition, utcnow
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import ConsoleClient, autofocused_alert, fields_to_fix, raw_key

pytestmark = pytest.mark.usefixtures("agencies")
Json = dict[str, Any]
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FORMULA_ACTOR = '=HYPERLINK("http://evil.example","bấm")'


def seed(db: DbFactory) -> None:
    """Seven records an hour apart from T0, after the agencies fixture's own."""
    rows: list[tuple[str, str, str, Json]] = [
        ("cli", "key.create", "api_key:70", {"role": "reader"}),
        ("key:1:portal", "webhook.create", "webhook:wh_1", {"url": "https://x.vn/h"}),
        ("cli", "key.revoke", "api_key:70", {"from": {"revoked_at": None}}),
        (FORMULA_ACTOR, "calendar.set", "+84-day", {"note": "Nghỉ bù"}),
        ("key:2:ward", "inputs.set", "agency:79.BTH:2026-Q1", {"after": {"e": 1}}),
        ("cli", "key.rotate", "api_key:71", {"from": {"id": 71}, "to": {"id": 72}}),
        ("citizen", "petition.verdict", "petition:P-1", {"verdict": "satisfied"}),
    ]
    with db() as session:
        for hour, (actor, action, target, detail) in enumerate(rows):
            at = T0 + timedelta(hours=hour)
            session.add(AuditLog(at=at, actor=actor, action=action, target=target, detail=detail))


def read(client: TestClient, headers: dict[str, str], **params: Any) -> Json:
    response = client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def actions(body: Json) -> list[str]:
    return [entry["action"] for entry in body["data"]]


def test_only_unscoped_admins_and_auditors_read_the_log(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    # An auditor key limited to an agency is no longer made (keys.create_key); one made
    # before that rule is still refused here.
    scoped_auditor = make_key("auditor")
    with db() as session:
        [key] = session.exec(select(ApiKey).order_by(col(ApiKey.id).desc()).limit(1)).all()
        key.agency_id = get_agency_by_code(session, "79.BTH").id  # type: ignore[union-attr]
        session.add(key)
    scoped_keys = {"admin": make_key("admin", agency="79.BTH"), "auditor": scoped_auditor}
    for path in ("/api/v1/audit", "/api/v1/audit.csv"):
        assert client.get(path).status_code == 401
        for role in ("issuer", "reader", "manager", "kiosk"):
            refused = client.get(path, headers=make_key(role))
            assert refused.status_code == 403, (path, role, refused.text)
            assert refused.json()["error"] == "forbidden"
        for role in ("admin", "auditor"):
            assert client.get(path, headers=make_key(role)).status_code == 200, (path, role)
            # The records name no agency: a key limited to a subtree reads none of them.
            scoped = client.get(path, headers=scoped_keys[role])
            assert scoped.status_code == 403, (path, role, scoped.text)
            assert "not limited to an agency" in scoped.json()["detail"]


def test_the_auditor_changes_nothing(client: TestClient, make_key: KeyFactory) -> None:
    auditor = make_key("auditor")
    assert client.get("/api/v1/keys", headers=auditor).status_code == 403
    assert client.post("/api/v1/keys/1/revoke", headers=auditor).status_code == 403
    put = client.put(
        "/api/v1/calendar/overrides/2026-03-07", json={"working": True}, headers=auditor
    )
    assert put.status_code == 403


def test_filters(client: TestClient, make_key: KeyFactory, db: DbFactory) -> None:
    seed(db)
    auditor = make_key("auditor")
    everything = read(client, auditor, limit=500)
    ids = [entry["id"] for entry in everything["data"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert actions(read(client, auditor, actor="cli")) == ["key.rotate", "key.revoke", "key.create"]
    # The newest: the auditor's own key, made after the seed.
    assert actions(read(client, auditor, action="key.")) == [
        "key.create",
        "key.rotate",
        "key.revoke",
        "key.create",
    ]
    key_actions = actions(read(client, auditor, action="key.r"))
    assert key_actions == ["key.rotate", "key.revoke"]
    assert actions(read(client, auditor, target="api_key:70")) == ["key.revoke", "key.create"]
    # since: at or after; until: before. In any offset: 15:00+07:00 is 08:00 UTC (T0).
    window = read(client, auditor, since="2026-03-01T16:00:00+07:00", until="2026-03-01T11:00:00Z")
    assert actions(window) == ["key.revoke", "webhook.create"]
    assert window["count"] == 2 and window["next_cursor"] is None
    combined = read(client, auditor, actor="cli", action="key.", since=T0.isoformat())
    assert actions(combined) == ["key.rotate", "key.revoke", "key.create"]
    assert read(client, auditor, actor="nobody")["data"] == []
    entry = read(client, auditor, action="inputs.set")["data"][0]
    assert entry["actor"] == "key:2:ward" and entry["target"] == "agency:79.BTH:2026-Q1"
    assert entry["detail"] == {"after": {"e": 1}}
    assert datetime.fromisoformat(entry["at"]) == T0 + timedelta(hours=4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-03-01T08:00:00"}, "since"),  # no offset: which 08:00?
        ({"until": "0001-01-01T00:00:00Z"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"cursor": "0"}, "cursor"),
        ({"limit": "501"}, "limit"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(
    client: TestClient, make_key: KeyFactory, params: dict[str, str], field: str
) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit.csv"):
        if field in ("cursor", "limit") and path.endswith(".csv"):
            continue
        response = client.get(path, params=params, headers=make_key("admin"))
        assert response.status_code == 422, (path, params, response.text)
        assert field in response.text


def test_next_cursor_walks_every_record_once(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    seed(db)
    admin = make_key("admin")
    with db() as session:
        stored = sorted((e.id or 0 for e in session.exec(select(AuditLog)).all()), reverse=True)
    assert len(stored) >= 12  # the agencies, the admin key and the seven above
    seen: list[int] = []
    pages = 0
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = read(client, admin, **params)
        pages += 1
        assert page["count"] == len(page["data"]) <= 3
        seen += [entry["id"] for entry in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["data"][-1]["id"]
    assert seen == stored  # every record, newest first, none twice
    assert pages in (len(stored) // 3 + 1, -(-len(stored) // 3))
    # A filtered walk stays within its filter.
    first = read(client, admin, actor="cli", limit=2)
    rest = read(client, admin, actor="cli", limit=2, cursor=first["next_cursor"])
    assert actions(first) + actions(rest) == ["key.rotate", "key.revoke", "key.create"]
    assert rest["next_cursor"] is None


def csv_rows(client: TestClient, headers: dict[str, str], **params: Any) -> list[list[str]]:
    response = client.get("/api/v1/audit.csv", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_has_every_matching_record_and_formulas_stay_text(
    client: TestClient, make_key: KeyFactory, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db)
    monkeypatch.setattr(audit_router, "CSV_CHUNK", 2)  # several chunks, one header
    auditor = make_key("auditor")
    header, *rows = csv_rows(client, auditor)
    assert header == [
        "Mã",
        "Thời điểm (UTC)",
        "Người thực hiện",
        "Thao tác",
        "Đối tượng",
        "Chi tiết",
    ]
    api_ids = [str(entry["id"]) for entry in read(client, auditor, limit=500)["data"]]
    assert [row[0] for row in rows] == api_ids
    [calendar] = [row for row in rows if row[3] == "calendar.set"]
    assert calendar[2] == "'" + FORMULA_ACTOR  # a name, never a formula
    assert calendar[4] == "'+84-day"
    assert calendar[5] == '{"note": "Nghỉ bù"}'  # Vietnamese as it is, not \\u escapes
    assert calendar[1] == (T0 + timedelta(hours=3)).isoformat()
    header, *rows = csv_rows(client, auditor, actor="cli", action="key.r")
    assert [row[3] for row in rows] == ["key.rotate", "key.revoke"]
    header, *rows = csv_rows(client, auditor, actor="nobody")
    assert header[0] == "Mã" and rows == []


def count_of(client: TestClient, admin: dict[str, str], action: str) -> list[Json]:
    data: list[Json] = read(client, admin, action=action, limit=500)["data"]
    return [entry for entry in data if entry["action"] == action]


class Audited:
    """Checks that one step writes exactly one record of `action`, and returns it."""

    def __init__(self, client: TestClient, admin: dict[str, str]) -> None:
        self.client, self.admin = client, admin

    def one(self, action: str, step: Any) -> Json:
        before = {e["id"] for e in count_of(self.client, self.admin, action)}
        step()
        new = [e for e in count_of(self.client, self.admin, action) if e["id"] not in before]
        assert len(new) == 1, (action, new)
        return new[0]


def test_each_change_writes_one_record(
    client: TestClient, make_key: KeyFactory, database_url: str
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhook_allow_networks": "127.0.0.0/8"}
    )
    admin = make_key("admin")
    admin_actor = read(client, admin, action="key.create")["data"][0]["target"]
    assert admin_actor.startswith("api_key:")
    actor = f"key:{admin_actor.removeprefix('api_key:')}:test admin"
    audited = Audited(client, admin)
    cli = cli_for(database_url)
    outputs: dict[str, str] = {}

    def cli_run(*args: str) -> None:
        result = cli(*args)
        assert result.exit_code == 0, result.output
        outputs[args[0]] = result.stdout

    created = audited.one("key.create", lambda: cli_run("keys", "create", "--role", "reader"))
    assert created["actor"] == "cli" and created["detail"]["role"] == "reader"
    key_id = int(created["target"].removeprefix("api_key:"))

    def post(url: str, body: Any = None, status: int = 200) -> Json:
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == status, response.text
        result: Json = response.json()
        return result

    rotated = audited.one("key.rotate", lambda: post(f"/api/v1/keys/{key_id}/rotate", None, 201))
    assert rotated["actor"] == actor and rotated["detail"]["from"] == {"id": key_id}
    successor = rotated["detail"]["to"]["id"]
    revoked = audited.one("key.revoke", lambda: post(f"/api/v1/keys/{successor}/revoke"))
    assert revoked["target"] == f"api_key:{successor}"
    assert revoked["detail"]["from"] == {"revoked_at": None}
    assert revoked["detail"]["to"]["revoked_at"] is not None

    def put(url: str, body: Json) -> None:
        response = client.put(url, json=body, headers=admin)
        assert response.status_code == 200, response.text

    inputs_url = "/api/v1/agencies/G22.39/periods/2025-Q3/inputs"
    audited.one("inputs.set", lambda: put(inputs_url, {"e": 1}))
    changed = audited.one("inputs.set", lambda: put(inputs_url, {"e": 0}))
    assert changed["actor"] == actor and changed["target"] == "agency:G22.39:2025-Q3"
    assert changed["detail"]["before"]["e"] == 1 and changed["detail"]["after"]["e"] == 0

    day = audited.one(
        "calendar.set", lambda: put("/api/v1/calendar/overrides/2025-09-06", {"working": True})
    )
    assert day["actor"] == actor and day["target"] == "day:2025-09-06"
    assert day["detail"]["working"] is True and "previous" in day["detail"]

    codes: list[str] = []
    made = audited.one(
        "kiosk.pairing_code",
        lambda: codes.append(
            post("/api/v1/kiosk/pairings", {"agency_code": "G22.39", "counter_code": "Q01"}, 201)[
                "code"
            ]
        ),
    )
    assert made["actor"] == actor and made["detail"]["counter"] == "Q01"
    tablet = TestClient(client.app)
    paired = audited.one(
        "kiosk.pair", lambda: tablet.post("/kiosk/api/pair", json={"code": codes[0]})
    )
    device = int(paired["target"].removeprefix("api_key:"))
    unpaired = audited.one("kiosk.unpair", lambda: post(f"/api/v1/kiosk/devices/{device}/unpair"))
    assert unpaired["actor"] == actor and unpaired["target"] == f"api_key:{device}"

    hooks: list[str] = []
    hook = audited.one(
        "webhook.create",
        lambda: hooks.append(
            post(
                "/api/v1/webhooks",
                {"url": "http://127.0.0.1:9/hook/s3cr3t?token=t0k3n", "events": ["score.updated"]},
                201,
            )["id"]
        ),
    )
    # Its path and query are often the receiver's credential: the origin only (audit).
    assert hook["actor"] == actor and hook["detail"]["receiver"] == "http://127.0.0.1:9"
    assert "s3cr3t" not in str(hook) and "t0k3n" not in str(hook)

    def delete_hook() -> None:
        assert client.delete(f"/api/v1/webhooks/{hooks[0]}", headers=admin).status_code == 204

    gone = audited.one("webhook.delete", delete_hook)
    assert gone["target"] == f"webhook:{hooks[0]}"

    agency = audited.one(
        "agency.create", lambda: cli_run("agencies", "add", "79.Q1", "Quận 1", "--parent", "79")
    )
    assert agency["actor"] == "cli" and agency["target"] == "agency:79.Q1"
    assert agency["detail"] == {"name": "Quận 1", "parent_code": "79"}


def test_a_petition_handled_in_the_console_writes_one_record(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    admin = make_key("admin")
    received = (utcnow() - timedelta(days=1)).isoformat()
    body = {"petition_code": "PA-1", "agency_code": "79.BTH", "received_at": received}
    assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    with db() as session:
        petition = session.exec(select(Petition).where(col(Petition.code) == "PA-1")).one()
    console = ConsoleClient(client)
    assert console.sign_in(raw_key(make_key("manager", "79.BTH"))).status_code == 200
    console.get(f"/console/petitions/{petition.id}")  # the form's CSRF token
    audited = Audited(client, admin)

    def reply() -> None:
        # The ward's own reply to an imported petition: handled when saved.
        saved = console.post(f"/console/petitions/{petition.id}/reply", {"reply": "Đã xử lý."})
        assert saved.status_code == 200, saved.text

    entry = audited.one("petition.reply", reply)
    assert entry["actor"].endswith(":test manager") and entry["target"] == "petition:PA-1"
    # Codes are an agency's own: the record says whose (console audit).
    assert entry["detail"]["agency"] == "79.BTH"
    assert entry["detail"]["previous_handled_at"] is None
    assert entry["detail"]["handled_at"] is not None


def test_console_page_for_auditors_and_admins(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(db)
    auditor = ConsoleClient(client)
    landed = auditor.sign_in(raw_key(make_key("auditor")))
    assert landed.status_code == 200 and landed.url.path == "/console/audit"
    assert "<h1>Nhật ký thao tác</h1>" in landed.text and 'id="audit-link"' in landed.text
    assert "key.rotate" in landed.text and "api_key:71" in landed.text
    assert "Nghỉ bù" in landed.text  # the detail, Vietnamese as written
    assert "01/03/2026 18:00" in landed.text  # T0 + 3 h, Vietnam time (UTC+7)
    # An auditor reads the log and nothing else in the console.
    for path in ("/console/a/79", "/console/a/79/petitions", "/console/a/79/kiosks"):
        assert auditor.get(path).status_code == 403, path
    filtered = auditor.get("/console/audit", params={"actor": "cli", "action": "key.r"})
    rows = re.findall(r'<tr data-record="(\d+)">', filtered.text)
    assert len(rows) == 2 and "key.create" not in filtered.text
    window = auditor.get("/console/audit", params={"since": "2026-03-01", "until": "2026-03-01"})
    assert len(re.findall(r"<tr data-record=", window.text)) == 7
    # ISO's basic form filters too, and the date fields show the days it names (they
    # showed empty: a browser's date field takes only YYYY-MM-DD; operations audit).
    basic = auditor.get("/console/audit", params={"since": "20260301", "until": "2026-W09-7"})
    assert len(re.findall(r"<tr data-record=", basic.text)) == 7
    assert 'name="since" type="date" value="2026-03-01"' in basic.text
    assert 'name="until" type="date" value="2026-03-01"' in basic.text
    refused = auditor.get("/console/audit", params={"since": "2026-03-02", "until": "2026-03-01"})
    assert refused.status_code == 422
    assert "Ngày kết thúc phải từ ngày bắt đầu trở đi." in refused.text
    # The focus goes to what was wrong, as on every refused console form (operations audit).
    assert autofocused_alert(refused.text) == "audit-problems"
    assert fields_to_fix(refused.text, "audit-problems") == [("f-until", "Đến hết ngày")]
    impossible = auditor.get("/console/audit", params={"since": "2026-02-30"})
    assert impossible.status_code == 422 and autofocused_alert(impossible.text) == "audit-problems"
    assert auditor.get("/console/audit", params={"since": "0001-01-01"}).status_code == 422
    english = auditor.get("/console/audit", params={"lang": "en"})
    assert "<h1>Audit log</h1>" in english.text and "Older" not in english.text

    monkeypatch.setattr("service.console.audit_pages.PAGE_SIZE", 3)
    seen: list[str] = []
    page = auditor.get("/console/audit", params={"since": "2026-03-01", "until": "2026-03-01"})
    while True:
        seen += re.findall(r'<tr data-record="(\d+)">', page.text)
        older = re.search(r'href="([^"]+)" id="older"', page.text)
        if older is None:
            break
        page = auditor.get(older.group(1).replace("&amp;", "&"))
        assert 'id="newest"' in page.text
    assert len(seen) == 7 == len(set(seen))
    assert seen == sorted(seen, key=int, reverse=True)

    manager = ConsoleClient(TestClient(app))
    manager.sign_in(raw_key(make_key("manager")))
    assert 'id="audit-link"' not in manager.get("/console").text
    assert manager.get("/console/audit").status_code == 403
    admin = ConsoleClient(TestClient(app))
    admin.sign_in(raw_key(make_key("admin")))
    assert 'id="audit-link"' in admin.get("/console").text
    assert admin.get("/console/audit").status_code == 200
    scoped = ConsoleClient(TestClient(app))
    scoped.sign_in(raw_key(make_key("admin", agency="79.BTH")))
    assert scoped.get("/console/audit").status_code == 403
    # Signing out works for an auditor too, and is itself in the log.
    auditor.get("/console/audit")
    assert auditor.sign_out().url.path == "/console/sign-in"
    assert auditor.get("/console/audit").url.path == "/console/sign-in"
    with db() as session:
        outs = session.exec(select(AuditLog).where(AuditLog.action == "console.sign_out")).all()
    assert [entry.actor.endswith(":test auditor") for entry in outs] == [True]
