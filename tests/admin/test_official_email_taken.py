"""An official's e-mail changed to one another official holds (review): the API answered the
409 of a race ("send this request again", which never helps), and the CLI a traceback; the
address is checked before it is set, and named as taken."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.admin.test_officials_api import add, admin_key, officials
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def test_an_address_taken_by_another_official_is_named_as_taken_by_the_api(
    client: TestClient, db: DbFactory
) -> None:
    """The new address is put on the row before _ensure_address_free's SELECT, whose
    autoflush writes it first: the unique index refuses it, the unit of work is redone, and
    the answer is the generic race ("Another request changed the same record at the same
    moment. Send this request again."), which sending again never cures, instead of the
    Conflict naming the address (as POST /api/v1/officials answers)."""
    _, admin = admin_key(db)
    add(client, admin, email="lan@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    binh = add(client, admin, email="binh@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    taken = client.patch(
        f"/api/v1/officials/{binh.json()['id']}", json={"email": "Lan@tphcm.gov.vn"}, headers=admin
    )
    assert taken.status_code == 409, taken.text
    assert "lan@tphcm.gov.vn" in taken.json()["detail"], taken.json()
    assert "again" not in taken.json()["detail"], taken.json()


def test_an_address_taken_by_another_official_is_one_line_in_the_cli(
    client: TestClient, db: DbFactory, database_url: str
) -> None:
    """`hailong officials update ID --email <an address another official has>`: a long
    Rich traceback ending in IntegrityError (query-invoked autoflush), not one line."""
    _, admin = admin_key(db)
    add(client, admin, email="lan@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    binh = add(client, admin, email="binh@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    runner = cli_for(database_url)
    try:
        result = runner(
            "officials", "update", str(binh.json()["id"]), "--email", "lan@tphcm.gov.vn"
        )
    except Exception as exc:  # catch_exceptions=False: what the operator saw as a traceback
        pytest.fail(f"traceback: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    assert result.exit_code == 2, result.output
    assert "exists already" in result.output, result.output
    assert [o.email for o in officials(db)] == ["lan@tphcm.gov.vn", "binh@tphcm.gov.vn"]
