"""`hailong keys create`: a kiosk key is not made here (it would work nowhere)."""

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
