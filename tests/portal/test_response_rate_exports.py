"""Response-rate exports: the API's rows in CSV and XLSX, flags in words, names that look
like formulas kept as text, and the same roles and scope as the JSON route."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import select

from service.admin.agencies import upsert_agency
from service.db import transaction
from service.models import Counter
from service.periods import period_containing
from service.portal.picker import today_local
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.scoring.reach_seed import PERIOD, WARD, seed_reach

pytestmark = pytest.mark.usefixtures("agencies")
FORMULA = '=HYPERLINK("http://evil.example","Q")'


@pytest.fixture
def seeded(client: TestClient, make_key: KeyFactory, db: DbFactory, agencies: None) -> None:
    seed_reach(client, make_key, db)
    with db() as session:
        q01 = session.exec(select(Counter).where(Counter.code == "Q01")).one()
        q01.name = FORMULA
        session.add(q01)


def _csv(client: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, str]]:
    response = client.get(
        "/api/v1/response-rates.csv", params={"period": PERIOD, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.usefixtures("seeded")
def test_csv_per_counter_with_the_flag_and_text_kept_as_text(
    client: TestClient, make_key: KeyFactory
) -> None:
    rows = _csv(client, make_key("reader"), agency_code=WARD, by="counter")
    by_code = {r["Mã"]: r for r in rows}
    assert set(by_code) == {"Q01", "Q02", ""}
    q02 = by_code["Q02"]
    assert (q02["Phiếu đã phát"], q02["Đã trả lời"], q02["Tỉ lệ phản hồi"]) == ("25", "5", "0.2")
    assert q02["Tỉ lệ phản hồi của đơn vị"] == "0.48" and q02["Theo"] == "Quầy"
    assert q02["Cảnh báo"].startswith("Tỉ lệ phản hồi thấp hơn nhiều")
    assert by_code["Q01"]["Cảnh báo"] == ""
    assert by_code["Q01"]["Tên"] == "'" + FORMULA  # a spreadsheet shows it, never runs it
    assert by_code[""]["Tên"] == "Không ghi quầy"


@pytest.mark.usefixtures("seeded")
def test_csv_default_is_one_row_per_visible_agency(
    client: TestClient, make_key: KeyFactory
) -> None:
    rows = _csv(client, make_key("reader"))
    issued = {r["Mã cơ quan"]: r["Phiếu đã phát"] for r in rows}
    assert issued == {"79": "0", "79.BTH": "50", "79.SGN": "0", "79.STP": "0", "G22.39": "0"}
    assert next(r for r in rows if r["Mã cơ quan"] == "79.SGN")["Tỉ lệ phản hồi"] == ""
    scoped = _csv(client, make_key("manager", agency=WARD), by="staff")
    assert {r["Mã cơ quan"] for r in scoped} == {WARD}
    assert "CB2" not in {r["Mã"] for r in scoped}  # folded under the anonymity minimum


@pytest.mark.usefixtures("seeded")
def test_xlsx_has_numbers_and_text_cells(client: TestClient, make_key: KeyFactory) -> None:
    response = client.get(
        "/api/v1/response-rates.xlsx",
        params={"period": PERIOD, "agency_code": WARD, "by": "staff"},
        headers=make_key("admin"),
    )
    assert response.status_code == 200
    assert "hailong-response-rates-staff-2025-Q3.xlsx" in response.headers["content-disposition"]
    first = load_workbook(io.BytesIO(response.content)).active
    assert first is not None and first.title == "Phản hồi 2025-Q3"
    rows = list(first.iter_rows(values_only=True))
    assert rows[0][:7] == (
        "Mã cơ quan",
        "Tên cơ quan",
        "Kỳ",
        "Theo",
        "Mã",
        "Tên",
        "Cơ quan của quầy/cán bộ",
    )
    cb3 = next(r for r in rows if r[4] == "CB3")
    assert cb3[6] == WARD and cb3[7] == 25 and cb3[12] == 0.2
    assert str(cb3[14]).startswith("Tỉ lệ phản hồi")
    counters = client.get(
        "/api/v1/response-rates.xlsx",
        params={"period": PERIOD, "agency_code": WARD, "by": "counter"},
        headers=make_key("admin"),
    )
    book = load_workbook(io.BytesIO(counters.content))
    sheet = book.active
    assert sheet is not None
    q01 = next(r for r in sheet.iter_rows() if r[4].value == "Q01")
    assert q01[5].value == FORMULA and q01[5].data_type == "s"


def test_exports_refuse_other_roles_scopes_and_bad_input(
    client: TestClient, make_key: KeyFactory
) -> None:
    url = "/api/v1/response-rates.csv"
    assert client.get(url, params={"period": PERIOD}).status_code == 401
    assert client.get(url, params={"period": PERIOD}, headers=make_key("issuer")).status_code == 403
    scoped = make_key("reader", agency=WARD)
    other = client.get(url, params={"period": PERIOD, "agency_code": "79.SGN"}, headers=scoped)
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    bad = client.get(url, params={"period": PERIOD, "by": "desk"}, headers=make_key("reader"))
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "by"
    xlsx = client.get(
        "/api/v1/response-rates.xlsx", params={"period": "2025-Q9"}, headers=make_key("reader")
    )
    assert xlsx.status_code == 422


def test_the_export_lists_agencies_in_the_order_of_the_api(
    client: TestClient, make_key: KeyFactory, engine: Engine
) -> None:
    """The CSV sorted each chunk by path, where the API sorts a parent's children by code:
    G22 came after G22.39 ('.' sorts before '/'; reach audit)."""
    with transaction(engine) as session:
        upsert_agency(session, "79", "Thành phố", None, actor="test")
        upsert_agency(session, "G22", "Sở A", "79", actor="test")
        upsert_agency(session, "G22.39", "Phường B", "79", actor="test")
    reader = make_key("reader")
    params = {"period": "2025-Q3", "parent_code": "79"}
    api = client.get("/api/v1/response-rates", params=params, headers=reader)
    assert api.status_code == 200, api.text
    api_order = [a["agency_code"] for a in api.json()["data"]]
    exported = client.get("/api/v1/response-rates.csv", params=params, headers=reader)
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))[1:]
    csv_order = [r[0] for r in rows]
    assert csv_order == api_order, f"API {api_order} vs CSV {csv_order}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_subtree_export_says_whose_counter_each_row_is(
    client: TestClient, make_key: KeyFactory, fmt: str
) -> None:
    """With subtree=true, Bến Thành's counter Q01 and Sài Gòn's counter Q01 are two rows of
    79: the API tells them apart by `owner_agency_code`, the CSV and the XLSX had no such
    column, so the two rows read alike but for their figures (audit)."""
    issuer = make_key("issuer")
    for code, agency in (("R1", "79.BTH"), ("R2", "79.BTH"), ("R3", "79.SGN")):
        body = handover_body(dossier_code=code, agency_code=agency, counter_code="Q01")
        issued = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert issued.status_code == 201, issued.text
    period = period_containing(today_local(), "quarter").key
    params = {"period": period, "agency_code": "79", "by": "counter", "subtree": "true"}
    reader = make_key("reader")
    api = client.get("/api/v1/response-rates", params=params, headers=reader).json()
    by_api = {(r["owner_agency_code"], r["key"], r["issued"]) for r in api["data"][0]["rows"]}
    assert by_api == {("79.BTH", "Q01", 2), ("79.SGN", "Q01", 1)}

    response = client.get(f"/api/v1/response-rates.{fmt}", params=params, headers=reader)
    assert response.status_code == 200, response.text
    if fmt == "csv":
        header, *table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        header, *table = [[str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    rows = [dict(zip(header, row, strict=True)) for row in table]
    exported = {(r["Cơ quan của quầy/cán bộ"], r["Mã"], r["Phiếu đã phát"]) for r in rows}
    assert exported == {("79.BTH", "Q01", "2"), ("79.SGN", "Q01", "1")}
    assert {r["Mã cơ quan"] for r in rows} == {"79"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_channel_rows_are_named_in_the_consoles_words(
    client: TestClient, make_key: KeyFactory, fmt: str
) -> None:
    """By channel, the file gave the API's codes ('counter', 'online', 'postal') beside an
    empty 'Tên', where the console page it mirrors says "Tại quầy", "Trực tuyến", "Bưu
    chính" (reach audit)."""
    issuer = make_key("issuer")
    for n, channel in enumerate(("counter", "online", "postal")):
        body = handover_body(dossier_code=f"CH-{n}", agency_code=WARD, channel=channel)
        issued = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert issued.status_code == 201, issued.text
    period = period_containing(today_local(), "quarter").key
    params = {"period": period, "agency_code": WARD, "by": "channel"}
    response = client.get(
        f"/api/v1/response-rates.{fmt}", params=params, headers=make_key("manager", agency=WARD)
    )
    assert response.status_code == 200, response.text
    if fmt == "csv":
        header, *table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        header, *table = [[str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    rows = [dict(zip(header, row, strict=True)) for row in table]
    names = {r["Mã"]: r["Tên"] for r in rows}
    assert names == {"counter": "Tại quầy", "online": "Trực tuyến", "postal": "Bưu chính"}
    assert {r["Theo"] for r in rows} == {"Kênh trả kết quả"}
