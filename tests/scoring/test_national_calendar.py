"""The national calendar of working days (calendar/working_days.py): the `holidays` package
and the days the government announced that the pinned release does not know yet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.calendar import working_days
from tests.conftest import KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"


def _late_dossier(code: str) -> dict[str, object]:
    # Due Wednesday 31/12/2025, resolved Friday 9/1/2026: late over 2/1 and 5/1 .. 9/1.
    return handover_body(
        dossier_code=code,
        received_at=f"2025-12-20T08:00:00{VN}",
        due_at=f"2025-12-31T17:00:00{VN}",
        resolved_at=f"2026-01-09T10:00:00{VN}",
    )


def _overdue(client: TestClient, admin: dict[str, str]) -> dict[str, int]:
    body = client.get("/api/v1/agencies/G22.39/scores/2026-01/explain", headers=admin).json()
    return {r["dossier_code"]: r["overdue_working_days"] for r in body["dossiers"]["rows"]}


def _forget_the_calendar() -> None:
    working_days._working_days_of.cache_clear()
    working_days._ordered_working_days_of.cache_clear()
    working_days.national_fingerprint.cache_clear()


@pytest.fixture
def calendar_restored() -> Iterator[None]:
    yield
    _forget_the_calendar()


def test_the_2026_new_year_swap_is_known(client: TestClient, make_key: KeyFactory) -> None:
    """(calendar audit) 12729/VPCP-KGVX (25/12/2025): officials were off Friday 2/1/2026 and
    worked Saturday 10/1/2026, which the pinned `holidays` does not know: a dossier late
    over those days had a working day too many, 6 (no point) where 5 is the grace."""
    reader, issuer = make_key("reader"), make_key("issuer")
    friday = client.get("/api/v1/calendar/overrides/2026-01-02", headers=reader).json()
    saturday = client.get("/api/v1/calendar/overrides/2026-01-10", headers=reader).json()
    assert (friday["working"], saturday["working"]) == (False, True)
    assert not friday["overridden"]  # national, not a local override
    assert client.post("/api/v1/handovers", json=_late_dossier("D"), headers=issuer).is_success
    assert _overdue(client, make_key("admin")) == {"D": 5}


def test_a_new_national_calendar_rebuilds_the_counters_at_start(
    database_url: str,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
    calendar_restored: None,
) -> None:
    """(calendar audit) A `make lock` bringing a `holidays` that knows a new day off left
    the dossiers stored before on the old calendar while new ones used the new one: the
    same times, 5 and 4 working days late, until someone ran `hailong scores recompute`.
    The national calendar is part of the counters' fingerprint: the restart rebuilds."""
    admin, issuer = make_key("admin"), make_key("issuer")
    with TestClient(create_app(make_settings(database_url))) as client:
        posted = client.post("/api/v1/handovers", json=_late_dossier("OLD"), headers=issuer)
        assert posted.status_code == 201, posted.text
        assert _overdue(client, admin) == {"OLD": 5}
    # The new release knows Monday 5/1/2026 as a day off.
    monkeypatch.setattr(
        working_days, "ANNOUNCED", {**working_days.ANNOUNCED, date(2026, 1, 5): False}
    )
    _forget_the_calendar()
    with TestClient(create_app(make_settings(database_url))) as client:  # the restart
        posted = client.post("/api/v1/handovers", json=_late_dossier("NEW"), headers=issuer)
        assert posted.status_code == 201, posted.text
        assert _overdue(client, admin) == {"OLD": 4, "NEW": 4}
