"""A statement that fails names no bound value in its exception, and so in no traceback a
log keeps: the values hold citizens' phone numbers and e-mail addresses (audit: a handover
whose write failed logged its contact through uvicorn's "Exception in ASGI application")."""

from __future__ import annotations

import traceback

import pytest
import sqlalchemy as sa

from service.models import Agency

pytestmark = pytest.mark.usefixtures("agencies")
SECRET = "secret.citizen@example.vn"


def test_a_failing_insert_shows_none_of_its_values(engine: sa.Engine) -> None:
    duplicate = sa.insert(Agency.__table__).values(  # type: ignore[attr-defined]
        code="79", name=SECRET, path="/79/", level=1
    )
    with pytest.raises(sa.exc.IntegrityError) as failed, engine.begin() as connection:
        connection.execute(duplicate)
    logged = "".join(traceback.format_exception(failed.value))
    assert "INSERT INTO agency" in logged  # the statement is still named
    assert SECRET not in logged
