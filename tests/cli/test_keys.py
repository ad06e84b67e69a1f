"""`hailong keys create`: a kiosk key is not made here (it would work nowhere), and an
expiry is a date the service takes."""

from __future__ import annotations

import pytest
from sqlmodel import select

from service.models import ApiKey
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def test_a_kiosk_key_is_refused_with_the_way_to_pair_a_tablet(
    database_url: str, db: DbFactory
) -> None:
    result = cli_for(database_url)("keys", "create", "--role", "kiosk", "--agency", "79.BTH")
    assert result.exit_code == 2, result.output
    assert "hailong kiosk pair --agency CODE --counter CODE" in result.stderr
    assert "hl_" not in result.stdout
    with db() as session:
        assert session.exec(select(ApiKey)).all() == []


def test_an_unknown_role_lists_only_the_roles_a_key_can_be_created_with(
    database_url: str, db: DbFactory
) -> None:
    """`--role bogus` listed `kiosk` among the roles, which the command then refuses."""
    result = cli_for(database_url)("keys", "create", "--role", "bogus")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: role: must be one of issuer, reader, manager, admin, auditor"
    ]
    with db() as session:
        assert session.exec(select(ApiKey)).all() == []


def test_an_auditor_key_limited_to_an_agency_is_refused(database_url: str, db: DbFactory) -> None:
    """An auditor key reads the audit log, which is read whole or not at all: one limited
    to an agency was made and could read nothing (audit), as an official could not be."""
    cli = cli_for(database_url)
    result = cli("keys", "create", "--role", "auditor", "--agency", "79.BTH")
    assert result.exit_code == 2, result.output
    assert "an auditor reads the audit log of every agency: leave the agency out" in result.output
    with db() as session:
        assert session.exec(select(ApiKey)).all() == []
    assert cli("keys", "create", "--role", "auditor").exit_code == 0


@pytest.mark.parametrize("day", ["9999-12-31", "2101-01-01", "1899-12-31"])
def test_an_expiry_outside_the_dates_the_service_takes_is_one_line(
    database_url: str, db: DbFactory, day: str
) -> None:
    """`--expires 9999-12-31` ended in an OverflowError traceback (the day after it is past
    Python's calendar); the service takes dates up to 2100-12-31 (service/timebounds.py)."""
    result = cli_for(database_url)("keys", "create", "--role", "reader", "--expires", day)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: {day} is out of range: use a date between 1900-01-01 and 2100-12-31 (Vietnam time)"
    ]
    with db() as session:
        assert session.exec(select(ApiKey)).all() == []


def test_the_last_day_the_service_takes_is_a_valid_expiry(database_url: str, db: DbFactory) -> None:
    result = cli_for(database_url)("keys", "create", "--role", "reader", "--expires", "2100-12-31")
    assert result.exit_code == 0, result.output
    with db() as session:
        assert session.exec(select(ApiKey)).one().expires_at is not None


@pytest.mark.parametrize("command", ["revoke", "rotate"])
def test_an_unknown_key_points_to_the_cli_listing(database_url: str, command: str) -> None:
    """The CLI sent its operator to `GET /api/v1/keys`, the API's listing (audit)."""
    result = cli_for(database_url)("keys", command, "99")
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert "No API key has the id 99; `hailong keys list` lists the keys" in said, said
