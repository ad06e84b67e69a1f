"""Petition codes are matched as agency, staff and counter codes are (text_clean.CodeText)."""

from __future__ import annotations

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.migrations import alembic_config
from service.models import Agency, Petition
from service.models.alerts import Alert
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


def test_the_upgrade_keeps_codes_stored_with_spaces_as_their_petitions(
    client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    """Stored before codes were cleaned, "PAKN-8 " would have become a second petition at
    its next update. Migration 0027 rewrites such codes as they are now matched, where the
    agency has no petition of that code already, and their deadline alerts follow them."""
    headers = make_key("admin")
    body = {"agency_code": "G22.39", "received_at": "2025-09-16T09:00:00+07:00"}
    assert client.post(URL, json={**body, "petition_code": "KEEP"}, headers=headers).is_success
    with db() as session:
        agency = session.exec(select(Agency).where(col(Agency.code) == "G22.39")).one()
        assert agency.id is not None
        template = session.exec(select(Petition)).one()
        fields = template.model_dump(exclude={"id", "code", "followup_token_hash"})
        for code in ("PAKN-8 ", "\u200bPAKN-9", "PAKN-10", "PAKN-10\u00a0", "P\u3000Q"):
            session.add(Petition(**fields, code=code))
        session.add(
            Alert(
                agency_id=agency.id, rule="petition_deadline", subject="PAKN-8 ", period="2025-Q3"
            )
        )
    with db() as session:
        before = {p.code: p.id for p in session.exec(select(Petition)).all()}

    config = alembic_config(database_url)
    config.attributes["quiet_logging"] = True
    command.downgrade(config, "0026")
    command.upgrade(config, "head")

    with db() as session:
        after = {p.id: p.code for p in session.exec(select(Petition)).all()}
        alert = session.exec(select(Alert)).one()
    assert after[before["PAKN-8 "]] == "PAKN-8" and after[before["\u200bPAKN-9"]] == "PAKN-9"
    # "PAKN-10" exists: both stay (merging two petitions is a person's call); no code can
    # name "P\u3000Q" (another space inside): left as it is.
    assert after[before["PAKN-10\u00a0"]] == "PAKN-10\u00a0"
    assert after[before["P\u3000Q"]] == "P\u3000Q"
    assert alert.subject == "PAKN-8"
    # And the connector's next update, with or without the space, reaches the stored row.
    update = {**body, "petition_code": "PAKN-8 ", "handled_at": "2025-09-20T09:00:00+07:00"}
    assert client.post(URL, json=update, headers=headers).status_code == 200
    with db() as session:
        assert len(session.exec(select(Petition).where(col(Petition.code) == "PAKN-8")).all()) == 1
