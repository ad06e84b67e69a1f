"""A petition re-sent unchanged (a connector's retry, a daily re-sync) is no update: no
`petition.updated` event, and its age for the retention purge stays its last change's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.models import OutboxEvent, Petition, utcnow
from service.retention.purge import purge
from tests.conftest import DbFactory, KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")


def _body(received: str) -> dict[str, object]:
    return {
        "petition_code": "PAKN-1",
        "agency_code": "79.BTH",
        "received_at": received,
        "handled_at": received,
        "citizen_verdict": "satisfied",
        "outcome": "Đã giải quyết cho ông Nguyễn Văn A, 0901234567",
    }


def test_an_unchanged_resent_petition_announces_no_update(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    issuer = make_key("issuer")
    body = _body("2025-09-16T09:00:00+07:00")
    assert client.post("/api/v1/petitions", json=body, headers=issuer).status_code == 201
    again = client.post("/api/v1/petitions", json=body, headers=issuer)
    assert again.status_code == 200, again.text
    with db() as session:
        types = list(session.exec(select(OutboxEvent.type).order_by(col(OutboxEvent.id))))
    # Nothing changed: subscribers should not hear "petition.updated" for a retry.
    assert types.count("petition.updated") == 0, types


def test_an_unchanged_resend_does_not_keep_an_old_outcome_from_the_purge(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    issuer = make_key("issuer")
    old = (utcnow() - timedelta(days=800)).isoformat()
    body = _body(old)
    assert client.post("/api/v1/petitions", json=body, headers=issuer).status_code == 201
    with db() as session:  # written 800 days ago
        petition = session.exec(select(Petition)).one()
        petition.created_at = petition.updated_at = utcnow() - timedelta(days=800)
        session.add(petition)
    # The national system re-syncs the same record, unchanged.
    assert client.post("/api/v1/petitions", json=body, headers=issuer).status_code == 200
    with db() as session:
        result = purge(session, 730, actor="test")
    with db() as session:
        outcome = session.exec(select(Petition.outcome)).one()
    assert (result.petition_texts, outcome) == (1, None)
