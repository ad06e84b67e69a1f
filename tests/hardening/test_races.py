"""Two requests at the same moment, against the real server, on both databases.

Work that looks before it inserts ("is this petition code known?") could lose, on
PostgreSQL, to a concurrent request that inserted the same key after the look: its INSERT
failed on the unique constraint and the client got a 500 (13 to 16 times in 16 pairs, by
an audit). Each unit of work is now redone once on such a failure (db.in_transaction) and
takes its update or refusal path; a one-time pairing code is claimed by a conditional
UPDATE. SQLite, with one writer, never showed it: the same tests hold there too.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.admin.keys import create_key
from tests.conftest import KeyFactory, LiveServer, handover_body

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]

PAIRS = 6  # pairs per case: without the redo, PostgreSQL failed most of them
ANSWERS = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}
Call = tuple[str, str, dict[str, Any]]


def at_once(base: str, calls: list[Call]) -> list[int]:
    """The calls sent together (one connection each, released by a barrier): statuses."""
    barrier = threading.Barrier(len(calls))
    statuses = [0] * len(calls)

    def send(i: int) -> None:
        method, path, options = calls[i]
        with httpx.Client(base_url=base, timeout=30) as client:
            barrier.wait()
            statuses[i] = client.request(method, path, **options).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def count(live_server: LiveServer, sql: str) -> int:
    with live_server.engine.connect() as connection:
        return int(connection.execute(sa.text(sql)).scalar_one())


def twice(call: Call) -> list[Call]:
    return [call, call]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(
            # petition upserted with the same new code
            lambda i: twice(
                (
                    "POST",
                    "/api/v1/petitions",
                    {
                        "json": {
                            "petition_code": f"PA-{i}",
                            "agency_code": "79.BTH",
                            "received_at": "2025-09-10T08:30:00+07:00",
                        }
                    },
                )
            ),
            {200, 201},
            id="petition",
        ),
        pytest.param(
            # D and E of a new period
            lambda i: twice(
                ("PUT", f"/api/v1/agencies/79.BTH/periods/{2000 + i}-Q1/inputs", {"json": {"e": 1}})
            ),
            {200},
            id="inputs",
        ),
        pytest.param(
            # an agency's new alert rule
            lambda i: twice(
                (
                    "PUT",
                    "/api/v1/agencies/79.BTH/alert-rules",
                    {"json": {"k_below_threshold": {"enabled": True, "threshold": 15 + i}}},
                )
            ),
            {200},
            id="alert-rule",
        ),
        pytest.param(
            # a new calendar override
            lambda i: twice(
                ("PUT", f"/api/v1/calendar/overrides/2031-01-0{i + 1}", {"json": {"working": True}})
            ),
            {200},
            id="calendar",
        ),
        pytest.param(
            # pairing codes for a new counter
            lambda i: twice(
                (
                    "POST",
                    "/api/v1/kiosk/pairings",
                    {"json": {"agency_code": "G22.39", "counter_code": f"K{i}"}},
                )
            ),
            {201},
            id="counter",
        ),
    ],
)
def test_two_upserts_of_one_new_key_both_succeed(
    live_server: LiveServer,
    make_key: KeyFactory,
    make: Callable[[int], list[Call]],
    expected: set[int],
) -> None:
    admin = make_key("admin")
    for i in range(PAIRS):
        calls = [(method, path, {**options, "headers": admin}) for method, path, options in make(i)]
        statuses = at_once(live_server.url, calls)
        assert set(statuses) <= expected, f"pair {i}: {statuses}"


def _token(live_server: LiveServer, issuer: dict[str, str], code: str) -> str:
    made = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(dossier_code=code), headers=issuer
    )
    assert made.status_code == 201, made.text
    token: str = made.json()["survey_url"].rsplit("/", 1)[1]
    return token


def test_one_submission_id_on_two_surveys_at_once_is_one_answer_and_one_409(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    issuer = make_key("issuer")
    for i in range(PAIRS):
        tokens = [_token(live_server, issuer, f"RACE-{i}-{j}") for j in range(2)]
        submission = str(uuid.uuid4())
        calls: list[Call] = [
            (
                "POST",
                "/api/v1/responses",
                {"json": {"token": t, "answers": ANSWERS, "client_submission_id": submission}},
            )
            for t in tokens
        ]
        assert sorted(at_once(live_server.url, calls)) == [201, 409], f"pair {i}"
    assert count(live_server, "SELECT count(*) FROM response") == PAIRS


def test_one_pairing_code_pairs_one_tablet(live_server: LiveServer, make_key: KeyFactory) -> None:
    admin = make_key("admin")
    for i in range(PAIRS):
        body = {"agency_code": "G22.39", "counter_code": "Q01"}
        made = httpx.post(f"{live_server.url}/api/v1/kiosk/pairings", json=body, headers=admin)
        assert made.status_code == 201, made.text
        pair = ("POST", "/kiosk/api/pair", {"json": {"code": made.json()["code"]}})
        assert sorted(at_once(live_server.url, twice(pair))) == [200, 401], f"pair {i}"
    assert count(live_server, "SELECT count(*) FROM api_key WHERE role = 'kiosk'") == PAIRS


@pytest.mark.parametrize("action", ["rotate", "revoke"])
def test_one_key_rotated_or_revoked_twice_at_once_is_changed_once(
    live_server: LiveServer, make_key: KeyFactory, action: str
) -> None:
    """Both requests found the key live on PostgreSQL: two rotations left two successors,
    one nobody received, and every pair wrote two audit records (audit)."""
    admin = make_key("admin")
    results = []
    for i in range(PAIRS):
        with live_server.session() as session:
            key, _ = create_key(
                session, role="reader", name=f"portal-{i}", agency_code=None, actor="test"
            )
        results.append(
            sorted(
                at_once(
                    live_server.url,
                    twice(("POST", f"/api/v1/keys/{key.id}/{action}", {"headers": admin})),
                )
            )
        )
    done = 201 if action == "rotate" else 200
    live = count(
        live_server,
        "SELECT count(*) FROM api_key WHERE name LIKE 'portal-%' AND revoked_at IS NULL",
    )
    audited = count(live_server, f"SELECT count(*) FROM audit_log WHERE action = 'key.{action}'")
    assert results == [[done, 409]] * PAIRS
    assert (live, audited) == ((PAIRS if action == "rotate" else 0), PAIRS)
