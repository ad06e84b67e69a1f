"""The local override table, edited and read by API and CLI: set, list, remove."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import AuditLog
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/calendar/overrides"
VN = "+07:00"


def _late(client: TestClient, make_key: KeyFactory) -> None:
    # Due Friday 29/8/2025, resolved Monday 8/9: late over 1/9 (2/9 is the national day).
    body = handover_body(
        received_at=f"2025-08-20T08:00:00{VN}",
        due_at=f"2025-08-29T17:00:00{VN}",
        resolved_at=f"2025-09-08T10:00:00{VN}",
        handed_over_at=None,
    )
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success


def _overdue(client: TestClient, make_key: KeyFactory) -> int:
    explained = client.get(
        "/api/v1/agencies/G22.39/scores/2025-09/explain", headers=make_key("admin")
    ).json()
    [row] = explained["dossiers"]["rows"]
    return int(row["overdue_working_days"])


def test_a_day_set_to_what_it_already_is_rescores_nothing(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(calendar audit) 2/9 entered "off" as a notice gives it (the national calendar's
    word already): every late dossier around it was locked and reported re-scored."""
    _late(client, make_key)
    before = _overdue(client, make_key)
    admin = make_key("admin")
    put = client.put(f"{URL}/2025-09-02", json={"working": False}, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["dossiers_rescored"] == 0 and put.json()["overridden"] is True
    assert _overdue(client, make_key) == before


def test_an_override_is_listed_and_removed_and_the_dossiers_follow(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(calendar audit) A day entered by mistake could not be removed: it stayed overridden
    with its note, pinned against a later package's word; nor could the table be read."""
    _late(client, make_key)
    before = _overdue(client, make_key)
    admin = make_key("admin")
    put = client.put(f"{URL}/2025-09-05", json={"working": False, "note": "nhầm"}, headers=admin)
    assert put.json()["dossiers_rescored"] == 1 and _overdue(client, make_key) == before - 1
    listed = client.get(URL, headers=make_key("reader")).json()
    assert listed == {
        "data": [
            {
                "date": "2025-09-05",
                "working": False,
                "overridden": True,
                "note": "nhầm",
                "dossiers_rescored": 0,
            }
        ],
        "count": 1,
    }
    for refused in (make_key("reader"), make_key("manager", agency="G22.39")):
        assert client.delete(f"{URL}/2025-09-05", headers=refused).status_code == 403
    removed = client.delete(f"{URL}/2025-09-05", headers=admin)
    assert removed.status_code == 200, removed.text
    assert removed.json() == {
        "date": "2025-09-05",
        "working": True,
        "overridden": False,
        "note": None,
        "dossiers_rescored": 1,
    }
    assert _overdue(client, make_key) == before
    assert client.get(URL, headers=admin).json() == {"data": [], "count": 0}
    again = client.delete(f"{URL}/2025-09-05", headers=admin)  # run twice: nothing to do
    assert again.status_code == 200 and again.json()["dossiers_rescored"] == 0
    with db() as session:
        [unset] = session.exec(select(AuditLog).where(AuditLog.action == "calendar.unset")).all()
    assert unset.detail == {"previous": False, "note": "nhầm", "working": True}


def test_the_cli_lists_and_removes_overrides(database_url: str) -> None:
    hailong = cli_for(database_url)
    assert hailong("calendar", "set", "2025-09-06", "--working", "--note", "làm bù").exit_code == 0
    listed = hailong("calendar", "list")
    assert listed.exit_code == 0 and listed.stdout == "2025-09-06\tworking\tlàm bù\n"
    removed = hailong("calendar", "unset", "2025-09-06")
    assert removed.exit_code == 0, removed.stderr
    assert removed.stdout.startswith("2025-09-06 is a day off again")
    assert hailong("calendar", "list").stdout == ""
    missing = hailong("calendar", "unset", "2025-09-06")
    assert missing.exit_code == 0
    assert (
        missing.stdout
        == "2025-09-06 had no override: it is a day off, as the national calendar says\n"
    )


@pytest.mark.usefixtures("agencies")
def test_a_rewritten_note_is_audited_from_what_to_what(
    client: TestClient, make_key: KeyFactory
) -> None:
    """README: each calendar.set record says previous and new; for the note only the new
    was kept, and what a day's announced reason said before it was rewritten was lost
    (operations audit)."""
    admin = make_key("admin")
    day = "/api/v1/calendar/overrides/2025-09-06"
    before = "Làm bù ngày 2/9 (QĐ 123)"
    assert client.put(day, json={"working": True, "note": before}, headers=admin).status_code == 200
    assert client.put(day, json={"working": True, "note": "Khác"}, headers=admin).status_code == 200
    audit = client.get("/api/v1/audit", params={"action": "calendar.set"}, headers=admin)
    newest = audit.json()["data"][0]["detail"]
    assert newest == {"working": True, "previous": True, "note": "Khác", "previous_note": before}
