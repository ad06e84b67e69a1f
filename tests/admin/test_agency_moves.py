"""Moving agencies in the tree (found by an audit, both databases): a scoped issuer kept
writing into an agency moved out of its tree for as long as the handover writer remembered
the agency; a rename through the CLI without --parent moved the agency to the top of the
tree; two moves side by side made a loop; and the audit record did not say where from."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from typer.testing import Result

from service.admin.agencies import import_agencies_csv, upsert_agency
from service.db import transaction
from service.models import Agency, AuditLog
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")


def _move(engine: sa.Engine, code: str, parent: str | None) -> None:
    with transaction(engine) as session:
        upsert_agency(session, code, f"Đơn vị {code}", parent, actor="test")


def _places(db: DbFactory) -> dict[str, tuple[str, int, str | None]]:
    with db() as session:
        agencies = session.exec(select(Agency)).all()
        by_id = {a.id: a.code for a in agencies}
        return {a.code: (a.path, a.level, by_id.get(a.parent_id)) for a in agencies}


def test_an_issuer_cannot_write_into_an_agency_moved_out_of_its_tree(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    _move(engine, "79.BTH.P1", "79.BTH")
    ward_issuer = make_key("issuer", agency="79.BTH")

    def post(code: str, key: dict[str, str]) -> int:
        body = handover_body(dossier_code=code, agency_code="79.BTH.P1")
        status: int = client.post("/api/v1/handovers", json=body, headers=key).status_code
        return status

    assert post("MV-1", ward_issuer) == 201  # the writer now remembers 79.BTH.P1
    _move(engine, "79.BTH.P1", "79.SGN")
    assert post("MV-2", ward_issuer) == 403  # was 201 for auth_cache_seconds
    assert post("MV-3", make_key("issuer", agency="79.SGN")) == 201


def test_a_rename_without_parent_keeps_the_agency_in_its_place(
    database_url: str, db: DbFactory
) -> None:
    cli: Callable[..., Result] = cli_for(database_url)
    _move_with_child = cli("agencies", "add", "79.BTH.K1", "Khu phố 1", "--parent", "79.BTH")
    assert _move_with_child.exit_code == 0, _move_with_child.output
    before = _places(db)
    renamed = cli("agencies", "add", "79.BTH", "Phường Bến Thành (mới)")
    assert renamed.exit_code == 0, renamed.output
    assert _places(db) == before  # was: '/79.BTH/', level 0, no parent, K1 with it
    with db() as session:
        assert session.exec(select(Agency.name).where(Agency.code == "79.BTH")).one() == (
            "Phường Bến Thành (mới)"
        )
    to_root = cli("agencies", "add", "79.BTH", "Phường Bến Thành", "--root")
    assert to_root.exit_code == 0, to_root.output
    after = _places(db)
    assert after["79.BTH"] == ("/79.BTH/", 0, None)
    assert after["79.BTH.K1"] == ("/79.BTH/79.BTH.K1/", 1, "79.BTH")
    both = cli("agencies", "add", "79.BTH", "x", "--root", "--parent", "79")
    assert both.exit_code != 0 and "not both" in both.output


def test_a_rename_by_import_without_parent_keeps_the_ward_in_its_place(
    database_url: str, db: DbFactory, client: TestClient, make_key: KeyFactory, tmp_path: Path
) -> None:
    """`hailong agencies import` of a sheet renaming a ward, its parent_code left blank,
    moved the ward (and everything below it) to the top of the tree, out of the province's
    scope, as `agencies add` without --parent did (above), and said only "1 updated"
    (audit)."""
    province_manager = make_key("manager", agency="79")
    file = tmp_path / "rename.csv"
    file.write_text("code,name,parent_code\n79.BTH,Phường Bến Thành (mới),\n", encoding="utf-8")
    result = cli_for(database_url)("agencies", "import", str(file))
    assert result.exit_code == 0, result.output
    with db() as session:
        ward = session.exec(select(Agency).where(Agency.code == "79.BTH")).one()
    assert ward.name == "Phường Bến Thành (mới)"
    assert (ward.path, ward.level) == ("/79/79.BTH/", 1)  # was '/79.BTH/', level 0
    seen = client.get("/api/v1/agencies", headers=province_manager).json()["data"]
    assert "79.BTH" in [a["code"] for a in seen]


def test_an_import_counts_the_agencies_it_moved(engine: sa.Engine, db: DbFactory) -> None:
    """A row naming another parent moves its agency, with its subtree: the import's summary
    says how many it moved, so that a sheet of renames that moves wards shows it (audit)."""
    sheet = "code,name,parent_code\n79.BTH,Phường Bến Thành,79.SGN\n79.SGN,Phường Sài Gòn,\n"
    with transaction(engine) as session:
        result = import_agencies_csv(session, sheet, actor="cli")
    assert (result.created, result.updated, result.moved, result.unchanged) == (0, 1, 1, 1)
    assert _places(db)["79.BTH"] == ("/79/79.SGN/79.BTH/", 2, "79.SGN")


def test_a_move_is_recorded_from_where_to_where(engine: sa.Engine, db: DbFactory) -> None:
    _move(engine, "79.BTH.K1", "79.BTH")
    with transaction(engine) as session:
        upsert_agency(session, "79.BTH", "Phường Bến Thành", "79.SGN", actor="cli")
        upsert_agency(session, "79.BTH", "Phường Bến Thành", "79.SGN", actor="cli")  # no-op
    with db() as session:
        updates = session.exec(
            select(AuditLog)
            .where(AuditLog.target == "agency:79.BTH", AuditLog.action == "agency.update")
            .order_by(col(AuditLog.id))
        ).all()
    assert [u.detail for u in updates] == [
        {
            "from": {"name": "Phường Bến Thành", "parent_code": "79"},
            "to": {"name": "Phường Bến Thành", "parent_code": "79.SGN"},
            "descendants_moved": 1,
        }
    ]


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(("79.SGN", "79.BTH"), id="the other way round: a loop"),
        pytest.param(("79.BTH.K1", "79.BTH"), id="a child added under the moving agency"),
    ],
)
def test_tree_changes_side_by_side_leave_one_tree(
    engine: sa.Engine, db: DbFactory, second: tuple[str, str]
) -> None:
    first = Session(engine)
    upsert_agency(first, "79.BTH", "Phường Bến Thành", "79.SGN", actor="cli")  # not committed
    outcome: list[BaseException | None] = []

    def run_second() -> None:
        try:
            _move(engine, *second)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run_second)
    thread.start()
    thread.join(timeout=1.0)  # it waits for the first to end
    first.commit()
    first.close()
    thread.join(timeout=20)
    assert not thread.is_alive()
    places = _places(db)
    code, parent = second
    if parent == "79.BTH" and code == "79.SGN":  # refused: 79.BTH is under 79.SGN by then
        assert outcome and outcome[0] is not None and "loop" in str(outcome[0])
        assert places["79.SGN"] == ("/79/79.SGN/", 1, "79")
    else:
        assert outcome == [None]
        assert places[code] == ("/79/79.SGN/79.BTH/79.BTH.K1/", 3, "79.BTH")
    assert places["79.BTH"] == ("/79/79.SGN/79.BTH/", 2, "79.SGN")
