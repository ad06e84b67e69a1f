"""Dates out of 1900-01-01..2100-12-31 (Vietnam time) are a 422 naming the field, on every
endpoint that takes one, never a 500; dates inside it are accepted (issue 17, item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cli_runner import cli_for
from tests.conftest import KeyFactory, handover_body
from tests.kiosk.conftest import ANSWERS, hand_over, pair
from tests.surveys.conftest import issue

# Year 1 and 9999 (converting either to UTC overflows), and the days just outside the range.
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+07:00",
    "9999-12-31T23:00:00-07:00",
    "1899-12-31T12:00:00+07:00",
    "2101-01-01T00:00:00+07:00",
]
RANGE_WORDS = "1900-01-01 and 2100-12-31"


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    problems = {f["field"]: f["problem"] for f in body["fields"]}
    assert field in problems, body
    assert RANGE_WORDS in problems[field] and field in body["detail"]


@pytest.mark.parametrize("field", ["received_at", "due_at", "resolved_at", "handed_over_at"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_handover_times_out_of_range_are_refused(
    client: TestClient, make_key: KeyFactory, agencies: None, field: str, value: str
) -> None:
    body = handover_body(**{field: value})
    assert_refused(client.post("/api/v1/handovers", json=body, headers=make_key("issuer")), field)


def test_handover_times_at_the_edges_are_accepted_and_scored(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    issuer, reader = make_key("issuer"), make_key("reader")
    early = handover_body(
        dossier_code="OLD-1900",
        received_at="1900-01-01T00:00:00+07:00",
        due_at="1900-01-05T17:00:00+07:00",
        resolved_at="1900-01-10T10:00:00+07:00",
        handed_over_at=None,
    )
    assert client.post("/api/v1/handovers", json=early, headers=issuer).status_code == 201
    late_due = handover_body(dossier_code="DUE-2100", due_at="2100-12-31T23:59:00+07:00")
    assert client.post("/api/v1/handovers", json=late_due, headers=issuer).status_code == 201
    # The 1900 dossier counts in its period; pages that look back stop at 1900.
    score = client.get("/api/v1/agencies/G22.39/scores/1900-Q1", headers=reader)
    assert score.status_code == 200 and score.json()["counts"]["resolved_dossiers"] == 1
    assert score.json()["a"] == 0  # 3 working days late: no point in the HCMC profile
    for page in ("/agencies/G22.39?period=1900-Q1", "/agencies/G22.39?period=1900-01"):
        assert client.get(page).status_code == 200, page


@pytest.mark.parametrize("field", ["received_at", "deadline_at", "handled_at"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_petition_times_out_of_range_are_refused(
    client: TestClient, make_key: KeyFactory, agencies: None, field: str, value: str
) -> None:
    body: dict[str, Any] = {
        "petition_code": "PAKN-1",
        "agency_code": "G22.39",
        "received_at": "2025-09-16T09:00:00+07:00",
        field: value,
    }
    response = client.post("/api/v1/petitions", json=body, headers=make_key("admin"))
    assert_refused(response, field)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_calendar_days_out_of_range_are_refused(
    client: TestClient, make_key: KeyFactory, day: str
) -> None:
    admin = make_key("admin")
    url = f"/api/v1/calendar/overrides/{day}"
    assert_refused(client.get(url, headers=admin), "date")
    assert_refused(client.put(url, json={"working": False}, headers=admin), "date")


@pytest.mark.parametrize(
    "day",
    ["0", "1757116800", "20250906", "2025-9-6", "06-09-2025", " 2025-09-06", "\uff12025-09-06"],
)
def test_a_calendar_day_is_yyyy_mm_dd_never_seconds_since_1970(
    client: TestClient, make_key: KeyFactory, day: str
) -> None:
    """Digits were read as seconds since 1970: /overrides/0 made 1970-01-01 a day off, with
    a 200 and an audit record; 20250906 was refused in words about datetimes (audit)."""
    admin = make_key("admin")
    url = f"/api/v1/calendar/overrides/{day}"
    for response in (
        client.get(url, headers=admin),
        client.put(url, json={"working": False}, headers=admin),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["fields"] == [
            {"field": "date", "problem": "is not a date: use YYYY-MM-DD, e.g. 2025-09-02"}
        ]


@pytest.mark.parametrize("day", ["1900-01-01", "2025-09-02", "2100-12-31"])
def test_calendar_days_in_range_are_served(
    client: TestClient, make_key: KeyFactory, day: str
) -> None:
    admin = make_key("admin")
    url = f"/api/v1/calendar/overrides/{day}"
    put = client.put(url, json={"working": True, "note": "bù"}, headers=admin)
    assert put.status_code == 200 and put.json()["working"] is True
    assert client.get(url, headers=admin).json()["overridden"] is True


def test_the_cli_refuses_a_calendar_day_out_of_range(database_url: str) -> None:
    run = cli_for(database_url)
    refused = run("calendar", "set", "0001-01-01", "--off")
    assert refused.exit_code == 2 and RANGE_WORDS in refused.output
    assert run("calendar", "set", "2100-12-31", "--off").exit_code == 0


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_backdated_evaluation_out_of_range_is_refused(
    client: TestClient, make_key: KeyFactory, agencies: None, value: str
) -> None:
    survey = issue(client, make_key)
    body = {"token": survey.token, "answers": ANSWERS, "submitted_at": value}
    response = client.post("/api/v1/responses", json=body, headers=make_key("admin"))
    assert_refused(response, "submitted_at")


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_a_kiosk_answer_time_out_of_range_is_refused(
    client: TestClient, make_key: KeyFactory, agencies: None, value: str
) -> None:
    pair(client, make_key)
    issued = hand_over(client, make_key)
    body = {
        "survey_id": issued["survey_id"],
        "answers": ANSWERS,
        "client_submission_id": "offline-1",
        "answered_at": value,
    }
    assert_refused(client.post("/kiosk/api/answers", json=body), "answered_at")


BAD_PERIODS = ["0001", "9999-Q3", "776-04", "2025-13", "2025-Q5", "1899-Q4", "2101"]
API_PERIOD_PATHS = [
    "/api/v1/scores?period={p}",
    "/api/v1/rankings?period={p}&parent_code=79",
    "/api/v1/agencies/G22.39/scores/{p}",
    "/api/v1/agencies/G22.39/scores/{p}/explain",
    "/api/v1/scores.csv?period={p}",
    "/api/v1/scores.xlsx?period={p}",
]
PAGE_PERIOD_PATHS = [
    "/rankings?period={p}",
    "/agencies/G22.39?period={p}",
    "/badge/G22.39.svg?period={p}",
    "/embed/agencies/G22.39?period={p}",
]


@pytest.mark.parametrize("period", BAD_PERIODS)
def test_bad_periods_are_a_422_that_says_what_a_period_looks_like(
    client: TestClient, make_key: KeyFactory, agencies: None, period: str
) -> None:
    reader = make_key("reader")
    for path in API_PERIOD_PATHS:
        response = client.get(path.format(p=period), headers=reader)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["fields"][0]["field"] == "period"
        assert "2025-Q3" in response.json()["fields"][0]["problem"]
    for path in PAGE_PERIOD_PATHS:
        assert client.get(path.format(p=period)).status_code == 422, path


@pytest.mark.parametrize("period", ["1900", "1900-Q1", "1900-01", "2100-12", "2025-Q3"])
def test_periods_at_the_edges_are_served(
    client: TestClient, make_key: KeyFactory, agencies: None, period: str
) -> None:
    reader = make_key("reader")
    for path in API_PERIOD_PATHS:
        response = client.get(path.format(p=period), headers=reader)
        assert response.status_code == 200, (path, response.text)
    for path in PAGE_PERIOD_PATHS:
        assert client.get(path.format(p=period)).status_code == 200, path


# -- times of what happened cannot lie ahead (audit: a petition received and handled in 2030
# with a "satisfied" verdict gave 2030-Q1 group 5 = 18 ahead of time; one open today,
# "handled" at a later hour within its deadline, counted as on time now) ------------------
def _ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def assert_future_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    problems = {f["field"]: f["problem"] for f in response.json()["fields"]}
    assert "lies in the future" in problems[field], problems


@pytest.mark.parametrize("field", ["received_at", "handled_at"])
def test_petition_times_ahead_of_now_are_refused(
    client: TestClient, make_key: KeyFactory, agencies: None, field: str
) -> None:
    body: dict[str, Any] = {
        "petition_code": "PAKN-F",
        "agency_code": "G22.39",
        "received_at": _ahead(days=-3),
        field: _ahead(days=2),
    }
    if field == "handled_at":  # a verdict comes with its handling, refused without it
        body["citizen_verdict"] = "satisfied"
    issuer = make_key("issuer")
    assert_future_refused(client.post("/api/v1/petitions", json=body, headers=issuer), field)
    body[field] = _ahead(minutes=30)  # a clock a little fast is not refused
    assert client.post("/api/v1/petitions", json=body, headers=issuer).status_code == 201


def test_a_handover_resolved_ahead_of_now_is_refused(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    body = handover_body(
        received_at=_ahead(days=-1), due_at=_ahead(days=5), resolved_at=_ahead(hours=3)
    )
    issuer = make_key("issuer")
    assert_future_refused(
        client.post("/api/v1/handovers", json=body, headers=issuer), "resolved_at"
    )
    body["resolved_at"] = _ahead(minutes=30)
    assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201


def test_a_backdated_evaluation_cannot_be_dated_ahead(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    survey = issue(client, make_key)
    body = {"token": survey.token, "answers": ANSWERS, "submitted_at": "2030-01-15T09:00:00+07:00"}
    response = client.post("/api/v1/responses", json=body, headers=make_key("admin"))
    assert_future_refused(response, "submitted_at")


@pytest.mark.parametrize("value", [20250915, 1757905200, "1757905200", 1757905200.5, True])
def test_a_time_given_as_a_number_is_refused_not_read_as_seconds_since_1970(
    client: TestClient, make_key: KeyFactory, agencies: None, value: Any
) -> None:
    """API.md: times are ISO 8601 with their offset. A number (or a text of digits) would
    otherwise be taken as seconds since 1970, and the dossier counted in 1970 (or in
    whichever day the number happens to land on) with a 201."""
    body = handover_body(resolved_at=value)
    response = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert response.status_code == 422, response.text
    problems = {f["field"]: f["problem"] for f in response.json()["fields"]}
    assert "ISO 8601" in problems["resolved_at"], problems
    petition = {
        "petition_code": "PAKN-NUMBER",
        "agency_code": "G22.39",
        "received_at": value,
    }
    response = client.post("/api/v1/petitions", json=petition, headers=make_key("admin"))
    assert response.status_code == 422, response.text
    assert "received_at" in {f["field"] for f in response.json()["fields"]}
