"""Raw exports (evaluations and petitions, CSV and XLSX): the dossier's facts, no complaint
text or contact unless an admin asks (audited), formulas kept as text, the key's scope, and
a stream read a chunk at a time."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import col, select

from service.admin.agencies import upsert_agency
from service.admin.keys import revoke_key
from service.auth.keys import hash_key
from service.csv_cells import csv_cell
from service.evaluations import exports_router, query, tables
from service.models import ApiKey, AuditLog, Petition
from tests.conftest import DbFactory, KeyFactory, handover_body
from tests.portal.evaluations_seed import COMPLAINT, CONTACT, FORMULA_NAME, Seeded, seed

OUTCOME = "Đã xử lý: nội dung riêng"
REPLY = "Thư trả lời riêng cho công dân"


@pytest.fixture
def seeded(client: TestClient, make_key: KeyFactory, db: DbFactory, agencies: None) -> Seeded:
    done = seed(client, make_key)
    imported = client.post(
        "/api/v1/petitions",
        json={
            "petition_code": "PAKN-1",
            "agency_code": "79.BTH",
            "dossier_code": "D-ward",
            "received_at": "2025-09-17T09:00:00+07:00",
            "deadline_at": "2025-09-20T17:00:00+07:00",
            "handled_at": "2025-09-22T10:00:00+07:00",
            "citizen_verdict": "unsatisfied",
        },
        headers=make_key("admin"),
    )
    assert imported.status_code in (200, 201), imported.text
    with db() as session:
        for petition in session.exec(select(Petition)).all():
            petition.outcome, petition.reply = OUTCOME, REPLY
            session.add(petition)
    return done


def _csv(
    client: TestClient, path: str, headers: dict[str, str], **params: Any
) -> list[dict[str, str]]:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    for private in (COMPLAINT, CONTACT, OUTCOME, REPLY):
        if not params.get("include_private"):
            assert private not in text
    return list(csv.DictReader(io.StringIO(text)))


def test_evaluations_csv_has_the_facts_and_keeps_formulas_as_text(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    rows = _csv(client, "/api/v1/evaluations.csv", make_key("manager"))
    assert [int(r["Mã đánh giá"]) for r in rows] == sorted(seeded.ids.values())
    by_code = {r["Mã hồ sơ"]: r for r in rows}
    ward = by_code["D-ward"]
    assert ward["Mã cơ quan"] == "79.BTH" and ward["Nguồn"] == "Máy tính bảng tại quầy"
    # Answers in the profile's words, as the citizen read them (they were English codes
    # under Vietnamese headers); the JSON API keeps the codes.
    assert ward["Trả lời: mức hài lòng chung"] == "Không hài lòng"
    assert ward["Kênh trả kết quả"] == "Tại quầy"
    assert ward["Nhóm 5: hài lòng"] == "Không" and by_code["D-city"]["Nhóm 5: hài lòng"] == "Có"
    assert ward["Tiến độ hồ sơ"] == "Trễ hạn" and by_code["D-city"]["Tiến độ hồ sơ"] == "Đúng hạn"
    assert ward["Cán bộ trả kết quả"] == "CB009" and ward["Quầy"] == "Q01"
    assert ward["Giải quyết lúc"] == "2025-09-15T10:00:00+07:00"  # local time, with offset
    assert by_code["D-q4_first"]["Ngày tính điểm"] == "2025-10-01"
    assert by_code["D-other_ward"]["Tên thủ tục"] == "'" + FORMULA_NAME
    assert "Nội dung góp ý" not in ward and "Liên hệ" not in ward
    q4 = _csv(client, "/api/v1/evaluations.csv", make_key("reader"), period="2025-Q4")
    assert [r["Mã hồ sơ"] for r in q4] == ["D-q4_first"]


def test_evaluations_xlsx_has_the_facts_and_formulas_as_text(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    response = client.get("/api/v1/evaluations.xlsx", headers=make_key("manager"))
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header, body = values[0], values[1:]
    assert len(body) == len(seeded.ids)
    assert "Nội dung góp ý" not in header
    name_at = header.index("Tên thủ tục")
    cells = [row[name_at] for row in sheet.iter_rows(min_row=2)]
    formula = next(c for c in cells if c.value == FORMULA_NAME)
    assert formula.data_type == "s"  # a text, not a formula
    words = {
        "Nguồn": {"Máy tính bảng tại quầy", "Hệ thống một cửa (API)", "Điện thoại"},
        "Trả lời: đúng hẹn": {"Đúng hẹn", "Trễ hẹn"},
        "Trả lời: thái độ cán bộ": {"Tốt", "Bình thường", "Chưa tốt"},
    }
    for title, named in words.items():
        at = header.index(title)
        assert {row[at] for row in body} <= named, title
    flat = str(values)
    assert COMPLAINT not in flat and CONTACT not in flat


def test_petitions_csv_and_xlsx_have_handling_and_verdict_without_texts(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    rows = _csv(client, "/api/v1/petitions.csv", make_key("manager"))
    by_code = {r["Mã PAKN"]: r for r in rows}
    imported = by_code["PAKN-1"]
    assert imported["Mã hồ sơ"] == "D-ward" and imported["Cán bộ trả kết quả"] == "CB009"
    assert imported["Xử lý trễ hạn"] == "Có" and imported["Xử lý đúng hạn"] == "Không"
    assert imported["Ý kiến người dân"] == "Không hài lòng"
    assert imported["Tính vào nhóm 5"] == "Có" and imported["Nguồn"] == "Hệ thống PAKN quốc gia"
    survey = next(r for r in rows if r["Nguồn"] == "Phiếu khảo sát")  # the ward's complaint
    assert survey["Mã hồ sơ"] == "D-ward" and survey["Tính vào nhóm 5"] == "Không"
    response = client.get("/api/v1/petitions.xlsx", headers=make_key("admin"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    flat = str([[c.value for c in row] for row in sheet.iter_rows()])
    assert "PAKN-1" in flat and OUTCOME not in flat and REPLY not in flat
    staff = client.get(
        "/api/v1/petitions.csv", params={"staff_code": "CB1"}, headers=make_key("reader")
    )
    assert staff.status_code == 422


@pytest.mark.parametrize(
    ("path", "source", "kept"),
    [
        ("/api/v1/evaluations.csv", "sms", None),  # no such source
        ("/api/v1/evaluations.xlsx", "Phone", None),  # the real one, capitalised
        ("/api/v1/evaluations", "", None),  # a form's empty choice
        # The shared parameter's example named the evaluations' sources: on petitions,
        # whose rows come from a survey or an import, always an empty file (exports audit).
        ("/api/v1/petitions.csv", "phone", None),
        ("/api/v1/petitions.xlsx", "kiosk", None),
        ("/api/v1/petitions.csv", "import", 1),
        ("/api/v1/evaluations.csv", "phone", 2),
    ],
)
def test_a_source_no_row_of_the_kind_can_have_is_a_422_not_an_empty_export(
    client: TestClient, make_key: KeyFactory, seeded: Seeded, path: str, source: str, kept: int
) -> None:
    admin = make_key("admin")
    response = client.get(path, params={"source": source}, headers=admin)
    if kept is not None:
        assert len(_csv(client, path, admin, source=source)) == kept
        return
    assert response.status_code == 422, response.text
    [problem] = response.json()["fields"]
    assert problem["field"] == "source"
    assert ("survey or import" if "petitions" in path else "phone, kiosk or api") in (
        problem["problem"]
    )


def test_private_export_is_admin_only_and_audited(
    client: TestClient, make_key: KeyFactory, db: DbFactory, seeded: Seeded
) -> None:
    for path in ("/api/v1/evaluations.csv", "/api/v1/petitions.xlsx"):
        for role in ("reader", "manager"):
            refused = client.get(path, params={"include_private": "true"}, headers=make_key(role))
            assert refused.status_code == 403, (path, role)
    admin = make_key("admin")
    rows = _csv(client, "/api/v1/evaluations.csv", admin, include_private=True)
    ward = next(r for r in rows if r["Mã hồ sơ"] == "D-ward")
    assert ward["Nội dung góp ý"] == "'" + COMPLAINT and ward["Liên hệ"] == CONTACT
    petitions = _csv(
        client, "/api/v1/petitions.csv", admin, include_private=True, agency_code="79.BTH"
    )
    survey = next(r for r in petitions if r["Nguồn"] == "Phiếu khảo sát")
    assert (survey["Trả lời (nội dung)"], survey["Liên hệ"]) == (REPLY, CONTACT)
    with db() as session:
        records = session.exec(
            select(AuditLog)
            .where(col(AuditLog.action).endswith(".read_private"))
            .order_by(col(AuditLog.id))
        ).all()
    assert [(r.action, r.detail["how"], r.detail["count"]) for r in records] == [
        ("evaluations.read_private", "export", len(seeded.ids)),
        ("petitions.read_private", "export", 2),
    ]
    assert records[1].detail["filters"]["agency_code"] == "79.BTH"


def test_scoped_key_exports_its_tree_only(
    client: TestClient, make_key: KeyFactory, seeded: Seeded
) -> None:
    scoped = make_key("reader", agency="79.BTH")
    rows = _csv(client, "/api/v1/evaluations.csv", scoped)
    assert [r["Mã hồ sơ"] for r in rows] == ["D-ward"]
    for path in ("/api/v1/evaluations.csv", "/api/v1/petitions.xlsx"):
        outside = client.get(path, params={"agency_code": "79", "subtree": "true"}, headers=scoped)
        assert outside.status_code == 403


def test_the_csv_is_read_a_chunk_at_a_time(
    client: TestClient,
    make_key: KeyFactory,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports_router, "EXPORT_CHUNK", 2)
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM response JOIN" in statement and "LIMIT" in statement:
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        rows = _csv(client, "/api/v1/evaluations.csv", make_key("reader"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == len(seeded.ids) == 5
    assert len(reads) == 3  # 2 + 2 + 1 rows, each chunk its own keyset read
    assert all("response.id >" in s for s in reads[1:])


@pytest.mark.usefixtures("agencies")
def test_a_name_spelled_as_an_excel_error_stays_a_text(
    client: TestClient, make_key: KeyFactory
) -> None:
    """openpyxl stores "#N/A" as an error cell: an issuer's procedure name stays its text."""
    body = handover_body(dossier_code="D-NA", procedure_name="#N/A")
    issued = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    token = issued.json()["survey_url"].rsplit("/", 1)[1]
    answers = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "good",
        "overall": "satisfied",
    }
    assert client.post("/api/v1/responses", json={"token": token, "answers": answers}).is_success
    response = client.get("/api/v1/evaluations.xlsx", headers=make_key("reader"))
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    [cell] = [row[header.index("Tên thủ tục")] for row in sheet.iter_rows(min_row=2)]
    assert (cell.value, cell.data_type) == ("#N/A", "s")


@pytest.mark.usefixtures("agencies")
def test_petitions_export_says_each_ones_state_as_the_score_counts_it(
    client: TestClient, make_key: KeyFactory
) -> None:
    """An open petition past its deadline is late from that moment (DESIGN.md, group 5):
    the score and its explanation said late, the export only "not handled late" (audit)."""
    admin = make_key("admin")
    received, deadline = "2025-07-01T09:00:00+07:00", "2025-07-22T17:00:00+07:00"
    petitions = {
        "PA-OPEN-LATE": {"deadline_at": deadline},
        "PA-ON-TIME": {"deadline_at": deadline, "handled_at": "2025-07-10T09:00:00+07:00"},
        "PA-HANDLED-LATE": {"deadline_at": deadline, "handled_at": "2025-08-01T09:00:00+07:00"},
        "PA-OPEN": {"deadline_at": "2099-01-01T17:00:00+07:00"},
    }
    for code, fields in petitions.items():
        body = {"petition_code": code, "agency_code": "79.STP", "received_at": received, **fields}
        assert client.post("/api/v1/petitions", json=body, headers=admin).status_code == 201
    explained = client.get("/api/v1/agencies/79.STP/scores/2025-Q3/explain", headers=admin)
    states = {r["petition_code"]: r["state"] for r in explained.json()["petitions"]["rows"]}
    rows = _csv(client, "/api/v1/petitions.csv", admin, period="2025-Q3")
    exported = {r["Mã PAKN"]: r["Tình trạng theo hạn"] for r in rows}
    words = {"on_time": "Đúng hạn", "late": "Trễ hạn", "open": "Chưa đến hạn"}
    assert exported == {code: words[state] for code, state in states.items()}
    assert exported["PA-OPEN-LATE"] == exported["PA-HANDLED-LATE"] == "Trễ hạn"
    assert exported["PA-OPEN"] == "Chưa đến hạn"


@pytest.mark.usefixtures("agencies")
def test_evaluation_export_times_are_on_the_day_the_row_is_counted_on(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Times were written at a fixed +07:00, but days are cut in Asia/Ho_Chi_Minh, which was
    UTC+8 until 13/6/1975: an answer of 00:30 on 1/7/1970 was written 23:30 on 30/6 beside
    its 'Ngày tính điểm' of 1/7 (reports audit)."""
    body = handover_body(
        dossier_code="D-1970",
        received_at="1970-06-20T08:00:00+07:00",
        due_at="1970-06-30T17:00:00+07:00",
        resolved_at="1970-06-29T10:00:00+07:00",
        handed_over_at="1970-06-29T11:00:00+07:00",
    )
    issued = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert issued.status_code == 201, issued.text
    admin = make_key("admin")
    answer = {
        "token": issued.json()["survey_url"].rsplit("/", 1)[1],
        "submitted_at": "1970-06-30T16:30:00+00:00",
        "answers": {
            "timeliness": "on_time",
            "supplement_requests": "none",
            "staff_attitude": "good",
            "overall": "satisfied",
        },
        "source": "phone",
    }
    assert client.post("/api/v1/responses", json=answer, headers=admin).status_code == 201
    [row] = _csv(client, "/api/v1/evaluations.csv", admin)
    assert row["Ngày tính điểm"] == "1970-07-01"
    assert row["Đánh giá lúc"] == "1970-07-01T00:30:00+08:00"
    assert row["Giải quyết lúc"] == "1970-06-29T11:00:00+08:00"


def _petition_rows(client: TestClient, headers: dict[str, str], fmt: str) -> list[dict[str, Any]]:
    """The petitions export as rows by header, from its CSV or its XLSX."""
    if fmt == "csv":
        return _csv(client, "/api/v1/petitions.csv", headers)
    response = client.get("/api/v1/petitions.xlsx", headers=headers)
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_petition_naming_a_dossier_moved_out_of_scope_keeps_only_its_code(
    client: TestClient, make_key: KeyFactory, db: DbFactory, fmt: str
) -> None:
    """79.BTH's petition names a dossier of its ward 79.BTH.KP1; the operator then moves the
    ward under 79.SGN. The petition stays 79.BTH's, but the dossier's facts are 79.SGN's
    now: a key of 79.BTH still read its staff, counter, procedure and times through the
    petition, in the CSV and the XLSX alike (audit); and its code, which the explain, the
    console and the events no longer name (models/petition_dossier.py; review)."""
    with db() as session:
        upsert_agency(session, "79.BTH.KP1", "Khu phố 1", "79.BTH", actor="test")
    admin = make_key("admin")
    staff = {"receiving": "CB-KP1", "handling": "CB-KP1", "returning": "CB-KP1"}
    body = handover_body(
        dossier_code="D-KP1",
        agency_code="79.BTH.KP1",
        procedure_code="TT-KP1",
        procedure_name="Thủ tục KP1",
        staff=staff,
        counter_code="Q-KP1",
    )
    assert client.post("/api/v1/handovers", json=body, headers=admin).status_code == 201
    petition = {
        "petition_code": "PAKN-KP1",
        "agency_code": "79.BTH",
        "dossier_code": "D-KP1",
        "received_at": "2025-09-17T09:00:00+07:00",
    }
    assert client.post("/api/v1/petitions", json=petition, headers=admin).status_code == 201
    bth = make_key("manager", agency="79.BTH")
    [before] = _petition_rows(client, bth, fmt)
    assert before["Cán bộ trả kết quả"] == "CB-KP1"  # the ward is 79.BTH's: so is its dossier

    with db() as session:
        upsert_agency(session, "79.BTH.KP1", "Khu phố 1", "79.SGN", actor="test")

    [after] = _petition_rows(client, bth, fmt)
    assert (after["Mã PAKN"], after["Mã cơ quan"]) == ("PAKN-KP1", "79.BTH")
    facts = [title for title, _ in tables.DOSSIER_COLUMNS]
    assert {title: after[title] or "" for title in facts} == dict.fromkeys(facts, "")
    assert not {"D-KP1", "CB-KP1", "Q-KP1", "TT-KP1", "79.BTH.KP1"} & {
        str(v) for v in after.values()
    }
    # One rule for every key (review): the dossier is the ward's now, not the petition's
    # agency's; a key reaching the ward reads it through the ward's own rows.
    for key, params in ((admin, {"agency_code": "79.BTH"}), (make_key("manager"), {})):
        [full] = [
            r
            for r in _csv(client, "/api/v1/petitions.csv", key, **params)
            if r["Mã PAKN"] == "PAKN-KP1"
        ]
        assert (full["Mã hồ sơ"], full["Cán bộ trả kết quả"], full["Quầy"]) == ("", "", "")
        assert full["Cơ quan của hồ sơ"] == ""


@pytest.mark.usefixtures("agencies")
def test_an_evaluation_without_overall_says_whether_it_is_satisfied_in_every_form(
    client: TestClient, make_key: KeyFactory
) -> None:
    """An imported evaluation may lack `overall` (DESIGN.md): then only a poor attitude makes
    it unsatisfied. SQL's `overall IN (...)` is NULL when overall is, so the CSV and the XLSX
    left "Nhóm 5: hài lòng" empty where the JSON said group5_satisfied true (audit)."""
    admin = make_key("admin")
    for code, attitude in (("NO-OVERALL-GOOD", "good"), ("NO-OVERALL-POOR", "poor")):
        issued = client.post(
            "/api/v1/handovers", json=handover_body(dossier_code=code), headers=admin
        )
        assert issued.status_code == 201, issued.text
        answer = {
            "token": issued.json()["survey_url"].rsplit("/", 1)[1],
            "answers": {
                "timeliness": "on_time",
                "supplement_requests": "none",
                "staff_attitude": attitude,
            },
            "source": "api",
            "submitted_at": "2025-09-16T09:00:00+07:00",
        }
        answered = client.post("/api/v1/responses", json=answer, headers=admin)
        assert answered.status_code == 201, answered.text
    reader = make_key("reader")
    params = {"period": "2025-Q3"}
    page = client.get("/api/v1/evaluations", params=params, headers=reader).json()
    by_json = {e["dossier"]["dossier_code"]: e["group5_satisfied"] for e in page["data"]}
    assert by_json == {"NO-OVERALL-GOOD": True, "NO-OVERALL-POOR": False}

    rows = _csv(client, "/api/v1/evaluations.csv", reader, **params)
    by_csv = {r["Mã hồ sơ"]: r["Nhóm 5: hài lòng"] for r in rows}
    book = client.get("/api/v1/evaluations.xlsx", params=params, headers=reader)
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    header, *table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    code_at, satisfied_at = header.index("Mã hồ sơ"), header.index("Nhóm 5: hài lòng")
    by_xlsx = {row[code_at]: row[satisfied_at] for row in table}
    expected = {"NO-OVERALL-GOOD": "Có", "NO-OVERALL-POOR": "Không"}
    assert by_csv == expected and by_xlsx == expected


@pytest.mark.parametrize(
    ("kind", "chunk"), [("evaluations", "evaluation_chunk"), ("petitions", "petition_chunk")]
)
def test_an_xlsx_export_cut_off_by_a_revoked_key_leaves_no_rows_on_disk(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: str,
    chunk: str,
) -> None:
    """(review) A key revoked while its XLSX export was being written stopped the export at
    the next chunk, but the rows already written (openpyxl keeps them in a temporary file
    until the workbook is saved) stayed on disk until the process ended: the score exports
    removed theirs at once, the evaluation and petition exports did not."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where openpyxl writes its rows
    monkeypatch.setattr(exports_router, "EXPORT_CHUNK", 1)
    headers = make_key("reader")
    with db() as session:
        key_hash = hash_key(headers["Authorization"].removeprefix("Bearer "))
        key_id = session.exec(select(ApiKey.id).where(ApiKey.key_hash == key_hash)).one()
    assert key_id is not None
    original: Callable[..., Any] = getattr(query, chunk)
    on_disk: list[Path] = []

    def read(*args: Any) -> Any:
        if args[3] is not None and not on_disk:  # the second chunk: the first is written
            on_disk.extend(tmp_path.iterdir())
            with db() as other:  # as POST /api/v1/keys/{id}/revoke revokes it
                revoke_key(other, key_id, actor="test")
            client.app.state.key_cache.forget(key_id)  # type: ignore[attr-defined]
        return original(*args)

    monkeypatch.setattr(query, chunk, read)
    answer = client.get(f"/api/v1/{kind}.xlsx", headers=headers)
    assert answer.status_code == 401, answer.text[:200]
    assert on_disk, "the export's rows were never written where this test looks"
    assert list(tmp_path.iterdir()) == []


def test_a_code_the_profile_does_not_name_is_written_as_it_is() -> None:
    """An answer of a question the profile no longer asks keeps its code, never a blank."""
    convert = tables.Named({"good": "Tốt"}).then(csv_cell)
    assert (convert("good"), convert("excellent"), convert(None)) == ("Tốt", "excellent", "")
