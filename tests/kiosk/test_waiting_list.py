"""GET /kiosk/api/waiting (issue 22, item 2): the counter's queue as the tablet reads it at
each (re)connect of its event stream, so that no handover of the window is dropped: every
survey handed over at this counter within HAILONG_KIOSK_PRESENT_MINUTES and not answered,
oldest first; not another counter's, not an answered one, not an older one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Invitation, utcnow
from tests.conftest import DbFactory, KeyFactory
from tests.kiosk.conftest import ANSWERS, hand_over, pair

pytestmark = pytest.mark.usefixtures("agencies")


def waiting(client: TestClient) -> list[str]:
    response = client.get("/kiosk/api/waiting")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return [card["dossier_code"] for card in response.json()["surveys"]]


def test_every_waiting_survey_of_the_window_oldest_first(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    pair(client, make_key, counter="Q01")
    assert waiting(client) == []
    first = hand_over(client, make_key, dossier_code="W-1")
    second = hand_over(client, make_key, dossier_code="W-2")
    hand_over(client, make_key, dossier_code="W-3")
    hand_over(client, make_key, dossier_code="W-ELSEWHERE", counter_code="Q02")
    hand_over(client, make_key, dossier_code="W-NO-COUNTER", counter_code=None)
    assert waiting(client) == ["W-1", "W-2", "W-3"]
    # /next still gives the newest alone (older tablets' polling).
    assert client.get("/kiosk/api/next").json()["survey"]["dossier_code"] == "W-3"

    # Answered: no longer waiting.
    body = {"survey_id": first["survey_id"], "answers": ANSWERS, "client_submission_id": "w-1"}
    assert client.post("/kiosk/api/answers", json=body).status_code == 201
    assert waiting(client) == ["W-2", "W-3"]

    # Handed over longer ago than HAILONG_KIOSK_PRESENT_MINUTES (15): no longer offered.
    with db() as session:
        aged = session.exec(
            select(Invitation).where(Invitation.public_id == second["survey_id"])
        ).one()
        aged.issued_at = utcnow() - timedelta(minutes=16)
        session.add(aged)
    assert waiting(client) == ["W-3"]


def test_the_list_needs_a_paired_tablet(client: TestClient) -> None:
    assert client.get("/kiosk/api/waiting").status_code == 401


def test_past_the_limit_the_list_is_the_newest_still_oldest_first(
    client: TestClient, make_key: KeyFactory
) -> None:
    """More than 50 waiting (a burst, or a long HAILONG_KIOSK_PRESENT_MINUTES): the list
    was the 50 oldest, which the tablet had mostly skipped, and the tablet keeps only what
    the list names: the survey of the citizen at the counter now was dropped (audit)."""
    pair(client, make_key, counter="Q01")
    for n in range(51):
        hand_over(client, make_key, dossier_code=f"WAIT-{n:02d}")
    response = client.get("/kiosk/api/waiting")
    assert response.status_code == 200, response.text
    codes = [card["dossier_code"] for card in response.json()["surveys"]]
    assert codes == [f"WAIT-{n:02d}" for n in range(1, 51)]


def test_a_dossier_handed_over_long_ago_is_never_offered_at_the_counter(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Posted late (a one-stop system catching up after an outage), a dossier handed over
    months ago was offered first on the tablet, ahead of the citizen standing there: the
    window was judged on when the survey was issued alone (kiosk walkthrough)."""
    pair(client, make_key)
    now = utcnow()

    def posted(code: str, handed_over_ago: timedelta) -> None:
        hand_over(
            client,
            make_key,
            dossier_code=code,
            received_at=(now - handed_over_ago - timedelta(days=5)).isoformat(),
            due_at=None,
            resolved_at=(now - handed_over_ago - timedelta(hours=1)).isoformat(),
            handed_over_at=(now - handed_over_ago).isoformat(),
        )

    posted("OLD-1", timedelta(days=120))
    posted("OLD-2", timedelta(hours=3))
    # A one-stop system whose clock is 40 minutes slow (within timebounds.CLOCK_SKEW, as
    # far as its times may be ahead): its handover of now is still offered.
    posted("SLOW-CLOCK", timedelta(minutes=40))
    posted("NOW-1", timedelta(minutes=3))
    waiting = client.get("/kiosk/api/waiting").json()["surveys"]
    assert [card["dossier_code"] for card in waiting] == ["SLOW-CLOCK", "NOW-1"]
    card = client.get("/kiosk/api/next").json()["survey"]
    assert card["dossier_code"] == "NOW-1"
    assert client.get(f"/kiosk/api/next?after={card['cursor']}").json() == {"survey": None}
