"""API keys: created by the CLI, stored as hashes, usable at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.auth.keys import hash_key
from service.models import ApiKey, AuditLog
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def test_keys_create_prints_the_key_alone_on_the_last_line_and_stores_a_hash(
    database_url: str, client: TestClient, db: DbFactory
) -> None:
    result = cli_for(database_url)("keys", "create", "--role", "reader", "--name", "portal")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("hl_") and len(key) > 40 and " " not in key
    with db() as session:
        stored = session.exec(select(ApiKey)).one()
        audit = session.exec(select(AuditLog)).all()
    assert stored.key_hash == hash_key(key) and key not in stored.model_dump_json()
    assert (stored.role, stored.name, stored.agency_id) == ("reader", "portal", None)
    assert [a.action for a in audit if a.action.startswith("key.")] == ["key.create"]
    response = client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


def test_keys_create_scoped_to_an_agency(database_url: str, db: DbFactory) -> None:
    result = cli_for(database_url)("keys", "create", "--role", "manager", "--agency", "79.BTH")
    assert result.exit_code == 0
    with db() as session:
        assert session.exec(select(ApiKey)).one().agency_id is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--role", "superuser"), "role"),
        (("--role", "reader", "--agency", "NOPE"), "NOPE"),
    ],
)
def test_keys_create_refuses_bad_input(
    database_url: str, args: tuple[str, ...], message: str
) -> None:
    result = cli_for(database_url)("keys", "create", *args)
    assert result.exit_code == 2
    assert message in result.output
