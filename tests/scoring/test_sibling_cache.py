"""Siblings' scores are remembered between reads (service/scoring/siblings.py), and never
served stale: not after a write through another app on the same database (another process,
another pool), not after a direct SQL change of a counter, not inside a transaction that
wrote, not after that transaction rolled back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from service.app import create_app
from service.db import make_engine, transaction
from service.models import Agency, PeriodInput
from service.periods import parse_period
from service.profile import profile_of
from service.scoring import siblings
from service.settings import Settings
from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
SCORE = "/api/v1/agencies/79.BTH/scores/2025-Q3"


@pytest.fixture
def other_client(settings: Settings) -> Iterator[TestClient]:
    """A second app on the same database: its own engine and connections."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_write_through_another_app_is_seen_at_once(
    client: TestClient, other_client: TestClient, make_key: KeyFactory
) -> None:
    reader, issuer = make_key("reader"), make_key("issuer")
    for _ in range(2):  # the second read is served from what the first remembered
        assert client.get(SCORE, headers=reader).json()["counts"]["resolved_dossiers"] == 0
    for n in range(3):
        body = handover_body(dossier_code=f"HS-{n}", agency_code="79.BTH")
        posted = other_client.post("/api/v1/handovers", json=body, headers=issuer)
        assert posted.status_code == 201, posted.text
        score = client.get(SCORE, headers=reader).json()
        assert score["counts"]["resolved_dossiers"] == n + 1


def test_a_counter_changed_by_sql_is_seen_at_once(
    client: TestClient, make_key: KeyFactory, engine: sa.Engine
) -> None:
    reader = make_key("reader")
    body = handover_body(dossier_code="HS-1", agency_code="79.BTH")
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    assert client.get(SCORE, headers=reader).json()["counts"]["resolved_dossiers"] == 1
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE agency_day_counter SET resolved = resolved + 4"))
    assert client.get(SCORE, headers=reader).json()["counts"]["resolved_dossiers"] == 5


def test_a_transaction_that_wrote_neither_reads_nor_fills_the_cache(
    settings: Settings, engine: sa.Engine
) -> None:
    profile = profile_of(settings)
    period = parse_period("2025-Q3")
    with transaction(engine) as session:
        ward = session.exec(select(Agency).where(Agency.code == "79.BTH")).one()
        assert ward.id is not None and ward.parent_id is not None
        ward_id, parent_id = ward.id, ward.parent_id
        assert siblings.siblings(session, parent_id, period, profile).computed[ward_id].k is None
    other = make_engine(settings)  # a second pool: another process, as far as SQLite knows
    try:
        with Session(other) as session:
            session.add(PeriodInput(agency_id=ward_id, period="2025-Q3", d=17.5, e=1, set_by="t"))
            session.flush()
            mine = siblings.siblings(session, parent_id, period, profile).computed[ward_id]
            assert mine.parts["d"] is not None  # its own write, inside the transaction
            session.rollback()
        with Session(other) as session:
            after = siblings.siblings(session, parent_id, period, profile).computed[ward_id]
            assert after.parts["d"] is None  # rolled back: never remembered
        with Session(engine) as session:
            again = siblings.siblings(session, parent_id, period, profile).computed[ward_id]
            assert again.parts["d"] is None
    finally:
        other.dispose()


def test_ranks_from_the_remembered_siblings_match_a_fresh_ranking(
    client: TestClient, make_key: KeyFactory
) -> None:
    issuer, reader, admin = make_key("issuer"), make_key("reader"), make_key("admin")
    for n, agency in enumerate(("79.BTH", "79.SGN", "79.SGN", "G22.39")):
        body = handover_body(dossier_code=f"HS-{n}", agency_code=agency)
        assert client.post("/api/v1/handovers", json=body, headers=issuer).is_success
    for agency, d in (("79.BTH", 17.0), ("79.SGN", 18.0), ("G22.39", 17.0)):
        put = client.put(
            f"/api/v1/agencies/{agency}/periods/2025-Q3/inputs",
            json={"d": d, "e": 1},
            headers=admin,
        )
        assert put.status_code == 200, put.text
    ranking = client.get("/api/v1/rankings?period=2025-Q3&parent_code=79", headers=reader)
    ranks = {s["agency_code"]: s["rank"] for s in ranking.json()["data"]}
    for agency, rank in ranks.items():
        one = client.get(f"/api/v1/agencies/{agency}/scores/2025-Q3", headers=reader).json()
        assert one["rank"] == rank
    siblings.forget()
    for agency, rank in ranks.items():
        one = client.get(f"/api/v1/agencies/{agency}/scores/2025-Q3", headers=reader).json()
        assert one["rank"] == rank
