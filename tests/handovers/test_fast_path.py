"""service/handovers/fast_path.py: the hot path answers plain new dossiers itself, and passes
everything else to the FastAPI route with the request body intact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import func, select
from starlette.types import Message

from service.handovers.fast_path import DECLINED, MAX_BODY, PATH, HandoverFastPath
from service.models import Dossier, Invitation
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")


class Route:
    """Stands in for the framework below the fast path: records what reaches it."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append((scope, body))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"route"})


@pytest.fixture
def started(app: FastAPI) -> Iterator[TestClient]:
    """The app with its lifespan run: the handover writer is up."""
    with TestClient(app) as client:
        yield client


def _call(
    app: FastAPI,
    body: bytes,
    headers: dict[str, str],
    chunks: int = 1,
    path: str = PATH,
    raw_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[Route, int, bytes]:
    """One request through HandoverFastPath(route); the body sent in `chunks` messages."""
    route = Route()
    fast_path = HandoverFastPath(route)
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "app": app,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + list(raw_headers),
    }
    size = -(-len(body) // chunks)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    async def request() -> None:
        await fast_path(scope, receive, send)

    anyio.run(request)
    status = sent[0]["status"]
    return route, status, b"".join(m.get("body", b"") for m in sent[1:])


def _json_headers(key: dict[str, str]) -> dict[str, str]:
    return {**key, "Content-Type": "application/json"}


def _cached_issuer(started: TestClient, make_key: KeyFactory) -> dict[str, str]:
    """An issuer key the app has seen once (the route put it in the key cache)."""
    key = make_key("issuer")
    first = started.post(PATH, json=handover_body(dossier_code="WARM-1"), headers=key)
    assert first.status_code == 201, first.text
    return key


def test_a_new_dossier_is_answered_without_the_route(
    app: FastAPI, started: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    key = _cached_issuer(started, make_key)
    body = json.dumps(handover_body(dossier_code="FAST-1")).encode()

    route, status, answer = _call(app, body, _json_headers(key), chunks=3)

    assert route.calls == []
    assert status == 201
    view = json.loads(answer)
    assert view["dossier_code"] == "FAST-1" and view["status"] == "issued"
    # Posted again, the route answers 200 with the same invitation, in the same shape.
    again = started.post(PATH, json=handover_body(dossier_code="FAST-1"), headers=key)
    assert again.status_code == 200
    assert again.json() == view
    # The link it gave opens the survey.
    assert started.get(view["survey_url"].removeprefix("http://testserver")).status_code == 200
    with db() as session:
        dossier = session.exec(select(Dossier).where(Dossier.code == "FAST-1")).one()
        invitations = session.exec(
            select(func.count()).where(Invitation.dossier_id == dossier.id)
        ).one()
    assert invitations == 1


FUTURE = "2999-01-01T00:00:00+07:00"


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("unknown key", handover_body(dossier_code="P-1"), {"Authorization": "Bearer hl_nope"}),
        ("no key", handover_body(dossier_code="P-2"), {}),
        ("invalid body", handover_body(dossier_code="P-3", supplement_requests=-1), None),
        ("unknown agency", handover_body(dossier_code="P-4", agency_code="XX"), None),
        ("future time", handover_body(dossier_code="P-5", resolved_at=FUTURE), None),
    ],
)
def test_anything_else_reaches_the_route_with_its_body(
    app: FastAPI,
    started: TestClient,
    make_key: KeyFactory,
    case: str,
    body: dict[str, object],
    headers: dict[str, str] | None,
) -> None:
    key = _cached_issuer(started, make_key)
    raw = json.dumps(body).encode()

    route, status, answer = _call(app, raw, _json_headers(key if headers is None else headers))

    assert (status, answer) == (299, b"route"), case
    [(scope, replayed)] = route.calls
    assert replayed == raw
    # Only a handover the writer saw and handed back skips the writer in the route.
    assert scope.get("state", {}).get(DECLINED, False) is (case == "unknown agency")


def test_a_key_cached_with_another_role_reaches_the_route(
    app: FastAPI, started: TestClient, make_key: KeyFactory
) -> None:
    reader = make_key("reader")
    assert started.get("/api/v1/agencies", headers=reader).status_code == 200  # now cached
    raw = json.dumps(handover_body(dossier_code="R-1")).encode()

    route, status, _ = _call(app, raw, _json_headers(reader))

    assert status == 299 and len(route.calls) == 1
    assert started.post(PATH, json=handover_body(), headers=reader).status_code == 403


def test_other_content_types_paths_and_large_bodies_reach_the_route(
    app: FastAPI, started: TestClient, make_key: KeyFactory
) -> None:
    key = _cached_issuer(started, make_key)
    raw = json.dumps(handover_body(dossier_code="C-1")).encode()
    large = json.dumps(handover_body(dossier_code="C-2", procedure_name="x" * MAX_BODY)).encode()

    for body, headers, path in [
        (raw, {**key, "Content-Type": "text/plain"}, PATH),
        (raw, {**key, "Content-Type": "application/jsonl"}, PATH),
        (raw, _json_headers(key), f"{PATH}/C-1/revoke"),
        (large, _json_headers(key), PATH),  # past MAX_BODY: the rest read after the replay
    ]:
        route, status, _ = _call(app, body, headers, chunks=32, path=path)
        assert status == 299
        assert [replayed for _, replayed in route.calls] == [body]


def test_through_the_whole_app_answers_are_counted_under_the_route(
    started: TestClient, make_key: KeyFactory
) -> None:
    key = _cached_issuer(started, make_key)
    for n in range(3):
        fast = started.post(PATH, json=handover_body(dossier_code=f"M-{n}"), headers=key)
        assert fast.status_code == 201
    invalid = started.post(PATH, json=handover_body(supplement_requests=-1), headers=key)
    assert invalid.status_code == 422
    assert [f["field"] for f in invalid.json()["fields"]] == ["supplement_requests"]

    metrics = started.get("/metrics").text
    assert 'route="/api/v1/handovers",status="201"} 4.0' in metrics
    assert 'route="/api/v1/handovers",status="422"} 1.0' in metrics
    assert "hailong_invitations_issued_total 4.0" in metrics


def test_json_with_parameters_is_answered_and_a_key_not_in_utf8_reaches_the_route(
    app: FastAPI, started: TestClient, make_key: KeyFactory
) -> None:
    key = _cached_issuer(started, make_key)
    raw = json.dumps(handover_body(dossier_code="CT-1")).encode()
    headers = {**key, "Content-Type": "Application/JSON; charset=utf-8"}
    route, status, _ = _call(app, raw, headers)
    assert (status, route.calls) == (201, [])

    # A key that is not UTF-8 (the test client would re-encode it: sent raw here) is not
    # an error of the fast path: the route reads it as Latin-1 and answers 401.
    not_utf8 = ((b"authorization", b"Bearer hl_\xff"),)
    json_only = {"Content-Type": "application/json"}
    route, status, _ = _call(app, raw, json_only, raw_headers=not_utf8)
    assert status == 299 and len(route.calls) == 1
