"""One error handler: the API's JSON error under /api (and the tablet's /kiosk/api), a page
for people everywhere else."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from psycopg.errors import UniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from service.app import create_app
from service.settings import Settings
from service.web.deps import MAX_BODY_BYTES, PublicWork
from service.web.pages import CONTENT_SECURITY_POLICY
from tests.conftest import KeyFactory, handover_body
from tests.console.conftest import ConsoleClient, raw_key
from tests.hardening.test_database_restart import database_down
from tests.surveys.conftest import ANSWERS, issue


def _is_page(response: Response) -> bool:
    return response.headers["content-type"].startswith("text/html")


def test_the_api_answers_json_in_the_documented_shape(
    client: TestClient, make_key: KeyFactory
) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "detail": "Nothing is served at /api/v1/nothing-here. Check the address.",
    }
    wrong_method = client.delete("/api/v1/agencies")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    invalid = client.get("/api/v1/scores", params={"period": "x" * 17}, headers=make_key("reader"))
    assert invalid.status_code == 422
    assert set(invalid.json()) == {"error", "detail", "fields"}


def test_every_documented_422_is_what_is_sent(client: TestClient, make_key: KeyFactory) -> None:
    """FastAPI documented some routes' 422 as its own {"detail": [...]}, which no route
    sends: a client generated from /openapi.json failed on them (contract audit). Under the
    JSON prefixes a 422 is the error body, elsewhere a page."""
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(document)
    sent = client.post("/api/v1/keys/abc/revoke", headers=make_key("admin"))
    assert sent.status_code == 422
    documented = document["paths"]["/api/v1/keys/{key_id}/revoke"]["post"]["responses"]["422"]
    schema = {**documented["content"]["application/json"]["schema"], **document}
    assert list(jsonschema_rs.Draft202012Validator(schema).iter_errors(sent.json())) == []
    page = client.get("/console/petitions/not-a-number")
    assert page.status_code == 422 and _is_page(page)
    assert "text/html" in document["paths"]["/rankings"]["get"]["responses"]["422"]["content"]


def test_json_nested_past_the_parsers_depth_is_invalid_input(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A 400 "bad_request" the contract does not have (contract audit)."""
    nested = b"[" * 100_000 + b"]" * 100_000
    headers = {**make_key("issuer"), "content-type": "application/json"}
    response = client.post("/api/v1/handovers", content=nested, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert response.json()["fields"] == [{"field": "body", "problem": "is not valid JSON"}]


def test_the_tablets_own_calls_answer_json(client: TestClient) -> None:
    response = client.get("/kiosk/api/state")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    too_long = client.get("/kiosk/api/next", params={"after": "not a number"})
    assert too_long.status_code == 422 and too_long.json()["error"] == "invalid_input"


def test_an_address_that_serves_nothing_is_a_page_in_the_asked_language(
    client: TestClient,
) -> None:
    page = client.get("/nothing-here")
    assert page.status_code == 404 and _is_page(page)
    assert "Không tìm thấy" in page.text
    assert "Nothing is served at this address" in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["cache-control"] == "no-store"
    english = client.get("/nothing-here", params={"lang": "en"})
    assert english.status_code == 404 and "Not found" in english.text


def test_an_address_that_serves_nothing_is_not_repeated_on_the_page(
    client: TestClient,
) -> None:
    """A mistyped survey link (/s/<token>/x) printed its path, the citizen's token, as the
    page's detail: one unbreakable word on a phone (audit). The API's JSON still names it."""
    token = "A" * 43
    page = client.get(f"/s/{token}/x")
    assert page.status_code == 404 and _is_page(page)
    assert token not in page.text
    # The citizen reads the page's own sentence (the API's English is for integrators).
    assert "Trang, đơn vị hoặc phản ánh này không tồn tại." in page.text
    assert "Nothing is served at this address" not in page.text
    # An official's page keeps the API's sentence below its own.
    console = client.get("/console/nothing-here")
    assert "Nothing is served at this address. Check the address." in console.text


@pytest.fixture
def lenient_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_english_form_met_by_an_unreachable_database_is_answered_in_english(
    lenient_client: TestClient, app: FastAPI, make_key: KeyFactory, agencies: None
) -> None:
    """The survey form posts its language in the hidden `lang` field (its action has no
    ?lang=): the error page took its language from the query and the console's cookie only,
    and an English form met by a 503 (or a race lost twice) was answered in Vietnamese
    (audit)."""
    survey = issue(lenient_client, make_key, language="en")
    form = lenient_client.get(survey.path)
    assert 'name="lang" value="en"' in form.text  # the citizen reads the form in English
    with database_down(app.state.engine):
        page = lenient_client.post(
            survey.path, data={**ANSWERS, "lang": "en"}, follow_redirects=False
        )
    assert page.status_code == 503
    assert '<html lang="en">' in page.text, page.text[:200]
    assert "The service is briefly unavailable" in page.text
    assert "Hệ thống tạm thời gián đoạn" not in page.text
    assert ">Send again</button>" in page.text


def test_a_console_page_met_by_an_unreachable_database_is_still_told_as_an_outage(
    lenient_client: TestClient, app: FastAPI, make_key: KeyFactory, agencies: None
) -> None:
    """(review) The database busy has its own words on pages (web/errors.py _busy); an
    official met by a database that cannot be reached must still read that the service is
    briefly unavailable, not busy with advice to ask for less."""
    console = ConsoleClient(lenient_client)
    console.sign_in(raw_key(make_key("manager", agency="79")))
    with database_down(app.state.engine):
        page = console.get("/console/a/79/report?format=docx")
    assert page.status_code == 503 and page.headers.get("Retry-After")
    assert "Hệ thống tạm thời gián đoạn" in page.text
    assert "Những gì ông/bà vừa gửi chưa được lưu. Vui lòng gửi lại sau ít giây." in page.text
    assert "cannot reach its database" in page.text
    assert "đang bận" not in page.text and "fewer agencies" not in page.text


def test_a_parameter_a_page_route_refuses_is_a_page_not_json(client: TestClient) -> None:
    # (A citizen's link too long for any token is the wrong-link page instead, a 404:
    # tests/surveys/test_pages.py.)
    page = client.get("/console/a/" + "x" * 65)
    assert page.status_code == 422 and _is_page(page)
    assert "Dữ liệu không hợp lệ" in page.text
    # What to do, in the page's language, naming the part (was only the API's English).
    said = " ".join(page.text.split())
    assert "Không dùng được giá trị của: code. Hãy kiểm tra lại địa chỉ đã gõ" in said
    english = client.get("/console/a/" + "x" * 65, params={"lang": "en"})
    assert "The value of code cannot be used. Check the address you typed" in english.text
    # A public page's own parameters (period, codes) are its problem pages, a badge's a
    # badge (tests/portal/test_public_odd_requests.py); any other is this shared page.
    petition = client.get("/console/petitions/not-a-number")
    assert petition.status_code == 422 and _is_page(petition)
    assert "Không dùng được giá trị của: petition_id." in " ".join(petition.text.split())
    # An order the ranking does not know ranks by K, however long (it was a 422 in
    # pydantic's English past 8 characters, where a short one was ignored; audit).
    for sort in ("zz", "evaluations", "x" * 100):
        rankings = client.get("/rankings", params={"sort": sort})
        assert rankings.status_code == 200, sort


def test_a_method_a_page_does_not_take_is_a_page(client: TestClient) -> None:
    page = client.put("/rankings")
    assert page.status_code == 405 and _is_page(page)
    assert "PUT is not allowed on /rankings." in page.text
    assert "Trang này không nhận yêu cầu được gửi theo cách này." in page.text
    assert page.headers["allow"] == "GET"


def test_a_conflict_left_after_the_redo_is_a_409_with_a_sentence(settings: Settings) -> None:
    """A unit of work that still fails on a unique constraint once done again (db.py,
    in_transaction): the other request's write won twice. A 409, never a 500; any other
    broken constraint stays a server error (it is ours, not the client's)."""
    app = create_app(settings)
    tries: list[int] = []

    def losing(session: Session) -> None:
        tries.append(1)
        raise IntegrityError("INSERT ...", {}, UniqueViolation("duplicate key"))

    async def always_conflicting(work: PublicWork) -> None:
        await work.run(losing)

    app.add_api_route("/api/v1/test-only/conflict", always_conflicting, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/test-only/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "detail": "Another request changed the same record at the same moment. "
        "Send this request again.",
    }
    assert len(tries) == 2  # done once more before giving up


def test_a_body_past_the_limit_is_refused_before_it_is_read_whole(client: TestClient) -> None:
    """JSON bodies were read whole without a limit: a public endpoint (an answer, a kiosk's
    lookup) could be sent gigabytes to hold in memory (answers audit). FastAPI's own limit
    refuses them, told by their length or as they arrive."""
    huge = b'{"token": "' + b"a" * MAX_BODY_BYTES + b'"}'
    headers = {"content-type": "application/json"}
    for path in ("/api/v1/responses", "/kiosk/api/lookup"):
        told = client.post(path, content=huge, headers=headers)
        assert told.status_code == 413, (path, told.status_code)
    streamed = client.post(
        "/api/v1/responses",
        content=(b"a" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 2)),
        headers=headers,
    )
    assert streamed.status_code == 413
    # Under the limit, a body is judged as before.
    small = client.post("/api/v1/responses", json={"token": "x" * 43})
    assert small.status_code == 422 and small.json()["error"] == "invalid_input"


def test_a_body_past_the_limit_is_the_apis_json_error(client: TestClient) -> None:
    """FastAPI's max_body_size answered "Content Too Large" in plain text, from outside the
    app's handlers, where API.md promises {"error", "detail"} (review)."""
    huge = b'{"token": "' + b"a" * MAX_BODY_BYTES + b'"}'
    told = client.post(
        "/api/v1/responses", content=huge, headers={"content-type": "application/json"}
    )
    assert told.status_code == 413
    assert told.headers["content-type"].startswith("application/json"), told.headers
    assert told.json()["error"] == "body_too_large" and set(told.json()) == {"error", "detail"}


def test_a_form_past_the_limit_is_a_page(client: TestClient) -> None:
    """A citizen's survey form (/s/{token}) past the limit: a page in the survey's style,
    as every other refusal outside /api (web/errors.py), not FastAPI's JSON."""
    huge = b"complaint=" + b"a" * MAX_BODY_BYTES
    told = client.post(
        "/s/" + "x" * 43,
        content=huge,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert told.status_code == 413
    assert told.headers["content-type"].startswith("text/html"), (told.headers, told.text[:200])


def test_a_streamed_export_is_not_cut_by_a_declared_body_it_never_reads(
    client: TestClient, make_key: KeyFactory, agencies: None
) -> None:
    """A streamed response (an export, the kiosk's events) listens for the client hanging up
    through `receive`: with a Content-Length past the limit the wrapper raised its 413 there,
    after the response had started, and the export came back empty with a server error
    (review). A request whose body is never read is not refused for it."""
    declared = {**make_key("reader"), "content-length": str(2 * MAX_BODY_BYTES)}
    query = {"period": "2025-Q3"}
    assert client.get("/api/v1/scores", params=query, headers=declared).status_code == 200
    streamed = client.get("/api/v1/scores.csv", params=query, headers=declared)
    plain = client.get("/api/v1/scores.csv", params=query, headers=make_key("reader"))
    assert plain.status_code == 200 and plain.text.startswith("\ufeffMã cơ quan")
    assert (streamed.status_code, streamed.text) == (200, plain.text)


def test_no_get_route_reads_a_body(client: TestClient) -> None:
    """LimitedBodies lets GET and HEAD bodies through unread and uncounted: no route may
    read one (it would be read without the limit)."""
    from fastapi.routing import APIRoute

    readers = [
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        and (route.methods or set()) & {"GET", "HEAD"}
        and route.body_field is not None
    ]
    assert readers == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_with_another_content_type_is_told_to_fix_the_header(
    client: TestClient, make_key: KeyFactory, content_type: str
) -> None:
    """A JSON object under another Content-Type (curl -d's default) was told "Input should
    be a valid dictionary or object to extract fields from": it is one, and the fix, the
    header, went unsaid (contract audit; API.md: a sentence a person can act on)."""
    answer = client.post(
        "/api/v1/handovers",
        content=json.dumps(handover_body()),
        headers={**make_key("issuer"), "Content-Type": content_type},
    )
    assert answer.status_code in (415, 422)
    body = answer.json()
    assert set(body) >= {"error", "detail"}
    assert "content-type" in body["detail"].lower(), body


JSON_HEADERS = {"Content-Type": "application/json"}
OBJECT = "must be a JSON object ({...}), not a list, a text or a number"
HALF = "must not contain half of a character's code (a lone surrogate such as \\ud800)"
DAY = "is not a day on the calendar: use YYYY-MM-DD, e.g. 2025-09-02"
MOMENT = (
    "is not a day and time on the calendar: send an ISO 8601 time with its offset, e.g. "
    "2025-09-15T10:00:00+07:00"
)
NOT_ISO = (
    "is not a time in ISO 8601: send an ISO 8601 time with its offset, e.g. "
    "2025-09-15T10:00:00+07:00"
)


@pytest.mark.parametrize(
    ("raw", "field", "problem"),
    [
        (b'{"token": "abc", "answers": []}', "answers", OBJECT),
        (b'{"token": "abc", "answers": "on_time"}', "answers", OBJECT),
        (b'{"token": "\\ud800", "answers": {}}', "token", HALF),
        (b'{"short_code": "7KQ4\\udc00", "answers": {}}', "short_code", HALF),
    ],
)
def test_a_citizens_answer_refused_says_what_to_send(
    client: TestClient, raw: bytes, field: str, problem: str
) -> None:
    """Pydantic's words reached the API's callers one level below the body: "a valid
    dictionary or object to extract fields from", "unable to parse raw data as a unicode
    string" (audit). Each says what to send instead."""
    answer = client.post("/api/v1/responses", content=raw, headers=JSON_HEADERS)
    assert answer.status_code == 422
    assert answer.json()["fields"] == [{"field": field, "problem": problem}]


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"staff": "CB001"}, "staff", OBJECT),
        ({"resolved_at": "2025-02-30T10:00:00+07:00"}, "resolved_at", MOMENT),
        ({"due_at": "2025-13-01T17:00:00+07:00"}, "due_at", MOMENT),
        # (imports audit) Written otherwise, not off the calendar: people looked for a
        # wrong date that was not there.
        ({"resolved_at": "2025-09-15T10:00:00+07"}, "resolved_at", NOT_ISO),
        ({"resolved_at": "2025-09-15T25:00:00+07:00"}, "resolved_at", NOT_ISO),
    ],
)
def test_a_handover_refused_says_what_to_send(
    client: TestClient, make_key: KeyFactory, changes: dict[str, object], field: str, problem: str
) -> None:
    body = handover_body(**changes)
    answer = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert answer.status_code == 422
    assert answer.json()["fields"] == [{"field": field, "problem": problem}]


@pytest.mark.parametrize("day", ["2025-02-30", "2025-13-01"])
def test_a_calendar_day_that_does_not_exist_is_told_so(
    client: TestClient, make_key: KeyFactory, day: str
) -> None:
    answer = client.put(
        f"/api/v1/calendar/overrides/{day}", json={"working": False}, headers=make_key("admin")
    )
    assert answer.status_code == 422
    assert answer.json()["fields"] == [{"field": "date", "problem": DAY}]


@pytest.mark.usefixtures("agencies")
def test_a_valid_key_of_another_role_is_told_403_before_its_input(
    client: TestClient, make_key: KeyFactory
) -> None:
    """A key without the route's role is a 403 whatever its body (API.md: 403 for a key
    without the right role): a reader's key posting a handover was told to fix its fields
    first (422), then, fixed, that it could not issue at all; a kiosk tablet's device key
    was told 403 (audit). The same for a body that is not JSON, and an unknown query."""
    for role, agency in (("reader", None), ("kiosk", "79.BTH")):
        key = make_key(role, agency)
        fields = client.post("/api/v1/handovers", json={"no_such_field": 1}, headers=key)
        garbled = client.post(
            "/api/v1/handovers",
            content=b"{not json",
            headers={**key, "Content-Type": "application/json"},
        )
        query = client.get("/api/v1/officials?no_such=1", headers=key)
        statuses = (fields.status_code, garbled.status_code, query.status_code)
        assert statuses == (403, 403, 403), (role, fields.text, garbled.text, query.text)
        assert fields.json()["error"] == "forbidden", fields.text
    # A key of the route's role is told its input, as before.
    right = client.post("/api/v1/handovers", json={"no_such_field": 1}, headers=make_key("issuer"))
    assert right.status_code == 422, right.text


@pytest.mark.usefixtures("agencies")
def test_an_answer_with_an_unknown_key_is_told_401_whatever_its_body(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) An answer may carry an admin key (a backdated import): an unknown one was a
    401 with a correct body and a 422 with a body that was not JSON."""
    token = issue(client, make_key, dossier_code="KEYED-ANSWER").token
    unknown = {"Authorization": "Bearer hl_no_such_key_0123456789"}
    good = client.post(
        "/api/v1/responses", json={"token": token, "answers": ANSWERS}, headers=unknown
    )
    garbled = {**unknown, "Content-Type": "application/json"}
    bad = client.post("/api/v1/responses", content=b"{not json", headers=garbled)
    assert (good.status_code, bad.status_code) == (401, 401), (good.text, bad.text)
    keyless = client.post(
        "/api/v1/responses", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert keyless.status_code == 422, keyless.text  # the token is the credential


@pytest.mark.usefixtures("agencies")
def test_an_empty_authorization_header_is_no_key_on_an_answer_either_way(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) An empty header is no key to the answer route: a typo in a keyless
    citizen's answer sent with one was told it needed a key."""
    token = issue(client, make_key, dossier_code="EMPTY-AUTH").token
    empty = {"Authorization": "", "Content-Type": "application/json"}
    bad = client.post("/api/v1/responses", content=b"{not json", headers=empty)
    assert bad.status_code == 422, bad.text
    good = client.post(
        "/api/v1/responses",
        json={"token": token, "answers": ANSWERS},
        headers={"Authorization": ""},
    )
    assert good.status_code == 201, good.text


# JSON nested past the parser's depth: FastAPI gives up on it (a 400 the app turns into 422).
NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.usefixtures("agencies")
def test_a_body_nested_past_the_parser_is_told_401_then_403_before_422(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) The key's refusal came first for malformed JSON, but not for JSON nested
    too deep to parse: 422 without a key, 422 with a reader's key on an issuer's route."""
    json_type = {"Content-Type": "application/json"}
    for path in ("/api/v1/handovers", "/api/v1/petitions"):
        keyless = client.post(path, content=NESTED, headers=json_type)
        assert keyless.status_code == 401, keyless.text
    for role in ("reader", "auditor"):
        other = client.post(
            "/api/v1/handovers", content=NESTED, headers={**make_key(role), **json_type}
        )
        assert other.status_code == 403, other.text
    issuer = client.post(
        "/api/v1/handovers", content=NESTED, headers={**make_key("issuer"), **json_type}
    )
    assert issuer.status_code == 422, issuer.text


@pytest.mark.parametrize(
    ("path", "heading"),
    [("/console/no-such-page", "Không tìm thấy"), ("/no-such-page", "Không tìm thấy")],
)
def test_an_error_page_is_titled_by_its_heading_after_error(
    client: TestClient, path: str, heading: str
) -> None:
    """Every error page was titled "Không thực hiện được" whatever its heading said; a
    screen reader says the title first (review of the accessibility audit)."""
    page = client.get(path)
    assert page.status_code == 404
    assert f"<h1>{heading}</h1>" in page.text
    assert f"<title>Lỗi: {heading}</title>" in page.text, page.text[:400]
