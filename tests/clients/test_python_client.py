"""The Python client against the real app served on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from hailong_client import (
    AsyncHailongClient,
    Contact,
    Forbidden,
    HailongClient,
    InvalidInput,
    NotFound,
    Survey,
    Unauthorized,
)

from tests.conftest import KeyFactory, LiveServer

pytestmark = pytest.mark.usefixtures("agencies")
HCM = timezone(timedelta(hours=7))
RESOLVED = datetime(2025, 9, 15, 10, 0, tzinfo=HCM)


def _raw(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_sync_client_issues_repeats_and_revokes(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    with HailongClient(live_server.url, _raw(make_key("issuer"))) as hailong:
        first = hailong.issue_survey(
            "D-1", "79.BTH", RESOLVED, counter_code="Q01", staff={"returning": "CB1"}
        )
        again = hailong.issue_survey("D-1", "79.BTH", RESOLVED, supplement_requests=1)
        assert first.created and not again.created
        assert again.survey_url == first.survey_url
        assert first.survey_url.startswith(f"{live_server.url}/s/")
        assert hailong.revoke_survey("D-1").status == "revoked"
        with pytest.raises(NotFound):
            hailong.revoke_survey("D-404")
        with pytest.raises(InvalidInput) as bad:
            hailong.issue_survey("D-2", "NOPE", RESOLVED)
        assert bad.value.code == "invalid_input"
        assert [f["field"] for f in bad.value.fields] == ["agency_code"]
        assert {a.code for a in hailong.agencies()} >= {"79", "79.BTH"}


def test_issue_survey_repeated_with_the_required_arguments_keeps_the_stored_facts(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    """(contract audit) "Safe to repeat": repeated with the required arguments only, it
    erased the due time and the returning officer the first call stored."""
    resolved = datetime(2025, 9, 19, 10, tzinfo=HCM)
    with HailongClient(live_server.url, _raw(make_key("issuer"))) as hailong:
        first = hailong.issue_survey(
            "LATE-2",
            "79.BTH",
            resolved,
            received_at=datetime(2025, 9, 1, 8, tzinfo=HCM),
            due_at=datetime(2025, 9, 5, 17, tzinfo=HCM),
            staff={"handling": "CB002", "returning": "CB003"},
        )
        repeated = hailong.issue_survey("LATE-2", "79.BTH", resolved)
    assert first.created and not repeated.created
    with live_server.session() as session:
        due, returning, late = (
            session.connection()
            .exec_driver_sql(
                "SELECT due_at, returning_staff_id, is_late FROM dossier WHERE code = 'LATE-2'"
            )
            .one()
        )
    assert due is not None and returning is not None and late


def test_sync_client_auth_errors(live_server: LiveServer, make_key: KeyFactory) -> None:
    with HailongClient(live_server.url, "hl_wrong") as hailong, pytest.raises(Unauthorized):
        hailong.agencies()
    with HailongClient(live_server.url, _raw(make_key("reader"))) as hailong:
        with pytest.raises(Forbidden) as denied:
            hailong.issue_survey("D-3", "79.BTH", RESOLVED)
        assert denied.value.status == 403


def test_naive_time_is_refused_before_sending(live_server: LiveServer) -> None:
    with HailongClient(live_server.url, "hl_any") as hailong, pytest.raises(ValueError):
        hailong.issue_survey("D-4", "79.BTH", datetime(2025, 9, 15, 10, 0))


def test_async_client(live_server: LiveServer, make_key: KeyFactory) -> None:
    async def scenario() -> tuple[bool, bool, str]:
        async with AsyncHailongClient(live_server.url, _raw(make_key("issuer"))) as hailong:
            first = await hailong.issue_survey("A-1", "79.SGN", RESOLVED)
            again = await hailong.issue_survey("A-1", "79.SGN", RESOLVED)
            revoked = await hailong.revoke_survey("A-1")
            return first.created, again.created, revoked.status

    assert asyncio.run(scenario()) == (True, False, "revoked")


def test_the_client_sends_a_contact_and_reads_the_messages(
    live_server: LiveServer, make_key: KeyFactory
) -> None:
    """The client could send no `contact` and read no `messages`: a one-stop system on it
    could not have the link sent by message (README "Invitations by message"; audit)."""
    contact: Contact = {"email": "Nguoi.Dan@Example.VN", "phone": "0912345678", "consent": True}
    with HailongClient(live_server.url, _raw(make_key("issuer"))) as hailong:
        survey = hailong.issue_survey("D-MSG", "79.BTH", RESOLVED, contact=contact)
        without = hailong.issue_survey("D-NONE", "79.BTH", RESOLVED)

    async def scenario() -> Survey:
        async with AsyncHailongClient(live_server.url, _raw(make_key("issuer"))) as hailong:
            return await hailong.issue_survey("A-MSG", "79.SGN", RESOLVED, contact=contact)

    # No channel is configured here: each is skipped, as the contact with consent makes it.
    reason = "channel_not_configured"
    skipped = [
        {"channel": channel, "kind": "invitation", "status": "skipped", "reason": reason}
        for channel in ("email", "sms", "zalo")
    ]
    assert survey.messages == skipped
    assert asyncio.run(scenario()).messages == skipped
    assert without.messages == []  # no contact: no message
