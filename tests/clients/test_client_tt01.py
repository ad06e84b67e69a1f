"""TT 01/2018 scores through the client (`profile="tt-01-2018"`), against a service that
computes them beside the K score (README "Thông tư 01/2018/TT-VPCP beside the K score").

The client's score reads took no `profile` (client audit): a portal could export TT 01's
scores but not read them. Sync and async, on both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, assert_type

import httpx
import pytest
from hailong_client import (
    TT01,
    AsyncHailongClient,
    Counts,
    Explanation,
    HailongClient,
    InputEntry,
    InvalidInput,
    NotFound,
    Score,
    Tt01Indicator,
    Tt01Score,
)

from tests.clients.conftest import AGENCIES, Connect, HailongServer
from tests.conftest import free_port, make_settings, serve

HCM = timezone(timedelta(hours=7))
PERIOD = "2025-Q3"
KEYS = [
    "total_time",
    "agency_time",
    "returns_to_complete",
    "agencies_contacted",
    "desk_organisation",
    "public_posting",
    "staff_attitude",
    "petitions_on_time",
    "online_services",
]


@pytest.fixture
def hailong_server(database_url: str) -> Iterator[HailongServer]:
    """This module's server (and so `connect`'s) computes TT 01/2018 beside the K score."""
    settings = make_settings(
        database_url, base_url=f"http://127.0.0.1:{free_port()}", scoring_profile_also=TT01
    )
    with serve(settings) as live:
        server = HailongServer(live.url, live.settings, live.engine, live.app.state.profile)
        server.add_agencies()
        yield server


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 9, day, hour, 0, tzinfo=HCM)


def _seed(server: HailongServer, connect: Connect) -> None:
    """79.BTH: a dossier resolved before its due day (1, 2: 2 points each), answered with
    no return (3: 2), the desk only (4: 2), a good attitude (7: 2); no petition (8: 2);
    entered 5, 6, 9 = 2, 2, 1. Total 17 of 18: "tot" (from 15)."""
    issuer, admin = connect(server.key("issuer")), connect(server.key("admin"))
    survey = issuer.issue_survey(
        "BTH-1", "79.BTH", _at(15), received_at=_at(10, 8), due_at=_at(17, 17)
    )
    admin.submit_response(
        survey.token,
        answers={
            "timeliness": "on_time",
            "supplement_requests": "none",
            "agencies_contacted": "desk_only",
            "staff_attitude": "good",
            "overall": "satisfied",
        },
        submitted_at=_at(16),
    )
    entered = httpx.put(
        f"{server.url}/api/v1/agencies/79.BTH/periods/{PERIOD}/inputs",
        json={"indicators": {"desk_organisation": 2, "public_posting": 2, "online_services": 1}},
        headers={"Authorization": f"Bearer {server.key('admin')}"},
    )
    assert entered.status_code == 200, entered.text


def test_scores_and_rankings_are_read_under_the_tt01_profile(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _seed(hailong_server, connect)
    key = hailong_server.key("reader")
    reader = connect(key)

    # The profile's name as a literal types the answer: a Tt01Score (checked by mypy).
    score = assert_type(reader.score("79.BTH", PERIOD, profile=TT01), Tt01Score)
    assert isinstance(score, Tt01Score)
    assert isinstance(reader.score("79.BTH", PERIOD, profile="tt-01-2018"), Tt01Score)
    assert (score.agency_code, score.agency_name, score.period, score.profile) == (
        "79.BTH",
        "Phường Bến Thành",
        PERIOD,
        TT01,
    )
    assert [i.key for i in score.indicators] == KEYS
    assert [i.number for i in score.indicators] == list(range(1, 10))
    assert all(isinstance(i, Tt01Indicator) and i.max_points == 2 for i in score.indicators)
    assert [i.points for i in score.indicators] == [2, 2, 2, 2, 2, 2, 2, 2, 1]
    assert score.indicator("online_services").basis == "entered"
    assert (score.total, score.total_min, score.total_max, score.max_total) == (17, 17, 17, 18)
    assert (score.classification, score.missing) == ("tot", [])
    assert isinstance(score.entered, InputEntry) and score.entered.set_at.tzinfo is not None
    assert score.counts == Counts(resolved_dossiers=1, evaluations=1, petitions=0)
    assert score.computed_at.tzinfo is not None

    # The record is what the server sent, field by field.
    raw = httpx.get(
        f"{hailong_server.url}/api/v1/agencies/79.BTH/scores/{PERIOD}",
        params={"profile": TT01},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert [(i.key, i.name, i.count, i.entered_from) for i in score.indicators] == [
        (i["key"], i["name"], i["count"], i["entered_from"]) for i in raw["indicators"]
    ]

    listed = assert_type(reader.scores(PERIOD, parent_code="79", profile=TT01), list[Tt01Score])
    assert all(isinstance(s, Tt01Score) for s in listed)
    assert [s.agency_code for s in listed] == [c for c, _, p in AGENCIES if p == "79"]
    ranking = assert_type(reader.rankings(PERIOD, "79", profile=TT01), list[Tt01Score])
    assert all(isinstance(s, Tt01Score) for s in ranking)
    assert (ranking[0].agency_code, ranking[0].rank, ranking[0].total) == ("79.BTH", 1, 17)
    # The others have no evaluation nor entered indicators: no total, no rank, last.
    assert all(s.total is None and s.classification == "chua_du_du_lieu" for s in ranking[1:])


def test_without_a_profile_or_with_the_main_one_scores_stay_k(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _seed(hailong_server, connect)
    reader = connect(hailong_server.key("reader"))
    main = hailong_server.profile.name
    for score in (
        assert_type(reader.score("79.BTH", PERIOD), Score),
        reader.score("79.BTH", PERIOD, profile=main),
        *reader.scores(PERIOD, agency_code="79.BTH", profile=main),
        *reader.rankings(PERIOD, "79", profile=main)[:1],
    ):
        assert isinstance(score, Score) and score.profile == main
        assert (score.agency_code, score.a) == ("79.BTH", 1.0)
    with pytest.raises(InvalidInput) as unknown:
        reader.scores(PERIOD, profile="no-such-profile")
    assert [f["field"] for f in unknown.value.fields] == ["profile"]


def test_explain_takes_the_main_profile_and_refuses_tt01(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _seed(hailong_server, connect)
    reader = connect(hailong_server.key("reader"))
    explained = reader.explain("79.BTH", PERIOD, profile=hailong_server.profile.name)
    assert isinstance(explained, Explanation) and explained.dossiers.total == 1
    with pytest.raises(InvalidInput) as refused:  # TT 01 is read per agency and per dossier
        reader.explain("79.BTH", PERIOD, profile=TT01)
    assert [f["field"] for f in refused.value.fields] == ["profile"]


def test_the_profile_is_sent_only_when_given() -> None:
    """Sync and async send the same queries; no `profile` at all when it is left out."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)  # only the requests matter here: each answer is a 404
        return httpx.Response(404, json={"error": "not_found", "detail": "No such agency"})

    with HailongClient("https://h", "k", transport=httpx.MockTransport(handle)) as c:
        for call in _calls(c):
            with pytest.raises(NotFound):
                call()

    async def run_async() -> None:
        transport = httpx.MockTransport(handle)
        async with AsyncHailongClient("https://h", "k", transport=transport) as c:
            for call in _calls(c):
                with pytest.raises(NotFound):
                    await call()

    asyncio.run(run_async())
    sent = [(r.url.path, dict(r.url.params)) for r in requests]
    scores_of = "/api/v1/agencies/79.BTH/scores/2025-Q3"
    expected = [
        (scores_of, {}),
        (scores_of, {"profile": TT01}),
        ("/api/v1/scores", {"period": PERIOD}),
        ("/api/v1/scores", {"period": PERIOD, "parent_code": "79", "profile": TT01}),
        ("/api/v1/rankings", {"period": PERIOD, "parent_code": "79"}),
        ("/api/v1/rankings", {"period": PERIOD, "parent_code": "79", "profile": TT01}),
        (f"{scores_of}/explain", {}),
        (f"{scores_of}/explain", {"limit": "5", "profile": TT01}),
    ]
    assert sent == expected * 2


def _calls(c: Any) -> list[Callable[[], Any]]:
    return [
        lambda: c.score("79.BTH", PERIOD),
        lambda: c.score("79.BTH", PERIOD, profile=TT01),
        lambda: c.scores(PERIOD),
        lambda: c.scores(PERIOD, parent_code="79", profile=TT01),
        lambda: c.rankings(PERIOD, "79"),
        lambda: c.rankings(PERIOD, "79", profile=TT01),
        lambda: c.explain("79.BTH", PERIOD),
        lambda: c.explain("79.BTH", PERIOD, limit=5, profile=TT01),
    ]


def test_a_tt01_answer_is_read_by_its_shape() -> None:
    """A list under `profile=` is TT 01's when its items carry indicators; the K score's
    otherwise (the main profile's name), whatever the profile was called."""
    body: dict[str, Any] = {
        "agency_code": "79.BTH",
        "agency_name": "Phường Bến Thành",
        "period": PERIOD,
        "profile": TT01,
        "indicators": [
            {
                "number": 1,
                "key": "total_time",
                "name": "Tổng thời gian",
                "points": None,
                "max_points": 2,
                "basis": "dossiers",
                "count": 0,
            }
        ],
        "total": None,
        "total_min": 0,
        "total_max": 18,
        "max_total": 18,
        "classification": "chua_du_du_lieu",
        "missing": ["total_time"],
        "rank": None,
        "entered": None,
        "counts": {"resolved_dossiers": 0, "evaluations": 0, "petitions": 0},
        "computed_at": "2025-10-01T00:00:00Z",
    }

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [body], "count": 1})

    with HailongClient("https://h", "k", transport=httpx.MockTransport(handle)) as c:
        [score] = c.scores(PERIOD, profile="tt-01-2018-as-amended")
    assert isinstance(score, Tt01Score)
    [indicator] = score.indicators
    assert indicator.entered_from is None  # an older server did not send it
    assert (score.total, score.total_max, score.entered) == (None, 18.0, None)
    assert score.missing == ["total_time"]
    with pytest.raises(KeyError):
        score.indicator("online_services")
