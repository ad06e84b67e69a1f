"""A calendar change while a late dossier is handed over (review of the calendar's lock,
29453e4): on SQLite the calendar was read before the handover's transaction began, and a
day off committed meanwhile was missed for good; on PostgreSQL `hailong calendar set` and a
late re-post took the calendar's lock and the dossier's row in opposite orders, and the
command, chosen as the deadlock's victim, failed."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.calendar.overrides import calendar_for_lateness
from service.db import make_engine, transaction
from service.handovers import new_dossiers, one_by_one
from service.profile import load_profile
from service.scoring.calendar_days import set_day
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import Backend, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
PROFILE = load_profile("hcmc-104-2024")
# Due Fri 5/9 17:00, resolved Mon 15/9: 6 working days late; 5 with Mon 8/9 off, which the
# calendar change declares.
LATE = {
    "received_at": "2025-09-01T08:00:00+07:00",
    "due_at": "2025-09-05T17:00:00+07:00",
    "resolved_at": "2025-09-15T10:00:00+07:00",
}


def test_day_off_written_by_another_process_during_a_late_handover(
    client: TestClient,
    make_key: KeyFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A day off written by another process while a late dossier is handed over counts for
    it: 5 working days late, not the 6 of the calendar of before (review)."""
    issuer, admin = make_key("issuer"), make_key("admin")
    # An earlier dossier of the same staff and counter, on time: they are known by now.
    warm = handover_body(dossier_code="G22.39-CAL-0")
    assert client.post("/api/v1/handovers", json=warm, headers=issuer).status_code == 201
    original = calendar_for_lateness
    other = make_engine(settings)  # `hailong calendar set 2025-09-08 --off`, another process
    threads: list[threading.Thread] = []

    def change() -> None:
        with transaction(other) as session:
            set_day(session, date(2025, 9, 8), False, "Nghỉ bão", actor="cli", profile=PROFILE)

    def calendar_then_change(session: Any) -> Any:
        read = original(session)
        thread = threading.Thread(target=change)
        threads.append(thread)
        thread.start()
        thread.join(timeout=2)  # where the calendar is locked, it waits for this handover
        return read

    monkeypatch.setattr(new_dossiers, "calendar_for_lateness", calendar_then_change)
    body = handover_body(dossier_code="G22.39-CAL-9", **LATE)
    assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    for thread in threads:
        thread.join(timeout=30)
    other.dispose()
    assert threads, "the late dossier's calendar was never read"
    with sa.create_engine(settings.database_url).connect() as connection:
        assert connection.execute(sa.text("SELECT working FROM calendar_override")).scalar() in (
            False,
            0,
        )
    response = client.get("/api/v1/agencies/G22.39/scores/2025-09/explain", headers=admin)
    rows = response.json()["dossiers"]["rows"]
    row = next(r for r in rows if r["dossier_code"] == "G22.39-CAL-9")
    assert row["overdue_working_days"] == 5, row


def test_calendar_set_during_a_late_repost(
    client: TestClient,
    make_key: KeyFactory,
    database_url: str,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`hailong calendar set` beside a late dossier's re-post: both succeed (review)."""
    if backend.name != "postgresql":
        pytest.skip("a deadlock between two writers: PostgreSQL")
    issuer = make_key("issuer")
    body = handover_body(dossier_code="G22.39-CAL-7", **LATE)
    assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201

    locked = threading.Event()
    original = calendar_for_lateness

    def after_a_moment(session: Any) -> Any:
        # Before the fix the re-post held its invitation's and dossier's rows here.
        locked.set()
        time.sleep(0.5)  # meanwhile the CLI takes the calendar's lock and waits for the row
        return original(session)

    monkeypatch.setattr(one_by_one, "calendar_for_lateness", after_a_moment)
    replies: list[httpx.Response] = []
    repost = threading.Thread(
        target=lambda: replies.append(
            client.post("/api/v1/handovers", json=body | {"supplement_requests": 1}, headers=issuer)
        )
    )
    repost.start()
    assert locked.wait(timeout=10)
    result = cli_for(database_url)("calendar", "set", "2025-09-08", "--off")
    repost.join(timeout=30)
    assert replies and replies[0].status_code == 200, replies
    assert result.exit_code == 0, result.output
