"""A ranking page is rendered once per state of the database (service/portal/memo.py) and
never shown stale: a renamed agency, or new counters, show on the very next request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import upsert_agency
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
RANKING = "/rankings?period=2025-Q3&parent_code=79"


def test_the_ranking_page_follows_every_change(
    client: TestClient, db: DbFactory, make_key: KeyFactory
) -> None:
    first = client.get(RANKING)
    assert first.status_code == 200
    assert client.get(RANKING).text == first.text  # the same page, remembered or not
    with db() as session:
        upsert_agency(session, "79.SGN", "Phường Sài Gòn Mới", "79", actor="test")
    renamed = client.get(RANKING).text
    assert "Phường Sài Gòn Mới" in renamed
    body = handover_body(dossier_code="HS-1", agency_code="79.BTH")
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    assert client.get(RANKING).text != renamed  # 79.BTH's A is known: its K range moved
    english = client.get(RANKING + "&lang=en").text
    assert 'lang="en"' in english and "Phường Sài Gòn Mới" in english
