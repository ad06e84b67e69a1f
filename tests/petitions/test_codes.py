"""Petition codes are matched as agency, staff and counter codes are (text_clean.CodeText)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Petition
from tests.conftest import DbFactory, KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/petitions"


@pytest.mark.parametrize("sent", ["PAKN-7 ", " PAKN-7"])
def test_a_petition_code_sent_with_spaces_around_it_is_the_same_petition(
    client: TestClient, make_key: KeyFactory, db: DbFactory, sent: str
) -> None:
    """Codes are matched by their exact text: "PAKN-7 " re-sent by a connector was a
    second petition that looks the same in the console and counted twice in group 5
    (audit). It is cleaned as agency, staff and counter codes are; a blank code or one
    holding an invisible character is refused."""
    headers = make_key("admin")
    body = {"agency_code": "G22.39", "received_at": "2025-09-16T09:00:00+07:00"}
    first = client.post(URL, json={**body, "petition_code": "PAKN-7"}, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(URL, json={**body, "petition_code": sent}, headers=headers)
    assert again.status_code == 200, again.text
    for refused in (" ", "PAKN\u200b-7"):
        answer = client.post(URL, json={**body, "petition_code": refused}, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["fields"][0]["field"] == "petition_code"
    with db() as session:
        assert session.exec(select(Petition.code)).all() == ["PAKN-7"]
