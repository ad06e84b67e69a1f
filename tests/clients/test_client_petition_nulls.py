"""A petition's dossier, deadline and handling time sent as null through the client (client
audit): the API takes `dossier_code: null` as "detach", `deadline_at: null` as "the default
deadline" and `handled_at: null` as "not handled", but the client sent None as "keep", so a
petition given the wrong dossier kept it (and the dossier stayed "bad" in group 5).

Left out, they are not sent (an update keeps them); None sends null. Sync and async, on both
databases.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
from hailong_client import UNSET, HailongClient

from tests.clients.conftest import Connect, HailongServer

HCM = timezone(timedelta(hours=7))
RECEIVED = datetime(2025, 9, 16, 9, tzinfo=HCM)
RESOLVED = datetime(2025, 9, 15, 10, tzinfo=HCM)


def test_a_petition_given_the_wrong_dossier_can_be_detached(
    hailong_server: HailongServer, connect: Connect
) -> None:
    hailong_server.add_agencies()
    issuer, admin = connect(hailong_server.key("issuer")), connect(hailong_server.key("admin"))
    issuer.issue_survey("WRONG-1", "79.BTH", RESOLVED)
    first = issuer.import_petition("PD-1", "79.BTH", RECEIVED, dossier_code="WRONG-1")
    assert first.dossier_code == "WRONG-1"
    [dossier] = admin.explain("79.BTH", "2025-Q3").dossiers.rows
    assert dossier.counts_against_group5  # a petition about it: not satisfied in group 5
    kept = issuer.import_petition("PD-1", "79.BTH", RECEIVED)  # left out: kept
    assert kept.dossier_code == "WRONG-1"
    detached = issuer.import_petition("PD-1", "79.BTH", RECEIVED, dossier_code=None)
    assert (detached.created, detached.dossier_code) == (False, None)
    explained = admin.explain("79.BTH", "2025-Q3")
    assert [p.dossier_code for p in explained.petitions.rows] == [None]
    assert not explained.dossiers.rows[0].counts_against_group5


def test_a_handling_time_sent_as_none_reopens_the_petition(
    hailong_server: HailongServer, connect: Connect
) -> None:
    hailong_server.add_agencies()
    issuer = connect(hailong_server.key("issuer"))
    handled = issuer.import_petition(
        "PH-1", "79.BTH", RECEIVED, handled_at=RECEIVED + timedelta(days=2)
    )
    assert handled.handled_at is not None and handled.handled_on_time
    kept = issuer.import_petition("PH-1", "79.BTH", RECEIVED, outcome="Đã trả lời")
    assert kept.handled_at == handled.handled_at
    reopened = issuer.import_petition("PH-1", "79.BTH", RECEIVED, handled_at=None)
    assert (reopened.handled_at, reopened.handled_on_time) == (None, False)


def test_a_deadline_sent_as_none_takes_the_default_deadline(
    hailong_server: HailongServer, connect: Connect
) -> None:
    hailong_server.add_agencies()
    issuer = connect(hailong_server.key("issuer"))
    default = issuer.import_petition("PL-0", "79.BTH", RECEIVED).deadline_at
    told = RECEIVED + timedelta(days=3)
    first = issuer.import_petition("PL-1", "79.BTH", RECEIVED, deadline_at=told)
    assert first.deadline_at == told and told != default
    kept = issuer.import_petition("PL-1", "79.BTH", RECEIVED, deadline_at=UNSET)
    assert kept.deadline_at == told
    defaulted = issuer.import_petition("PL-1", "79.BTH", RECEIVED, deadline_at=None)
    assert defaulted.deadline_at == default


def test_only_the_given_times_and_dossier_are_sent() -> None:
    bodies: list[dict[str, object]] = []
    answer = {
        "petition_code": "P1",
        "agency_code": "79.BTH",
        "dossier_code": None,
        "source": "import",
        "received_at": "2025-09-16T02:00:00Z",
        "deadline_at": None,
        "handled_at": None,
        "citizen_verdict": None,
        "result_complaint": False,
        "within_authority": True,
        "handled_on_time": False,
    }

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answer)

    received = datetime(2025, 9, 16, 2, tzinfo=UTC)
    with HailongClient("https://h", "k", transport=httpx.MockTransport(handle)) as c:
        c.import_petition("P1", "79.BTH", received)
        c.import_petition("P1", "79.BTH", received, dossier_code=None, deadline_at=None)
        c.import_petition("P1", "79.BTH", received, handled_at=None, result_complaint=None)
        c.import_petition("P1", "79.BTH", received, handled_at=None, citizen_verdict=None)
        c.import_petition(
            "P1", "79.BTH", received, dossier_code="D1", handled_at=received, outcome="x"
        )
    given = {"petition_code": "P1", "agency_code": "79.BTH", "received_at": received.isoformat()}
    assert bodies == [
        given,
        given | {"dossier_code": None, "deadline_at": None},
        given | {"handled_at": None},  # result_complaint left at None is not sent
        given | {"handled_at": None, "citizen_verdict": None},
        given | {"dossier_code": "D1", "handled_at": received.isoformat(), "outcome": "x"},
    ]


def test_a_verdict_recorded_by_mistake_is_cleared_with_the_handling(
    hailong_server: HailongServer, connect: Connect
) -> None:
    """The server refuses clearing the handling of a petition the citizen judged, and says to
    send citizen_verdict null with it; the client sent None as "keep", so a verdict
    recorded by mistake could not be taken back through it."""
    hailong_server.add_agencies()
    issuer = connect(hailong_server.key("issuer"))
    handled_at = RECEIVED + timedelta(days=2)
    judged = issuer.import_petition(
        "PV-1", "79.BTH", RECEIVED, handled_at=handled_at, citizen_verdict="unsatisfied"
    )
    assert judged.citizen_verdict == "unsatisfied"
    kept = issuer.import_petition("PV-1", "79.BTH", RECEIVED, outcome="Đã trả lời")
    assert (kept.citizen_verdict, kept.handled_at) == ("unsatisfied", handled_at)
    cleared = issuer.import_petition(
        "PV-1", "79.BTH", RECEIVED, handled_at=None, citizen_verdict=None
    )
    assert (cleared.citizen_verdict, cleared.handled_at) == (None, None)
