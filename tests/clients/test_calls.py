"""Request building and answer reading, without a server (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hailong_client import (
    UNSET,
    AsyncHailongClient,
    CalendarDay,
    Gone,
    HailongClient,
    HailongError,
    RateLimited,
    ServiceUnavailable,
    Survey,
)
from hailong_client import _calls as calls
from hailong_client._json import to_datetime
from hailong_client.errors import raise_for_error

SURVEY = {
    "survey_id": "s1",
    "dossier_code": "D/1",
    "survey_url": "https://hailong.example/s/tok123",
    "short_code": "7KQ4-M2XD",
    "qr_svg_url": "https://hailong.example/s/tok123/qr.svg",
    "qr_png_url": "https://hailong.example/s/tok123/qr.png",
    "slip_url": "https://hailong.example/s/tok123/slip",
    "expires_at": "2025-10-15T07:00:00Z",
    "status": "revoked",
    "added_later": "ignored",  # the contract lets the server add fields
}


def test_set_inputs_sends_only_what_was_given() -> None:
    assert calls.set_inputs("79.BTH", "2025-Q3", UNSET, None, UNSET).json == {"e": None}
    assert calls.set_inputs("79.BTH", "2025-Q3", 1.5, UNSET, "x").json == {"d": 1.5, "note": "x"}
    assert calls.set_inputs("79.BTH", "2025-Q3", UNSET, UNSET, UNSET).json == {}
    assert repr(UNSET) == "UNSET"


def test_submit_response_body() -> None:
    call = calls.submit_response(
        None, "7KQ4-M2XD", {"overall": "satisfied"}, "kiosk", None, None, False, None
    )
    assert call.json == {
        "short_code": "7KQ4-M2XD",
        "answers": {"overall": "satisfied"},
        "source": "kiosk",
    }


def test_issue_survey_sends_the_contact_and_reads_the_messages() -> None:
    """The client could send no `contact` and read no `messages` (README "Invitations by
    message"; audit)."""
    sent: list[httpx.Request] = []
    message = {"channel": "email", "kind": "invitation", "status": "pending", "reason": None}

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json=SURVEY | {"messages": [message]})

    with HailongClient("https://h", "key", transport=httpx.MockTransport(handle)) as c:
        survey = c.issue_survey(
            "D1",
            "G22.39",
            datetime(2025, 9, 15, 3, tzinfo=UTC),
            contact={"email": "dan@example.vn", "consent": True},
        )
    assert json.loads(sent[0].content)["contact"] == {"email": "dan@example.vn", "consent": True}
    assert survey.messages == [message]
    # No `contact`: none sent; an answer without `messages` (an older server) reads as [].
    call = calls.issue_survey("D1", "G22.39", datetime(2025, 9, 15, 3, tzinfo=UTC), {}, {})
    assert "contact" not in call.json
    assert Survey.from_json(SURVEY, created=True).messages == []


def test_paths_are_quoted_and_zulu_times_parse() -> None:
    assert calls.revoke_survey("D/1").path == "/api/v1/handovers/D%2F1/revoke"
    assert to_datetime("2025-10-15T07:00:00Z") == datetime(2025, 10, 15, 7, tzinfo=UTC)


def test_sync_and_async_send_the_same_request() -> None:
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=SURVEY)

    with HailongClient(
        "https://hailong.example/", "hl_k", transport=httpx.MockTransport(handle)
    ) as c:
        survey = c.revoke_survey("D/1")

    async def run() -> Survey:
        transport = httpx.MockTransport(handle)
        async with AsyncHailongClient("https://hailong.example", "hl_k", transport=transport) as c:
            return await c.revoke_survey("D/1")

    assert asyncio.run(run()) == survey
    assert survey.token == "tok123" and not survey.created
    assert survey.expires_at.tzinfo is not None
    assert [(r.method, str(r.url), r.headers["authorization"]) for r in requests] == [
        ("POST", "https://hailong.example/api/v1/handovers/D%2F1/revoke", "Bearer hl_k")
    ] * 2


def test_no_key_sends_no_authorization() -> None:
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(201, json={"response_id": 7, "status": "answered"})

    with HailongClient("https://hailong.example", transport=httpx.MockTransport(handle)) as c:
        submitted = c.submit_response("tok", answers={"overall": "satisfied"})
    assert (submitted.response_id, submitted.created) == (7, True)
    assert "authorization" not in requests[0].headers
    assert json.loads(requests[0].content)["token"] == "tok"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (None, None),
        ("soon", None),
        ("in 90 s", 90.0),  # an HTTP date, made when the test runs (not when it is collected)
    ],
)
def test_rate_limited_reads_retry_after(header: str | None, expected: float | None) -> None:
    if header == "in 90 s":
        header = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    headers = {"Retry-After": header} if header is not None else {}
    response = httpx.Response(429, json={"error": "rate_limited", "detail": "x"}, headers=headers)
    with pytest.raises(RateLimited) as limited:
        raise_for_error(response)
    if expected is None:
        assert limited.value.retry_after is None
    else:
        assert limited.value.retry_after == pytest.approx(expected, abs=2)


def test_503_with_retry_after_tells_the_caller_when_to_send_again() -> None:
    """The service answers 503 while its database is unreachable, with Retry-After; the
    client raised a bare HailongError and dropped the hint (audit)."""
    detail = (
        "The service cannot reach its database at the moment. Send the request again in 5 seconds."
    )

    def handle(request: httpx.Request) -> httpx.Response:
        body = {"error": "service_unavailable", "detail": detail}
        return httpx.Response(503, json=body, headers={"Retry-After": "5"})

    client = HailongClient("https://hailong.example", transport=httpx.MockTransport(handle))
    with client, pytest.raises(ServiceUnavailable) as down:
        client.submit_response("tok", answers={"overall": "satisfied"})
    assert (down.value.status, down.value.code, down.value.retry_after) == (
        503,
        "service_unavailable",
        5.0,
    )


def test_errors_without_a_json_body_still_raise_typed() -> None:
    with pytest.raises(Gone) as gone:
        raise_for_error(httpx.Response(410, text="<html>gone</html>"))
    assert (gone.value.code, gone.value.detail) == ("http_error", "<html>gone</html>")
    with pytest.raises(HailongError) as other:
        raise_for_error(httpx.Response(502, json=["not", "an", "error"]))
    assert type(other.value) is HailongError and other.value.status == 502
    assert str(other.value).startswith("502 http_error")


DAY = {"date": "2025-09-05", "working": False, "overridden": True, "note": "Nghỉ bù"}


def test_calendar_and_exports_send_the_same_requests_sync_and_async() -> None:
    """The contract's calendar and export endpoints were unreachable through the client
    (audit): each method's request, and the answer read back."""
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith((".csv", ".xlsx")):
            return httpx.Response(200, content=b"\xef\xbb\xbfM\xc3\xa3")
        if request.url.path.endswith("/overrides"):
            return httpx.Response(200, json={"data": [DAY], "count": 1})
        return httpx.Response(200, json=DAY | {"dossiers_rescored": 2, "later": "ignored"})

    friday = date(2025, 9, 5)
    with HailongClient("https://h", "k", transport=httpx.MockTransport(handle)) as c:
        answers = [
            c.calendar_days(),
            c.calendar_day(friday),
            c.set_calendar_day(friday, working=False, note="Nghỉ bù"),
            c.set_calendar_day(friday, working=True),
            c.unset_calendar_day(friday),
            c.scores_csv("2025-Q3"),
            c.scores_xlsx("2025-Q3", "79.BTH", "79", "tt-01-2018"),
        ]

    async def run() -> list[object]:
        transport = httpx.MockTransport(handle)
        async with AsyncHailongClient("https://h", "k", transport=transport) as c:
            return [
                await c.calendar_days(),
                await c.calendar_day(friday),
                await c.set_calendar_day(friday, working=False, note="Nghỉ bù"),
                await c.set_calendar_day(friday, working=True),
                await c.unset_calendar_day(friday),
                await c.scores_csv("2025-Q3"),
                await c.scores_xlsx("2025-Q3", "79.BTH", "79", "tt-01-2018"),
            ]

    assert asyncio.run(run()) == answers
    day = CalendarDay(friday, False, True, "Nghỉ bù", dossiers_rescored=2)
    assert answers[0] == [CalendarDay(friday, False, True, "Nghỉ bù")]
    assert answers[1:5] == [day] * 4
    assert answers[5:] == [b"\xef\xbb\xbfM\xc3\xa3"] * 2
    sent = [
        (r.method, r.url.path, dict(r.url.params), json.loads(r.content) if r.content else None)
        for r in requests
    ]
    overrides = "/api/v1/calendar/overrides"
    assert sent[:7] == sent[7:]
    assert sent[:7] == [
        ("GET", overrides, {}, None),
        ("GET", f"{overrides}/2025-09-05", {}, None),
        ("PUT", f"{overrides}/2025-09-05", {}, {"working": False, "note": "Nghỉ bù"}),
        ("PUT", f"{overrides}/2025-09-05", {}, {"working": True}),
        ("DELETE", f"{overrides}/2025-09-05", {}, None),
        ("GET", "/api/v1/scores.csv", {"period": "2025-Q3"}, None),
        (
            "GET",
            "/api/v1/scores.xlsx",
            {
                "period": "2025-Q3",
                "agency_code": "79.BTH",
                "parent_code": "79",
                "profile": "tt-01-2018",
            },
            None,
        ),
    ]
    with pytest.raises(TypeError):  # a datetime's isoformat() is no day: nothing is sent
        calls.calendar_day(datetime(2025, 9, 5, tzinfo=UTC))
    with pytest.raises(TypeError):
        calls.set_calendar_day(friday, 0, None)  # type: ignore[arg-type]
