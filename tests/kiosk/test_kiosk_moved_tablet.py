"""A tablet moved to another agency's counter with an answer still in its outbox: the
card's ticket, kept with the answer, lets that one answer in; nothing else opens."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, expect
from sqlmodel import col, select

from service.models import Agency, Dossier, Invitation, Response
from tests.conftest import ONE_BACKEND, DbFactory, KeyFactory, LiveServer
from tests.kiosk.conftest import ANSWERS, hand_over, pair, period_of_now
from tests.kiosk.test_events import EventListener
from tests.kiosk.test_kiosk_browser import delivered, paired_page
from tests.kiosk.test_kiosk_outbox_browser import (
    ANSWERS_ROUTE,
    answered_offline,
    pair_elsewhere,
    stored_dossiers,
)

pytestmark = pytest.mark.usefixtures("agencies")


def answer(client: TestClient, survey_id: str, submission: str, **extra: Any) -> Any:
    body = {"survey_id": survey_id, "answers": ANSWERS, "client_submission_id": submission}
    return client.post("/kiosk/api/answers", json={**body, **extra})


def unpair_all(client: TestClient | httpx.Client, make_key: KeyFactory) -> None:
    admin = make_key("admin")
    for device in client.get("/api/v1/kiosk/devices", headers=admin).json()["data"]:
        assert client.post(f"/api/v1/kiosk/devices/{device['id']}/unpair", headers=admin).is_success


def evaluations(client: TestClient, make_key: KeyFactory, agency: str) -> int:
    score = client.get(
        f"/api/v1/agencies/{agency}/scores/{period_of_now()}", headers=make_key("reader")
    ).json()
    count: int = score["counts"]["evaluations"]
    return count


def test_an_answer_kept_at_one_agency_is_stored_after_pairing_at_another_with_its_ticket(
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """(review) Before: the tablet thanked the citizen at UBND Phường Tân Định, was paired
    at Phường Bến Thành before its outbox could send, and the answer was refused for good
    (403) and dropped. Its ticket lets it in, for A's dossier; nothing else does."""
    pair(client, make_key, agency="G22.39", counter="Q01")
    first = hand_over(client, make_key, dossier_code="MOVED-1")
    card = client.get("/kiosk/api/next").json()["survey"]
    second = hand_over(client, make_key, dossier_code="MOVED-2")
    other = client.get(f"/kiosk/api/next?after={card['cursor']}").json()["survey"]
    assert (card["survey_id"], other["survey_id"]) == (first["survey_id"], second["survey_id"])
    assert card["ticket"] and other["ticket"] and card["ticket"] != other["ticket"]

    unpair_all(client, make_key)
    assert answer(client, card["survey_id"], "moved-1", ticket=card["ticket"]).status_code == 401
    pair(client, make_key, agency="79.BTH", counter="Q05")

    with caplog.at_level(logging.WARNING, logger="service.kiosk.router"):
        without = answer(client, card["survey_id"], "moved-1")
    assert without.status_code == 403
    assert f"kiosk answer refused: 403 forbidden (survey {card['survey_id']}" in caplog.text
    # Another survey's ticket, and forged ones (B's agency on A's signature, a made-up
    # signature, junk), open nothing.
    agency_a, signature = card["ticket"].split(".")
    with db() as session:
        agency_b = session.exec(select(Agency.id).where(Agency.code == "79.BTH")).one()
    forged = [
        other["ticket"],
        f"{agency_b}.{signature}",
        f"{agency_a}.{'A' * len(signature)}",
        card["ticket"][:-1] + ("A" if card["ticket"][-1] != "A" else "B"),
        "x" * 100,
        "ő" * 60,
    ]
    for ticket in forged:
        refused = answer(client, card["survey_id"], "moved-1", ticket=ticket)
        assert refused.status_code == 403, (ticket, refused.text)
    assert answer(client, card["survey_id"], "moved-1", ticket="x" * 101).status_code == 422
    with db() as session:
        assert session.exec(select(Response)).all() == []

    stored = answer(client, card["survey_id"], "moved-1", ticket=card["ticket"])
    assert stored.status_code == 201, stored.text
    again = answer(client, card["survey_id"], "moved-1", ticket=card["ticket"])
    assert (again.status_code, again.json()) == (200, stored.json())
    # The evaluation is A's dossier's, in A's score; B's tablet gave it no evaluation.
    with db() as session:
        [(dossier_code, agency_code)] = session.exec(
            select(Dossier.code, Agency.code)
            .join(Invitation, col(Invitation.dossier_id) == col(Dossier.id))
            .join(Response, col(Response.invitation_id) == col(Invitation.id))
            .join(Agency, col(Agency.id) == col(Dossier.agency_id))
        ).all()
    assert (dossier_code, agency_code) == ("MOVED-1", "G22.39")
    assert evaluations(client, make_key, "G22.39") == 1
    assert evaluations(client, make_key, "79.BTH") == 0
    # A ticket reads nothing: B's tablet is offered none of A's surveys.
    assert client.get("/kiosk/api/next").json() == {"survey": None}
    assert client.get("/kiosk/api/waiting").json() == {"surveys": []}
    assert client.post("/kiosk/api/lookup", json={"code": other["ticket"]}).status_code == 404


def test_every_card_a_tablet_receives_carries_its_ticket(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    """(review) The card reaches the tablet by its event stream, its waiting list, the
    polling fallback and a typed code: an answer given on any of them must survive the
    tablet's move to another agency."""
    with httpx.Client(base_url=live_server.url) as tablet:
        pair(tablet, make_key)
        listener = EventListener(tablet)
        assert listener.ready.wait(5)
        with httpx.Client(base_url=live_server.url) as issuer:
            hand_over(issuer, make_key, dossier_code="PUSHED")
        pushed = listener.wait_for("survey", timeout=10, dossier="PUSHED")
        listener.close()
    with httpx.Client(base_url=live_server.url) as tablet:
        pair(tablet, make_key)
        [waiting] = tablet.get("/kiosk/api/waiting").json()["surveys"]
        polled = tablet.get("/kiosk/api/next").json()["survey"]
        typed = hand_over(tablet, make_key, dossier_code="TYPED", counter_code=None)
        looked_up = tablet.post("/kiosk/api/lookup", json={"code": typed["short_code"]}).json()
        cards = [pushed, waiting, polled, looked_up]
        assert all(card["ticket"] for card in cards), cards
        assert pushed["ticket"] == waiting["ticket"] == polled["ticket"]
        unpair_all(tablet, make_key)
        pair(tablet, make_key, agency="79.BTH", counter="Q05")
        for n, card in enumerate([pushed, looked_up]):
            body = {"survey_id": card["survey_id"], "answers": ANSWERS, "ticket": card["ticket"]}
            sent = tablet.post("/kiosk/api/answers", json={**body, "client_submission_id": f"{n}"})
            assert sent.status_code == 201, sent.text


@pytest.mark.browser
@ONE_BACKEND
def test_the_outbox_delivers_an_answer_after_the_tablet_moved_to_another_agency(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """(review) Before: answered with the network down at UBND Phường Tân Định, the tablet
    was paired at Phường Bến Thành; its outbox then got a 403 and dropped the answer the
    citizen had been thanked for."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="MOVE-AGENCY")
    expect(page.get_by_text("MOVE-AGENCY")).to_be_visible(timeout=10_000)
    answered_offline(page)
    pair_elsewhere(page, api, make_key, agency="79.BTH", counter="Q05")
    page.unroute(ANSWERS_ROUTE)
    delivered(page)
    assert stored_dossiers(kiosk_server) == ["MOVE-AGENCY"]
