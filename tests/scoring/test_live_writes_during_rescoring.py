"""A recompute and a calendar change rescore stored rows while live writes go on: on
PostgreSQL, where writers run side by side, the live counters must still equal a rebuild's.

Each test stages the interleaving: the live write starts on a thread of its own at the
moment the audit found it went wrong, and is given time to commit there. With the locks,
it waits for the rescoring's commit instead. (SQLite runs one writer at a time.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.db import transaction
from service.profile import load_profile
from service.scoring import events
from service.scoring import rebuild as rebuild_module
from service.scoring.calendar_days import set_day
from tests.conftest import Backend, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
PROFILE = load_profile("hcmc-104-2024")
COLUMNS = ("resolved", "a_on_time", "a_late_grace", "a_late_over", "c_bad_dossiers")
GIVEN_TIME = 1.0  # seconds the live write has to commit where nothing holds it


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")


def _counters(engine: sa.Engine) -> dict[str, int]:
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in COLUMNS)
    with engine.connect() as connection:
        row = connection.execute(sa.text(f"SELECT {sums} FROM agency_day_counter")).one()
    return dict(zip(COLUMNS, (int(value) for value in row), strict=True))


def _rebuilt(engine: sa.Engine) -> dict[str, int]:
    with transaction(engine) as session:
        rebuild_module.rebuild(session, PROFILE, None)
    return _counters(engine)


class _LiveWrite:
    """A request sent on a thread of its own, once, the first time `start` is called."""

    def __init__(self, send: Callable[[], httpx.Response]) -> None:
        self.replies: list[httpx.Response] = []
        self.thread = threading.Thread(target=lambda: self.replies.append(send()))

    def start(self) -> None:
        if not self.thread.is_alive() and not self.replies:
            self.thread.start()
            time.sleep(GIVEN_TIME)

    def reply(self) -> httpx.Response:
        self.thread.join(timeout=30)
        assert self.replies, "the live write never finished"
        return self.replies[0]


def test_a_handover_during_a_recompute_is_counted_once(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handover committed between the recompute's DELETE and its INSERT ... SELECT added
    its own counter row, and the SELECT (a statement of its own under READ COMMITTED)
    counted it again onto that row: 3 dossiers resolved where there were 2 (audit)."""
    issuer = make_key("issuer")
    first = handover_body(dossier_code="R-1", agency_code="79.BTH", handed_over_at=None)
    assert client.post("/api/v1/handovers", json=first, headers=issuer).status_code == 201
    # Another day: a new counter row, which the recompute's DELETE holds no lock on.
    second = handover_body(
        dossier_code="R-2",
        agency_code="79.BTH",
        due_at=None,
        resolved_at="2025-09-20T10:00:00+07:00",
        handed_over_at=None,
    )
    live = _LiveWrite(lambda: client.post("/api/v1/handovers", json=second, headers=issuer))
    write_counters = rebuild_module._write_counters

    def after_the_delete(*args: Any, **kwargs: Any) -> int:
        live.start()
        return write_counters(*args, **kwargs)

    monkeypatch.setattr(rebuild_module, "_write_counters", after_the_delete)
    with transaction(engine) as session:  # `hailong scores recompute`
        rebuild_module.rebuild(session, PROFILE, None)
    monkeypatch.undo()
    assert live.reply().status_code == 201
    live_counters = _counters(engine)
    assert live_counters["resolved"] == 2, live_counters
    assert live_counters == _rebuilt(engine)


def late_then_on_time(client: TestClient, issuer: dict[str, str]) -> dict[str, Any]:
    """A dossier handed over 6 working days late (due Mon 8/9, resolved Tue 16/9: A 0 points,
    "a_late_over"), and the body of its re-post resolved on time, which a day off on 10/9
    races with."""
    late = handover_body(
        dossier_code="CAL-1",
        agency_code="79.BTH",
        received_at=None,
        due_at="2025-09-08T17:00:00+07:00",
        resolved_at="2025-09-16T10:00:00+07:00",
        handed_over_at=None,
    )
    assert client.post("/api/v1/handovers", json=late, headers=issuer).status_code == 201
    return {**late, "resolved_at": "2025-09-08T10:00:00+07:00"}


def test_a_repost_during_a_calendar_change_is_not_undone(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calendar change read its late dossiers without a lock; a re-post committed
    meanwhile (resolved on time after all) was undone in the counters by an after - before
    taken from the row as it had been: a_late_grace 1 and a_late_over -1 for good (audit)."""
    issuer = make_key("issuer")
    on_time = late_then_on_time(client, issuer)
    live = _LiveWrite(lambda: client.post("/api/v1/handovers", json=on_time, headers=issuer))
    derive_timeliness = events.derive_timeliness

    def after_the_read(*args: Any, **kwargs: Any) -> None:
        live.start()
        derive_timeliness(*args, **kwargs)

    monkeypatch.setattr(events, "derive_timeliness", after_the_read)
    with transaction(engine) as session:  # `hailong calendar set 2025-09-10 --off`
        set_day(session, date(2025, 9, 10), False, None, actor="test", profile=PROFILE)
    monkeypatch.undo()
    assert live.reply().status_code == 200
    live_counters = _counters(engine)
    assert live_counters["a_late_over"] == 0 and live_counters["a_on_time"] == 1, live_counters
    assert live_counters == _rebuilt(engine)


def _explained(client: TestClient, admin: dict[str, str]) -> dict[str, object]:
    response = client.get("/api/v1/agencies/G22.39/scores/2025-09/explain", headers=admin)
    assert response.status_code == 200, response.text
    row = response.json()["dossiers"]["rows"][0]
    return {k: row[k] for k in ("overdue_working_days", "bucket")}


def test_a_late_dossier_handed_over_during_a_calendar_change_uses_the_new_calendar(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    """A late dossier handed over while a day off was being written read the calendar with
    a plain SELECT, and the change's re-derivation, not seeing the uncommitted dossier, left
    it with the overdue working days of the calendar before: 6, "more than 5", where the
    regulation and a rebuild count 5, within the grace (audit)."""
    issuer, admin = make_key("issuer"), make_key("admin")
    # Due Fri 5/9 17:00, resolved Mon 15/9: 8..12 and 15 September, 6 working days late.
    # With Mon 8/9 declared a day off: 5.
    body = handover_body(
        dossier_code="G22.39-CAL-1",
        received_at="2025-09-01T08:00:00+07:00",
        due_at="2025-09-05T17:00:00+07:00",
        resolved_at="2025-09-15T10:00:00+07:00",
    )
    live = _LiveWrite(lambda: client.post("/api/v1/handovers", json=body, headers=issuer))
    with transaction(engine) as session:  # `PUT /calendar/overrides/2025-09-08 {working: false}`
        set_day(session, date(2025, 9, 8), False, "Nghỉ bão", actor="test", profile=PROFILE)
        live.start()  # the one-stop system hands the dossier over meanwhile
    assert live.reply().status_code == 201
    handed_over = _explained(client, admin)
    _rebuilt(engine)
    assert _explained(client, admin) == {"overdue_working_days": 5, "bucket": "late_within_grace"}
    assert handed_over == {"overdue_working_days": 5, "bucket": "late_within_grace"}
