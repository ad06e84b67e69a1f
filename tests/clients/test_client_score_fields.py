"""What the client keeps of a score, a staff score and an explanation (client audit): who
entered D and E and when, what each staff member's B and C rest on, each evaluation's
points and each petition's kind and state. Sync and async, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hailong_client import Answers, Staff

from tests.clients.conftest import Connect, HailongServer

pytestmark = pytest.mark.usefixtures("agencies")
HCM = timezone(timedelta(hours=7))
PERIOD = "2025-Q3"
SATISFIED: Answers = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 9, day, hour, 0, tzinfo=HCM)


def test_a_score_says_who_entered_d_and_e_and_when(
    hailong_server: HailongServer, connect: Connect
) -> None:
    before = datetime.now(UTC)
    admin = connect(hailong_server.key("admin"))
    untouched = admin.score("79.BTH", PERIOD)
    assert (untouched.inputs.d, untouched.inputs.e) == (None, None)

    only_e = admin.set_inputs("79.BTH", PERIOD, e=1)
    assert only_e.inputs.d is None and only_e.inputs.e is not None
    both = admin.set_inputs("79.BTH", PERIOD, d=17.0)
    assert (both.d, both.d_source) == (17.0, "imported")
    assert both.inputs.d is not None and both.inputs.e is not None
    assert both.inputs.d.set_by and both.inputs.d.set_at >= before - timedelta(seconds=5)
    assert both.inputs.d.set_at.tzinfo is not None
    assert admin.score("79.BTH", PERIOD).inputs == both.inputs  # as read later
    cleared = admin.set_inputs("79.BTH", PERIOD, d=None)
    assert cleared.inputs.d is None and cleared.inputs.e == both.inputs.e


def test_staff_scores_say_what_b_and_c_rest_on(
    hailong_server: HailongServer, connect: Connect
) -> None:
    issuer, importer = connect(hailong_server.key("issuer")), connect(hailong_server.key("admin"))
    for code in ("BTH-1", "BTH-2"):
        officer: Staff = {"handling": "CB1", "returning": "CB1"}
        survey = issuer.issue_survey(code, "79.BTH", _at(15), received_at=_at(10, 8), staff=officer)
        importer.submit_response(survey.token, answers=SATISFIED, submitted_at=_at(16))
    staff = connect(hailong_server.key("manager", agency="79.BTH")).staff_scores("79.BTH", PERIOD)
    one = next(s for s in staff.data if s.staff_code == "CB1")
    assert (one.evaluations, one.b_evaluations, one.c_evaluations) == (2, 2, 2)
    assert isinstance(one.hidden_with_others, bool)
    assert one.thin_month is None or one.withheld


def test_explain_rows_carry_points_and_petition_states(
    hailong_server: HailongServer, connect: Connect
) -> None:
    issuer, admin = connect(hailong_server.key("issuer")), connect(hailong_server.key("admin"))
    survey = issuer.issue_survey("BTH-1", "79.BTH", _at(15), received_at=_at(10, 8))
    admin.submit_response(survey.token, answers=SATISFIED, submitted_at=_at(16))
    in_a_month = datetime.now(HCM) + timedelta(days=30)
    issuer.import_petition("P-OPEN", "79.BTH", _at(16, 9), deadline_at=in_a_month)
    issuer.import_petition(
        "P-DONE", "79.BTH", _at(16, 9), deadline_at=_at(25, 17), handled_at=_at(18)
    )

    explained = admin.explain("79.BTH", PERIOD)
    [evaluation] = explained.evaluations.rows
    assert (evaluation.b_point, evaluation.c_point) == (1, 1)
    # What the points are worth: the rows' points add up to B (C) × evaluations.
    assert explained.score.b is not None and explained.score.c is not None
    assert evaluation.b_points == pytest.approx(explained.score.b)
    assert evaluation.c_points == pytest.approx(explained.score.c)
    petitions = {p.petition_code: p for p in explained.petitions.rows}
    done, still_open = petitions["P-DONE"], petitions["P-OPEN"]
    assert (done.kind, done.state, done.counts_in_group5, done.scored) == (
        "petition",
        "on_time",
        True,
        True,
    )
    # Within its deadline: neither on time nor late, so not in the rates yet.
    assert (still_open.state, still_open.scored) == ("open", False)
    assert not still_open.counts_against_group5
