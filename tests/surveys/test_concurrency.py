"""Fifty simultaneous submissions of one survey make exactly one response."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import func, select

from service.models import Response
from service.surveys import lookup
from tests.conftest import KeyFactory, LiveServer, handover_body
from tests.surveys.conftest import ANSWERS, issue

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/handovers"


def test_fifty_concurrent_submissions_one_response(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    issued = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    ).json()
    token = issued["survey_url"].rsplit("/", 1)[1]

    def submit(i: int) -> int:
        body = {
            "token": token,
            "answers": ANSWERS,
            "source": "phone",
            "client_submission_id": f"device-{i}",
        }
        return httpx.post(f"{live_server.url}/api/v1/responses", json=body, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(submit, range(50)))
    assert sorted(statuses) == [201] + [409] * 49, statuses
    with live_server.session() as session:
        assert session.exec(select(func.count()).select_from(Response)).one() == 1


def test_same_submission_retried_concurrently_is_one_response(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    """A kiosk that resends after a timeout must get 200, never 409, for its own answer."""
    issued = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    ).json()
    body = {
        "short_code": issued["short_code"],
        "answers": ANSWERS,
        "source": "kiosk",
        "client_submission_id": "kiosk-retry-1",
    }

    def submit(_: int) -> tuple[int, int]:
        r = httpx.post(f"{live_server.url}/api/v1/responses", json=body, timeout=30)
        return r.status_code, r.json()["response_id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert sorted(s for s, _ in results) == [200] * 19 + [201]
    assert len({rid for _, rid in results}) == 1


def test_an_old_links_answer_is_not_stored_on_the_survey_issued_again(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The office revokes a link and posts the dossier again (the same invitation row, a
    new token) between an answer's lookup and its claim: the old link's answer was stored
    on the fresh survey, and the citizen with the new link was told it was answered
    (answers audit). The claim is on the token looked up: the old link is 410 revoked."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: nothing comes between")
    issuer = make_key("issuer")
    old = issue(client, make_key)
    by_token = lookup.by_token
    reissued: dict[str, Any] = {}

    def then_revoked_and_posted_again(*args: Any) -> Any:
        found = by_token(*args)
        if not reissued:
            revoked = client.post(f"/api/v1/handovers/{old.dossier_code}/revoke", headers=issuer)
            assert revoked.status_code == 200, revoked.text
            reissued.update(client.post(URL, json=handover_body(), headers=issuer).json())
        return found

    monkeypatch.setattr(lookup, "by_token", then_revoked_and_posted_again)
    answered = client.post("/api/v1/responses", json={"token": old.token, "answers": ANSWERS})
    monkeypatch.undo()
    assert answered.status_code == 410 and answered.json()["error"] == "revoked", answered.text
    new_token = str(reissued["survey_url"]).rsplit("/", 1)[1]
    assert new_token != old.token
    fresh = client.post("/api/v1/responses", json={"token": new_token, "answers": ANSWERS})
    assert fresh.status_code == 201, fresh.text
