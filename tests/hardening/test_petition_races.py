"""A petition's import and another write of the same rows, one coming between the other's
read and its write (PostgreSQL: SQLite runs one writer at a time, nothing comes between).

The counters move by (after - before). An import took "before" from the dossier and the
petition as it read them, unlocked: an answer or another import committed meanwhile was
counted a second time, and the live counters no longer equalled `hailong scores
recompute` (audit). The import now locks the petition, then its dossiers, and reads them
afresh; an answer waiting for it reads the dossier again, dated by the flag it changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from service.db import transaction
from service.models import COUNT_COLUMNS, AgencyDayCounter
from service.petitions import service as petitions_service
from service.profile import profile_of
from service.scoring import events
from service.scoring.rebuild import rebuild
from service.settings import Settings
from service.surveys import service as surveys_service
from tests.conftest import Backend, KeyFactory
from tests.surveys.conftest import issue

pytestmark = pytest.mark.usefixtures("agencies")

UNSATISFIED = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "poor",
    "overall": "unsatisfied",
}
# A backend of this test's database waiting on a row lock.
WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


@pytest.fixture(autouse=True)
def _postgresql_only(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: nothing comes between")


def meanwhile(engine: sa.Engine, work: Callable[[], None], seconds: float = 20) -> threading.Thread:
    """`work` started in another thread; back once it is done or waits on a row lock (this
    transaction's): whatever it can do before the caller goes on, it has done."""
    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + seconds
    with engine.connect() as probe:
        while thread.is_alive() and time.monotonic() < deadline:
            if probe.execute(sa.text(WAITING)).scalar():
                break
            probe.commit()
    return thread


def between(
    monkeypatch: pytest.MonkeyPatch,
    engine: sa.Engine,
    owner: object,
    name: str,
    work: Callable[[], None],
) -> list[threading.Thread]:
    """`owner.name` patched so that its first call lets `work` run `meanwhile` first: the
    thread, to be joined once the caller's request is answered."""
    original = getattr(owner, name)
    started: list[threading.Thread] = []
    first = [True]

    def patched(*args: Any, **kwargs: Any) -> Any:
        if first:
            first.clear()  # `work`'s own calls go straight through
            started.append(meanwhile(engine, work))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, patched)
    return started


def counters(engine: sa.Engine) -> dict[tuple[int, date], dict[str, int]]:
    """Every non-zero count of the agency day counters."""
    with transaction(engine) as session:
        rows = session.exec(select(AgencyDayCounter)).all()
        return {
            (r.agency_id, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS if getattr(r, c)}
            for r in rows
        }


def assert_live_equal_rebuilt(engine: sa.Engine, settings: Settings) -> None:
    live = counters(engine)
    with transaction(engine) as session:
        rebuild(session, profile_of(settings))
    assert live == counters(engine)


def petition(code: str, dossier_code: str | None = None, **fields: Any) -> dict[str, Any]:
    received = datetime.now(UTC) - timedelta(hours=2)
    body = {"petition_code": code, "agency_code": "G22.39", "received_at": received.isoformat()}
    return body | ({"dossier_code": dossier_code} if dossier_code else {}) | fields


def post(
    client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> int:
    status: int = client.post(path, json=body, headers=headers).status_code
    return status


def test_an_answer_committed_while_an_import_names_its_dossier_counts_it_bad_once(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The import had read the dossier when the unsatisfied answer committed; both counted
    it newly bad: c_bad_dossiers 2 for one dossier, a dossiers_satisfied_rate of -1.0 and
    a group-5 score of -20 on the public page. The answer now waits for the import, then
    finds the dossier already bad."""
    survey, admin = issue(client, make_key), make_key("admin")
    answer = {"token": survey.token, "answers": UNSATISFIED, "source": "phone"}
    answered: list[int] = []
    started = between(
        monkeypatch,
        engine,
        events,
        "mark_dossier",
        lambda: answered.append(post(client, "/api/v1/responses", answer)),
    )
    body = petition("PAKN-RACE-1", survey.dossier_code)
    assert post(client, "/api/v1/petitions", body, headers=admin) == 201
    started[0].join(20)
    assert answered == [201]
    score = client.get("/api/v1/agencies/G22.39/scores/2025-09", headers=admin).json()
    assert score["group5"]["dossiers_satisfied_rate"] == 0, score["group5"]  # 0 of 1
    assert_live_equal_rebuilt(engine, settings)


def test_an_import_committed_while_an_answer_waits_to_claim_counts_the_dossier_bad_once(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other order: the answer had looked its survey up when the import flagged the
    dossier. The answer reads the dossier again only when its updated_at changed, and
    flagging did not change it: the dossier counted bad twice. Flagging now dates it."""
    survey, admin = issue(client, make_key), make_key("admin")
    imported: list[int] = []
    body = petition("PAKN-RACE-2", survey.dossier_code)
    started = between(
        monkeypatch,
        engine,
        surveys_service,
        "_claim_and_insert",
        lambda: imported.append(post(client, "/api/v1/petitions", body, headers=admin)),
    )
    answer = {"token": survey.token, "answers": UNSATISFIED, "source": "phone"}
    assert post(client, "/api/v1/responses", answer) == 201
    started[0].join(20)
    assert imported == [201]
    assert_live_equal_rebuilt(engine, settings)


def test_two_imports_naming_one_dossier_at_once_count_it_bad_once(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The national connector imports two petitions about one dossier in parallel: each
    found the dossier unflagged and counted it newly bad."""
    survey, issuer = issue(client, make_key), make_key("issuer")
    second: list[int] = []
    later = petition("PAKN-B", survey.dossier_code)
    started = between(
        monkeypatch,
        engine,
        events,
        "mark_dossier",
        lambda: second.append(post(client, "/api/v1/petitions", later, headers=issuer)),
    )
    body = petition("PAKN-A", survey.dossier_code)
    assert post(client, "/api/v1/petitions", body, headers=issuer) == 201
    started[0].join(20)
    assert second == [201]
    assert_live_equal_rebuilt(engine, settings)


def test_an_answer_committed_while_an_import_moves_a_petition_away_keeps_the_dossier_bad(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The import moving the petition to another dossier read the one it left unlocked, as
    it was before the citizen's unsatisfied answer: the dossier was counted good again,
    although its evaluation still made it bad (c_bad_dossiers 0 for 1)."""
    survey, admin = issue(client, make_key), make_key("admin")
    other = issue(client, make_key, dossier_code="G22.39-250915-0002")
    body = petition("PAKN-MOVED", survey.dossier_code)
    assert post(client, "/api/v1/petitions", body, headers=admin) == 201
    answer = {"token": survey.token, "answers": UNSATISFIED, "source": "phone"}
    answered: list[int] = []
    started = between(
        monkeypatch,
        engine,
        events,
        "refresh_petition_flag",
        lambda: answered.append(post(client, "/api/v1/responses", answer)),
    )
    moved = petition("PAKN-MOVED", other.dossier_code, received_at=body["received_at"])
    assert post(client, "/api/v1/petitions", moved, headers=admin) == 200
    started[0].join(20)
    assert answered == [201]
    assert_live_equal_rebuilt(engine, settings)


def test_one_petition_update_sent_twice_at_once_moves_the_counters_once(
    client: TestClient,
    make_key: KeyFactory,
    engine: sa.Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connector retried an update (handled_at) while the first was still running:
    both took "before" from the petition as it was, unhandled, and the handling was
    counted twice (petitions_in_authority_on_time 2 for 1, petitions_open -1)."""
    issuer = make_key("issuer")
    received = datetime.now(UTC) - timedelta(days=3)
    body = petition("PAKN-UPD", received_at=received.isoformat())
    assert post(client, "/api/v1/petitions", body, headers=issuer) == 201
    update = {**body, "handled_at": (received + timedelta(days=1)).isoformat()}
    retried: list[int] = []
    started = between(
        monkeypatch,
        engine,
        petitions_service,
        "_check_survey_comment",  # the first has read the petition, not yet changed it
        lambda: retried.append(post(client, "/api/v1/petitions", update, headers=issuer)),
    )
    assert post(client, "/api/v1/petitions", update, headers=issuer) == 200
    started[0].join(20)
    assert retried == [200]
    assert_live_equal_rebuilt(engine, settings)
