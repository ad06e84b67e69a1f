"""A text within its documented length that grows past its column when put in Unicode's
composed form (NFC, text_clean.composed / code_text): the limits are checked before the
normalization, so PostgreSQL refused the row (DataError, value too long) and the client
got a 500 (durability audit). Such a text is kept as sent (text_clean.composed).

U+0958 (क़) is one character that NFC writes as two; U+1D160 one that NFC writes as three.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
GROWS_TWICE = "\u0958"
GROWS_THRICE = "\U0001d160"


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A 500 as the server sends it, not as an exception raised in the test."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"procedure_name": GROWS_TWICE * 500}, id="procedure_name-500-chars"),
        pytest.param({"staff": {"returning": GROWS_THRICE * 64}}, id="staff-code-64-chars"),
        pytest.param({"counter_code": GROWS_THRICE * 64}, id="counter-code-64-chars"),
    ],
)
def test_a_handover_within_its_limits_is_never_a_500(
    client: TestClient, make_key: KeyFactory, changes: dict[str, object]
) -> None:
    issuer = make_key("issuer")
    # The agency's staff and counter known first: the new dossier is the batch writer's.
    known = client.post("/api/v1/handovers", json=handover_body(), headers=issuer)
    assert known.status_code == 201, known.text
    posted = client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="G22.39-NFC-1", **changes),
        headers=issuer,
    )
    assert posted.status_code == 201, (posted.status_code, posted.text[:300])


def test_a_petition_code_within_its_limit_is_never_a_500(
    client: TestClient, make_key: KeyFactory
) -> None:
    posted = client.post(
        "/api/v1/petitions",
        json={
            "petition_code": GROWS_THRICE * 64,
            "agency_code": "79.BTH",
            "received_at": "2025-09-10T08:30:00+07:00",
        },
        headers=make_key("issuer"),
    )
    assert posted.status_code == 201, (posted.status_code, posted.text[:300])
    assert posted.json()["petition_code"] == GROWS_THRICE * 64
