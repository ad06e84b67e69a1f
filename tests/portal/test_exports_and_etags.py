"""Exports for Excel users, and ETags so polling portals pay nothing for unchanged scores."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from types import ModuleType

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

import service.portal.reach_router as reach_router
import service.portal.router as scores_router
from service.admin.agencies import upsert_agency
from service.admin.keys import revoke_key
from service.auth.keys import hash_key
from service.db import transaction
from service.errors import Unauthorized
from service.models import Agency, ApiKey
from service.portal import exports
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.webhooks.test_sibling_ranks import perfect_september

pytestmark = pytest.mark.usefixtures("agencies")


def _seed(client: TestClient, make_key: KeyFactory) -> None:
    issuer = make_key("issuer")
    for code, agency in (("E1", "79.BTH"), ("E2", "79.BTH"), ("E3", "79.SGN")):
        client.post(
            "/api/v1/handovers",
            json=handover_body(dossier_code=code, agency_code=agency),
            headers=issuer,
        )
    client.put(
        "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs",
        json={"d": 17, "e": 1},
        headers=make_key("admin"),
    )


def test_csv_has_bom_vietnamese_headers_and_every_component(
    client: TestClient, make_key: KeyFactory
) -> None:
    _seed(client, make_key)
    response = client.get(
        "/api/v1/scores.csv",
        params={"period": "2025-Q3", "parent_code": "79"},
        headers=make_key("reader"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "hailong-scores-2025-Q3.csv" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_code = {r["Mã cơ quan"]: r for r in rows}
    assert set(by_code) == {"79.BTH", "79.SGN", "79.STP", "G22.39"}
    ward = by_code["79.BTH"]
    assert ward["Tên cơ quan"] == "Phường Bến Thành"
    assert ward["A - Đúng hẹn"] == "1.0" and ward["D - Phản ánh kiến nghị"] == "17.0"
    assert ward["Nhóm"] == "Chưa đủ dữ liệu" and ward["Phần thiếu dữ liệu"] == "B, C"
    assert ward["Nguồn D"] == "Nhập từ hệ thống PAKN" and ward["Số hồ sơ đã giải quyết"] == "2"
    assert by_code["79.STP"]["A - Đúng hẹn"] == ""  # missing is empty, never 0
    # Who entered D and E, and when, as the JSON and the report say (exports audit).
    for part in "DE":
        assert ward[f"{part} nhập bởi"] == "test admin", ward
        assert ward[f"{part} nhập lúc"].endswith("+07:00"), ward
        assert by_code["79.SGN"][f"{part} nhập bởi"] == by_code["79.SGN"][f"{part} nhập lúc"] == ""


def test_xlsx_opens_with_the_same_rows(client: TestClient, make_key: KeyFactory) -> None:
    _seed(client, make_key)
    response = client.get(
        "/api/v1/scores.xlsx", params={"period": "2025-Q3"}, headers=make_key("reader")
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã cơ quan", "Tên cơ quan", "Kỳ")
    codes = {r[0] for r in rows[1:]}
    assert codes == {"79", "79.BTH", "79.SGN", "79.STP", "G22.39"}
    bth = next(r for r in rows if r[0] == "79.BTH")
    header = rows[0]
    column = {name: header.index(name) for name in ("A - Đúng hẹn", "D - Phản ánh kiến nghị")}
    # A and D as numbers Excel can sum
    assert bth[column["A - Đúng hẹn"]] == 1.0 and bth[column["D - Phản ánh kiến nghị"]] == 17.0
    assert bth[header.index("E nhập bởi")] == "test admin"


def test_exports_respect_roles_scope_and_period(client: TestClient, make_key: KeyFactory) -> None:
    _seed(client, make_key)
    url = "/api/v1/scores.csv"
    assert client.get(url, params={"period": "2025-Q3"}).status_code == 401
    assert (
        client.get(url, params={"period": "2025-Q3"}, headers=make_key("issuer")).status_code == 403
    )
    assert (
        client.get(url, params={"period": "2025-Q9"}, headers=make_key("reader")).status_code == 422
    )
    scoped = client.get(
        url, params={"period": "2025-Q3"}, headers=make_key("reader", agency="79.SGN")
    )
    rows = list(csv.DictReader(io.StringIO(scoped.content.decode("utf-8-sig"))))
    assert [r["Mã cơ quan"] for r in rows] == ["79.SGN"]


def test_exports_of_many_agencies_arrive_complete(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    with db() as session:
        for i in range(1203):  # more than two chunks of 500
            upsert_agency(session, f"79.W{i:04d}", f"Phường {i}", "79", actor="test")
    response = client.get(
        "/api/v1/scores.csv",
        params={"period": "2025", "parent_code": "79"},
        headers=make_key("reader"),
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1203 + 4
    assert len({r["Mã cơ quan"] for r in rows}) == len(rows)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agencies/79.BTH/scores/2025-Q3",
        "/api/v1/scores?period=2025-Q3",
        "/api/v1/rankings?period=2025-Q3&parent_code=79",
        "/api/v1/agencies/79.BTH/scores/2025-Q3/explain",
    ],
)
def test_score_reads_carry_etags_and_answer_304_until_something_changes(
    client: TestClient, make_key: KeyFactory, path: str
) -> None:
    _seed(client, make_key)
    reader = make_key("reader")
    first = client.get(path, headers=reader)
    assert first.status_code == 200
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get(path, headers={**reader, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="E9", agency_code="79.BTH"),
        headers=make_key("issuer"),
    )
    changed = client.get(path, headers={**reader, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_a_text_that_looks_like_a_formula_stays_a_text(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    """An agency named like a spreadsheet formula (OWASP "CSV injection"): the CSV cell is
    quoted the way spreadsheets quote a text, the XLSX cell is stored as a string."""
    name = '=HYPERLINK("http://evil.example","Bấm vào đây")'
    with transaction(engine) as session:
        upsert_agency(session, "79.EVL", name, "79", actor="test")
    reader = make_key("reader")
    csv_response = client.get("/api/v1/scores.csv", params={"period": "2025-Q3"}, headers=reader)
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert next(r for r in rows if r["Mã cơ quan"] == "79.EVL")["Tên cơ quan"] == "'" + name

    xlsx = client.get("/api/v1/scores.xlsx", params={"period": "2025-Q3"}, headers=reader)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == "79.EVL")
    assert (cell.value, cell.data_type) == (name, "s")


def _exported_codes(
    client: TestClient, params: dict[str, str], key: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The agency codes of the CSV and of the XLSX of the same query, in their order."""
    csv_response = client.get("/api/v1/scores.csv", params=params, headers=key)
    assert csv_response.status_code == 200, csv_response.text
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))[1:]
    xlsx = client.get("/api/v1/scores.xlsx", params=params, headers=key)
    assert xlsx.status_code == 200, xlsx.text
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    return [r[0] for r in rows], [str(r[0]) for r in sheet.iter_rows(min_row=2, values_only=True)]


def test_score_exports_list_a_parents_children_in_the_order_of_the_api(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    """Each chunk of the exports was sorted by path, where GET /api/v1/scores sorts a parent's
    children by code: G22 came after G22.39 ('.' sorts before '/'; reports audit)."""
    with transaction(engine) as session:
        upsert_agency(session, "G22", "Sở A", "79", actor="test")
    reader = make_key("reader")
    params = {"period": "2025-Q3", "parent_code": "79"}
    api = client.get("/api/v1/scores", params=params, headers=reader)
    assert api.status_code == 200, api.text
    api_order = [s["agency_code"] for s in api.json()["data"]]
    assert api_order.index("G22") < api_order.index("G22.39")
    assert _exported_codes(client, params, reader) == (api_order, api_order)


def test_score_export_of_one_agency_has_the_apis_rows(
    client: TestClient, make_key: KeyFactory
) -> None:
    """The exports took no agency_code: asking for one agency exported every agency the key
    sees, and a scoped key asking for another agency got its own rows where the API said 403
    (reports audit)."""
    params = {"period": "2025-Q3", "agency_code": "79.BTH"}
    admin = make_key("admin")
    api = client.get("/api/v1/scores", params=params, headers=admin)
    assert [s["agency_code"] for s in api.json()["data"]] == ["79.BTH"]
    assert _exported_codes(client, params, admin) == (["79.BTH"], ["79.BTH"])
    scoped = make_key("reader", agency="79.BTH")
    other = {"period": "2025-Q3", "agency_code": "79.SGN"}
    assert client.get("/api/v1/scores", params=other, headers=scoped).status_code == 403
    for suffix in ("csv", "xlsx"):
        refused = client.get(f"/api/v1/scores.{suffix}", params=other, headers=scoped)
        assert refused.status_code == 403, refused.text


def _revoke_after_first_chunk(
    client: TestClient,
    db: DbFactory,
    headers: dict[str, str],
    module: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One agency per chunk; once the first chunk is read, the key is revoked as
    POST /api/v1/keys/{id}/revoke revokes it (the row, then this process forgets it)."""
    monkeypatch.setattr(exports, "CHUNK", 1)
    raw = headers["Authorization"].removeprefix("Bearer ")
    with db() as session:
        key_id = session.exec(select(ApiKey.id).where(ApiKey.key_hash == hash_key(raw))).one()
    assert key_id is not None
    original: Callable[[Session, list[int]], Sequence[Agency]] = module.agencies_in_order
    calls = {"n": 0}

    def in_order(session: Session, ids: list[int]) -> Sequence[Agency]:
        calls["n"] += 1
        if calls["n"] == 2:  # the first chunk is out: the IT centre revokes the key now
            with db() as other:
                revoke_key(other, key_id, actor="test")
            client.app.state.key_cache.forget(key_id)  # type: ignore[attr-defined]
        return original(session, ids)

    monkeypatch.setattr(module, "agencies_in_order", in_order)


def _codes_written(client: TestClient, path: str, headers: dict[str, str]) -> list[str] | None:
    """The agency codes the export delivered, or None when a CSV stream was broken off (as
    the evaluations export stops). A workbook is built whole before it is sent: a refusal
    is the API's own, and any other answer fails here (review: a 500 passed for refused)."""
    try:
        answer = client.get(path, params={"period": "2025-Q3"}, headers=headers)
    except RuntimeError as broken:  # Starlette's: the stream had started when it stopped
        assert path.endswith(".csv")  # only a stream breaks off mid-way
        assert isinstance(broken.__cause__, Unauthorized), broken.__cause__
        return None
    if path.endswith(".xlsx") and answer.status_code == 401:
        assert answer.json()["error"] == "unauthorized"
        return None
    assert answer.status_code == 200, answer.text[:200]
    if path.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))[1:]
        return [r[0] for r in rows]
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    return [str(r[0]) for r in sheet.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("name", "module"), [("scores", scores_router), ("response-rates", reach_router)]
)
def test_a_key_revoked_mid_export_gets_no_more_agencies(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    module: ModuleType,
    suffix: str,
) -> None:
    """(audit) A key the IT centre revokes while its score or response-rate export is being
    written gets no more agencies: the key was checked once, before the first chunk, and the
    file went on to hold every agency of the province."""
    path = f"/api/v1/{name}.{suffix}"
    whole = _codes_written(client, path, make_key("reader"))
    assert whole is not None and len(whole) == 5  # the province and its four children

    headers = make_key("reader")
    _revoke_after_first_chunk(client, db, headers, module, monkeypatch)
    written = _codes_written(client, path, headers)
    # Revoked while the second chunk was read: the other three are not the key's to read.
    assert written is None or len(written) <= 2, written
    assert client.get("/api/v1/agencies", headers=headers).status_code == 401


def test_xlsx_carries_the_k_the_api_gives_not_one_rounded_to_the_threshold(
    client: TestClient, make_key: KeyFactory
) -> None:
    """openpyxl writes every number with 16 significant digits: an imported D of
    16.999999999999996 and A = B = C = 1 gave the API's K of 19.999999999999996, "Không hài
    lòng", and the file's K of 20 beside "Không hài lòng" (inputs audit). README: the API,
    CSV and XLSX carry the same exact values."""
    admin = make_key("admin")
    perfect_september(client, admin, "79.BTH")
    put = client.put(
        "/api/v1/agencies/79.BTH/periods/2025-09/inputs",
        json={"d": 16.999999999999996, "e": 0},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    score = put.json()
    assert score["k"] == 19.999999999999996 and score["group"] == "khong_hai_long"

    exported = client.get("/api/v1/scores.xlsx?period=2025-09", headers=admin)
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    header, data = rows[0], {row[0]: row for row in rows[1:]}
    k_column = next(i for i, title in enumerate(header) if str(title).startswith("K (0-"))
    d_column = header.index("D - Phản ánh kiến nghị")
    ward = data["79.BTH"]
    assert ward[header.index("Nhóm")] == "Không hài lòng"
    assert ward[k_column] == score["k"], ward[k_column]  # 20.0 in the file: the threshold
    assert ward[d_column] == score["d"], ward[d_column]
