"""The agency tree: CLI add/import and GET /api/v1/agencies with key scopes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import Result

from service.models import Agency, AuditLog
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory

CSV = """code,name,parent_code
79.Q1.BT,Phường Bến Thành (cũ),79.Q1
79,Thành phố Hồ Chí Minh,
79.Q1,Quận 1,79
79.STP,Sở Tư pháp,79
"""


@pytest.fixture
def cli(database_url: str) -> Callable[..., Result]:
    return cli_for(database_url)


def _tree(db: DbFactory) -> dict[str, tuple[str, int, str]]:
    with db() as session:
        return {a.code: (a.name, a.level, a.path) for a in session.exec(select(Agency)).all()}


def test_import_csv_with_children_before_parents(
    cli: Callable[..., Result], db: DbFactory, tmp_path: Path
) -> None:
    file = tmp_path / "agencies.csv"
    file.write_text("\ufeff" + CSV, encoding="utf-8")  # Excel's BOM is accepted
    result = cli("agencies", "import", str(file))
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output
    tree = _tree(db)
    assert tree["79.Q1.BT"] == ("Phường Bến Thành (cũ)", 2, "/79/79.Q1/79.Q1.BT/")
    assert tree["79.STP"][1:] == (1, "/79/79.STP/")
    again = cli("agencies", "import", str(file))
    assert "0 added, 0 updated, 4 unchanged" in again.output  # was "4 updated"


def test_import_refuses_unknown_parent_naming_the_line(
    cli: Callable[..., Result], tmp_path: Path, db: DbFactory
) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("code,name,parent_code\n79,HCM,\n79.X,X,NOPE\n", encoding="utf-8")
    result = cli("agencies", "import", str(file))
    assert result.exit_code == 2
    assert "line 3" in result.output and "NOPE" in result.output
    assert _tree(db) == {}  # one transaction: nothing half-imported


def test_import_refuses_missing_columns(cli: Callable[..., Result], tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("code,name\n79,HCM\n", encoding="utf-8")
    result = cli("agencies", "import", str(file))
    assert result.exit_code == 2
    assert "parent_code" in result.output


def test_add_moves_a_subtree_and_audits(cli: Callable[..., Result], db: DbFactory) -> None:
    for args in (
        ("79", "HCM"),
        ("01", "Hà Nội"),
        ("79.Q1", "Quận 1", "--parent", "79"),
        ("79.Q1.P", "Phường", "--parent", "79.Q1"),
    ):
        assert cli("agencies", "add", *args).exit_code == 0
    cli("agencies", "add", "79.Q1", "Quận 1", "--parent", "01")
    tree = _tree(db)
    assert tree["79.Q1.P"][1:] == (2, "/01/79.Q1/79.Q1.P/")
    loop = cli("agencies", "add", "79.Q1", "Quận 1", "--parent", "79.Q1.P")
    assert loop.exit_code == 2 and "loop" in loop.output
    with db() as session:
        actions = [a.action for a in session.exec(select(AuditLog)).all()]
    assert actions.count("agency.create") == 4 and "agency.update" in actions


def test_a_tree_too_deep_for_the_path_column_is_refused_not_a_500(
    cli: Callable[..., Result], db: DbFactory
) -> None:
    """Fifteen levels of 64-character codes pass agency.path's 1,024 characters: on
    PostgreSQL the INSERT failed with a traceback (SQLite ignores widths)."""
    codes = [f"{level:02d}" + "x" * 62 for level in range(16)]
    parent: tuple[str, ...] = ()
    for code in codes[:15]:
        assert cli("agencies", "add", code, "Cấp", *parent).exit_code == 0
        parent = ("--parent", code)
    deepest = cli("agencies", "add", codes[15], "Cấp", *parent)
    assert deepest.exit_code == 2 and "too deep" in deepest.output
    # A move is measured with what lies below: "top" alone would fit under the 15th level,
    # its subtree does not.
    assert cli("agencies", "add", "top", "Gốc").exit_code == 0
    assert cli("agencies", "add", "mid", "Giữa", "--parent", "top").exit_code == 0
    assert cli("agencies", "add", "low" + "y" * 61, "Dưới", "--parent", "mid").exit_code == 0
    moved = cli("agencies", "add", "top", "Gốc", "--parent", codes[14])
    assert moved.exit_code == 2 and "too deep" in moved.output
    tree = _tree(db)
    assert len(tree) == 18 and tree["mid"][2] == "/top/mid/"
    assert max(len(path) for _, _, path in tree.values()) <= 1024


def test_add_refuses_bad_codes(cli: Callable[..., Result]) -> None:
    result = cli("agencies", "add", "has space", "X")
    assert result.exit_code == 2


@pytest.mark.usefixtures("agencies")
def test_list_agencies_for_any_key_and_scoped_keys_see_their_tree(
    client: TestClient, make_key: KeyFactory
) -> None:
    for role in ("issuer", "reader", "manager", "admin", "auditor"):
        response = client.get("/api/v1/agencies", headers=make_key(role))
        assert response.status_code == 200
        assert response.json()["count"] == 5
    # A kiosk tablet's device key is for /kiosk only.
    assert client.get("/api/v1/agencies", headers=make_key("kiosk")).status_code == 403
    scoped = client.get("/api/v1/agencies", headers=make_key("reader", agency="79.BTH")).json()
    assert scoped == {
        "data": [{"code": "79.BTH", "name": "Phường Bến Thành", "parent_code": "79", "level": 1}],
        "count": 1,
    }
    assert client.get("/api/v1/agencies").status_code == 401


@pytest.mark.usefixtures("agencies")
def test_scope_prefix_does_not_leak_to_similar_codes(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    # "79.B_H" must not match "79.BTH" through SQL LIKE's '_' wildcard.
    from service.admin.agencies import upsert_agency

    with db() as session:
        upsert_agency(session, "79.B_H", "Tricky", "79", actor="test")
    codes = [
        a["code"]
        for a in client.get("/api/v1/agencies", headers=make_key("reader", agency="79.B_H")).json()[
            "data"
        ]
    ]
    assert codes == ["79.B_H"]
