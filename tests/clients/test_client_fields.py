"""What the Python client sends and keeps of the contract's fields (client audit): the
follow-up link of an answer, the agency of a revoke, a petition update's unsent flags,
and a key that cannot go in a header."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from hailong_client import Answers, Conflict, HailongClient

from tests.clients.conftest import HailongServer, hailong_server  # noqa: F401 (fixture)

HCM = timezone(timedelta(hours=7))
COMPLAINT: Answers = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "unsatisfied",
    "complaint": "Phải chờ lâu",
    "wants_reply": True,
}


def test_an_answer_keeps_the_citizens_follow_up_link(
    hailong_server: HailongServer,  # noqa: F811
) -> None:
    """Submission dropped followup_url, a kiosk's or an app's only way to give the citizen
    the link to the agency's reply."""
    hailong_server.add_agencies()
    with HailongClient(hailong_server.url, hailong_server.key("issuer")) as issuer:
        survey = issuer.issue_survey("D-FUP-1", "79.BTH", datetime(2025, 9, 15, 10, tzinfo=HCM))
    with HailongClient(hailong_server.url) as public:
        first = public.submit_response(survey.token, answers=COMPLAINT, client_submission_id="x1")
        again = public.submit_response(survey.token, answers=COMPLAINT, client_submission_id="x1")
    assert first.created and first.followup_url is not None and "/p/" in first.followup_url
    assert (again.created, again.followup_url) == (False, first.followup_url)


def test_a_revoke_can_name_the_agency_of_a_shared_dossier_code(
    hailong_server: HailongServer,  # noqa: F811
) -> None:
    """The server asks for ?agency_code= when the key acts for two agencies using the code;
    the client could not send it."""
    hailong_server.add_agencies()
    with HailongClient(hailong_server.url, hailong_server.key("issuer")) as issuer:
        resolved = datetime(2025, 9, 15, 10, tzinfo=HCM)
        issuer.issue_survey("D-SHARED", "79.BTH", resolved)
        issuer.issue_survey("D-SHARED", "79.SGN", resolved)
        with pytest.raises(Conflict, match="agency_code"):
            issuer.revoke_survey("D-SHARED")
        revoked = issuer.revoke_survey("D-SHARED", agency_code="79.BTH")
    assert (revoked.status, revoked.dossier_code) == ("revoked", "D-SHARED")


def test_a_petition_update_keeps_the_flags_it_does_not_send(
    hailong_server: HailongServer,  # noqa: F811
) -> None:
    """result_complaint and within_authority were always sent (false, true): an update
    adding handled_at put a petition outside the agency's authority back within it, and a
    complaint about the result away, moving group 5 and D."""
    hailong_server.add_agencies()
    received = datetime(2025, 9, 16, 9, tzinfo=HCM)
    with HailongClient(hailong_server.url, hailong_server.key("issuer")) as issuer:
        first = issuer.import_petition(
            "PAKN-1", "79.BTH", received, within_authority=False, result_complaint=True
        )
        updated = issuer.import_petition(
            "PAKN-1", "79.BTH", received, handled_at=received + timedelta(days=2)
        )
        fresh = issuer.import_petition("PAKN-2", "79.BTH", received)
    assert first.created and not updated.created
    assert (updated.within_authority, updated.result_complaint) == (False, True)
    assert (fresh.within_authority, fresh.result_complaint) == (True, False)  # the defaults


def test_a_key_read_with_its_newline_works_and_a_bad_one_is_refused_unquoted() -> None:
    """A key read from a file kept its newline and the header's error quoted it whole into
    logs; a key with a space or a non-ASCII letter did the same through an encoding error."""
    key = "hl_TOPSECRETKEYVALUE0123456789"
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"data": [], "count": 0})

    with HailongClient(
        "https://hailong.example", key + "\n", transport=httpx.MockTransport(handle)
    ) as c:
        c.agencies()
    assert seen == [f"Bearer {key}"]
    for bad in (f"{key} x", f"{key}ơ", ""):
        with pytest.raises(ValueError) as refused:
            HailongClient("https://hailong.example", bad)
        assert key not in str(refused.value) and key not in repr(refused.value)
