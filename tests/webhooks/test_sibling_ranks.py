"""score.updated for the siblings whose rank a change moved: a score carries its rank among
its siblings (API.md), while a change marks only its own agency and period changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import upsert_agency
from service.db import transaction
from service.delivery.worker import DeliveryWorker
from tests.conftest import KeyFactory, handover_body
from tests.webhooks.conftest import Receiver, drain
from tests.webhooks.test_deliveries import subscribe

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"
PERIOD = "2025-09"


def score_september(client: TestClient, issuer: dict[str, str], agency: str, d: float) -> None:
    """A perfect September and the period's D and E: K = A1 + B1 + C1 + D + E1 = d + 3."""
    perfect_september(client, issuer, agency)
    set_d(client, issuer, agency, d, e=1)


def perfect_september(client: TestClient, issuer: dict[str, str], agency: str) -> None:
    """One dossier resolved on time and answered "none, good, satisfied" in September 2025:
    A = B = C = 1."""
    body = handover_body(
        dossier_code=f"{agency}-1",
        agency_code=agency,
        received_at=f"2025-09-01T08:00:00{VN}",
        due_at=f"2025-09-20T17:00:00{VN}",
        resolved_at=f"2025-09-10T10:00:00{VN}",
        handed_over_at=None,
    )
    r = client.post("/api/v1/handovers", json=body, headers=issuer)
    assert r.status_code == 201, r.text
    answers: dict[str, Any] = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "good",
        "overall": "satisfied",
    }
    token = r.json()["survey_url"].rsplit("/", 1)[1]
    answer = {"token": token, "submitted_at": f"2025-09-12T09:00:00{VN}", "answers": answers}
    r = client.post("/api/v1/responses", json=answer, headers=issuer)
    assert r.status_code == 201, r.text


def set_d(client: TestClient, admin: dict[str, str], agency: str, d: float, **more: Any) -> None:
    inputs = {"d": d, **more}
    r = client.put(f"/api/v1/agencies/{agency}/periods/{PERIOD}/inputs", json=inputs, headers=admin)
    assert r.status_code == 200, r.text


def announced(receiver: Receiver) -> dict[str, int | None]:
    """The ranks the receiver was told for September 2025, by agency (the latest)."""
    ranks: dict[str, int | None] = {}
    for got in receiver.of_type("score.updated"):
        score = got.json["data"]
        if score["period"] == PERIOD:
            ranks[score["agency_code"]] = score["rank"]
    return ranks


def api_rank(client: TestClient, admin: dict[str, str], agency: str) -> int | None:
    r = client.get(f"/api/v1/agencies/{agency}/scores/{PERIOD}", headers=admin)
    assert r.status_code == 200, r.text
    rank: int | None = r.json()["rank"]
    return rank


def test_a_sibling_whose_rank_changes_gets_score_updated_with_its_new_rank(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """Sài Gòn's K passing Bến Thành's moves Bến Thành to rank 2: its subscribers are told,
    though only Sài Gòn's score was marked changed. Its unranked siblings (no K) and a
    change that moves no rank tell nobody else (audit)."""
    client, worker = hook_app
    admin = make_key("admin")
    subscribe(client, admin, receiver.url, events=["score.updated"])
    score_september(client, admin, "79.BTH", 17)  # K = 20
    score_september(client, admin, "79.SGN", 16)  # K = 19
    drain(worker)
    assert announced(receiver) == {"79.BTH": 1, "79.SGN": 2}

    receiver.received.clear()
    set_d(client, admin, "79.SGN", 18)  # K = 21
    assert (api_rank(client, admin, "79.BTH"), api_rank(client, admin, "79.SGN")) == (2, 1)
    drain(worker)
    # Bến Thành's own score did not change; its rank did. 79.STP and G22.39: no K, no rank.
    assert announced(receiver) == {"79.SGN": 1, "79.BTH": 2}

    receiver.received.clear()
    set_d(client, admin, "79.SGN", 17.5)  # K = 20.5: still first
    drain(worker)
    assert announced(receiver) == {"79.SGN": 1}


def test_top_level_agencies_are_ranked_among_themselves_and_told_so_too(
    hook_app: tuple[TestClient, DeliveryWorker],
    make_key: KeyFactory,
    receiver: Receiver,
) -> None:
    """Agencies without a parent are siblings as the API ranks them (a tie shares rank 1):
    one whose rank another's change moved gets score.updated (audit)."""
    client, worker = hook_app
    with transaction(worker.engine) as session:
        upsert_agency(session, "75", "Tỉnh Đồng Nai", None, actor="test")
    admin = make_key("admin")
    subscribe(client, admin, receiver.url, events=["score.updated"])
    score_september(client, admin, "79", 17)
    score_september(client, admin, "75", 17)
    drain(worker)
    assert announced(receiver) == {"79": 1, "75": 1}

    receiver.received.clear()
    set_d(client, admin, "75", 16)
    assert api_rank(client, admin, "79") == 1 and api_rank(client, admin, "75") == 2
    drain(worker)
    assert announced(receiver) == {"75": 2}  # 79 kept rank 1: nothing to tell its subscribers

    receiver.received.clear()
    set_d(client, admin, "79", 15)
    drain(worker)
    assert announced(receiver) == {"79": 2, "75": 1}


def test_a_sibling_whose_rank_a_move_changed_gets_score_updated(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """A rank also moves when an agency moves to another parent (`hailong agencies add` or
    `import`): its old siblings' ranks changed while nothing was marked, and subscribers
    kept the old rank while the API answered the new one (review)."""
    client, worker = hook_app
    admin = make_key("admin")
    subscribe(client, admin, receiver.url, events=["score.updated"])
    score_september(client, admin, "79.BTH", 17)  # K = 20: rank 1
    score_september(client, admin, "79.SGN", 16)  # K = 19: rank 2
    drain(worker)
    assert announced(receiver) == {"79.BTH": 1, "79.SGN": 2}

    receiver.received.clear()
    with transaction(worker.engine) as session:
        upsert_agency(session, "79.BTH", "Phường Bến Thành", "79.STP", actor="test")
    assert api_rank(client, admin, "79.SGN") == 1  # Bến Thành is no longer its sibling
    assert api_rank(client, admin, "79.BTH") == 1  # alone among 79.STP's children
    drain(worker)
    assert announced(receiver) == {"79.SGN": 1, "79.BTH": 1}


def test_the_family_an_agency_joins_is_told_its_new_ranks(
    hook_app: tuple[TestClient, DeliveryWorker], make_key: KeyFactory, receiver: Receiver
) -> None:
    """Đồng Nai's ward was scored before the portal subscribed (nothing announced in its
    family); moved under 79, it outranks Bến Thành and Sài Gòn, whose subscribers are
    never told: _mark_families_to_rank looked only at the family left (review)."""
    client, worker = hook_app
    admin = make_key("admin")
    with transaction(worker.engine) as session:
        upsert_agency(session, "75", "Tỉnh Đồng Nai", None, actor="test")
        upsert_agency(session, "75.BH", "Phường Biên Hòa", "75", actor="test")
    score_september(client, admin, "75.BH", 18)  # K = 21, before any subscription
    drain(worker)
    subscribe(client, admin, receiver.url, events=["score.updated"])
    score_september(client, admin, "79.BTH", 17)  # K = 20: rank 1
    score_september(client, admin, "79.SGN", 16)  # K = 19: rank 2
    drain(worker)
    assert announced(receiver) == {"79.BTH": 1, "79.SGN": 2}

    receiver.received.clear()
    with transaction(worker.engine) as session:
        upsert_agency(session, "75.BH", "Phường Biên Hòa", "79", actor="test")
    assert api_rank(client, admin, "79.BTH") == 2 and api_rank(client, admin, "79.SGN") == 3
    drain(worker)
    assert announced(receiver) == {"75.BH": 1, "79.BTH": 2, "79.SGN": 3}
