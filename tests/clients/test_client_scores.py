"""Scores, rankings, explanations, staff scores, inputs and petitions through the client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hailong_client import (
    UNSET,
    Answers,
    Forbidden,
    Group5,
    HailongClient,
    HailongError,
    InvalidInput,
    NotFound,
)

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


def _seed(server: HailongServer, connect: Connect) -> None:
    """79.BTH: two on-time dossiers (one answered); 79.SGN: one late dossier.

    Evaluations count in the period they were received: imported (admin) to land in Q3."""
    issuer, importer = connect(server.key("issuer")), connect(server.key("admin"))
    for code, agency, resolved, staff in [
        ("BTH-1", "79.BTH", _at(15), "CB1"),
        ("BTH-2", "79.BTH", _at(16), "CB1"),
        ("SGN-1", "79.SGN", _at(25), "CB9"),
    ]:
        survey = issuer.issue_survey(
            code,
            agency,
            resolved,
            received_at=_at(10, 8),
            due_at=_at(17, 17),
            staff={"handling": staff, "returning": staff},
        )
        if code == "BTH-1":
            importer.submit_response(survey.token, answers=SATISFIED, submitted_at=_at(16))


def test_one_score_and_lists(hailong_server: HailongServer, connect: Connect) -> None:
    _seed(hailong_server, connect)
    reader = connect(hailong_server.key("reader"))
    score = reader.score("79.BTH", PERIOD)
    assert (score.agency_code, score.agency_name, score.period) == (
        "79.BTH",
        "Phường Bến Thành",
        PERIOD,
    )
    assert score.counts.resolved_dossiers == 2 and score.counts.evaluations == 1
    # Both dossiers on time (A = 1); the one answer chose "none" and "good" (B = C = 1).
    assert (score.a, score.b, score.c) == (1.0, 1.0, 1.0)
    # D from group 5: no petitions, so only the dossiers' rate is known, 2 of 2 without a
    # complaint: 6 points (rate >= 90 %), scaled to the three rates ("scale"): 18.
    assert score.group5 == Group5(
        score=18.0,
        petitions_on_time_rate=None,
        petitions_satisfied_rate=None,
        dossiers_satisfied_rate=1.0,
    )
    assert (score.d, score.d_source) == (18.0, "group5")
    # E was never entered: no K yet, only its range 1 + 1 + 1 + 18 (+ at most E's 1).
    assert (score.e, score.missing, score.k, score.group) == (None, ["e"], None, "chua_du_du_lieu")
    assert (score.k_min, score.k_max) == (21.0, 22.0)
    assert score.computed_at.tzinfo is not None

    everything = reader.scores(PERIOD)
    assert {s.agency_code for s in everything} == {"79", "79.BTH", "79.SGN", "79.STP", "G22.39"}
    assert [s.agency_code for s in reader.scores(PERIOD, agency_code="79.SGN")] == ["79.SGN"]
    children = reader.scores(PERIOD, parent_code="79")
    assert [s.agency_code for s in children] == ["79.BTH", "79.SGN", "79.STP", "G22.39"]
    listed = next(s for s in everything if s.agency_code == "79.BTH")
    assert replace(listed, computed_at=score.computed_at) == score  # computed on each read


def test_rankings_order_by_k_and_share_ranks(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _seed(hailong_server, connect)
    admin = connect(hailong_server.key("admin"))
    admin.set_inputs("79.BTH", PERIOD, d=17.5, e=1)
    admin.set_inputs("79.SGN", PERIOD, d=10, e=1)
    ranking = connect(hailong_server.key("reader")).rankings(PERIOD, parent_code="79")
    assert {s.agency_code for s in ranking} == {"79.BTH", "79.SGN", "79.STP", "G22.39"}
    ranked = [s for s in ranking if s.rank is not None]
    ranks = [s.rank or 0 for s in ranked]
    assert ranks == sorted(ranks)
    assert ranking[0].agency_code == "79.BTH" and ranking[0].rank == 1
    ks = [s.k if s.k is not None else -1.0 for s in ranked]
    assert ks == sorted(ks, reverse=True)
    scoped = connect(hailong_server.key("reader", agency="79.SGN")).rankings(PERIOD, "79")
    assert [s.agency_code for s in scoped] == ["79.SGN"]


def test_explain_lists_what_is_behind_each_component(
    hailong_server: HailongServer, connect: Connect
) -> None:
    _seed(hailong_server, connect)
    manager = connect(hailong_server.key("manager", agency="79.SGN"))
    late = manager.explain("79.SGN", PERIOD)
    assert late.score.agency_code == "79.SGN" and late.formulas
    assert late.dossiers.total == 1 and not late.dossiers.truncated
    row = late.dossiers.rows[0]
    assert (row.dossier_code, row.bucket) == ("SGN-1", "late_over")
    assert row.overdue_working_days > 0 and row.due_at is not None
    assert late.evaluations.rows == [] and late.petitions.total == 0

    admin = connect(hailong_server.key("admin"))
    cut = admin.explain("79.BTH", PERIOD, limit=1)
    assert (cut.dossiers.total, len(cut.dossiers.rows), cut.dossiers.truncated) == (2, 1, True)
    evaluation = cut.evaluations.rows[0]
    assert (evaluation.dossier_code, evaluation.overall, evaluation.unsatisfied) == (
        "BTH-1",
        "satisfied",
        False,
    )


def test_staff_scores_for_managers_only(hailong_server: HailongServer, connect: Connect) -> None:
    _seed(hailong_server, connect)
    staff = connect(hailong_server.key("manager", agency="79.BTH")).staff_scores("79.BTH", PERIOD)
    assert (staff.agency_code, staff.period) == ("79.BTH", PERIOD)
    assert staff.min_evaluations >= 1
    one = next(s for s in staff.data if s.staff_code == "CB1")
    assert one.resolved_dossiers == 2 and one.a == 1.0
    assert one.withheld == (one.evaluations < staff.min_evaluations)
    if one.withheld:
        assert (one.b, one.c) == (None, None)
    with pytest.raises(Forbidden) as denied:
        connect(hailong_server.key("reader")).staff_scores("79.BTH", PERIOD)
    assert denied.value.code == "forbidden"


def test_set_inputs_keeps_absent_fields_and_clears_nulls(
    hailong_server: HailongServer, connect: Connect
) -> None:
    # The competent authority: a manager of the city above the ward.
    manager = connect(hailong_server.key("manager", agency="79"))
    both = manager.set_inputs("79.BTH", PERIOD, d=15.5, e=1, note="Quý 3")
    assert (both.d, both.e, both.d_source) == (15.5, 1, "imported")
    only_e = manager.set_inputs("79.BTH", PERIOD, e=0)  # d absent: kept
    assert (only_e.d, only_e.e) == (15.5, 0)
    cleared = manager.set_inputs("79.BTH", PERIOD, d=None, note=UNSET)  # d null: cleared
    assert cleared.d_source != "imported" and cleared.e == 0
    with pytest.raises(InvalidInput) as bad:
        manager.set_inputs("79.BTH", PERIOD, d=-1)
    assert [f["field"] for f in bad.value.fields] == ["d"]
    ward = connect(hailong_server.key("manager", agency="79.SGN"))
    with pytest.raises(Forbidden):  # the ward's own manager does not set its own E
        ward.set_inputs("79.SGN", PERIOD, e=1)


def test_import_and_update_a_petition(hailong_server: HailongServer, connect: Connect) -> None:
    _seed(hailong_server, connect)
    issuer = connect(hailong_server.key("issuer"))
    created = issuer.import_petition(
        "PAKN-1",
        "79.BTH",
        _at(16, 9),
        dossier_code="BTH-1",
        handled_at=_at(18, 16),
        citizen_verdict="satisfied",
    )
    assert created.created and created.source == "import"
    assert (created.dossier_code, created.citizen_verdict) == ("BTH-1", "satisfied")
    assert created.within_authority and not created.result_complaint
    assert created.deadline_at is not None and created.handled_on_time
    updated = issuer.import_petition(
        "PAKN-1", "79.BTH", _at(16, 9), citizen_verdict="unsatisfied", result_complaint=True
    )
    assert not updated.created
    assert updated.handled_at == created.handled_at  # not sent, so kept
    assert (updated.citizen_verdict, updated.result_complaint) == ("unsatisfied", True)
    explained = connect(hailong_server.key("admin")).explain("79.BTH", PERIOD)
    assert [p.petition_code for p in explained.petitions.rows] == ["PAKN-1"]
    with pytest.raises(InvalidInput) as bad:
        issuer.import_petition("PAKN-2", "79.BTH", _at(16), handled_at=_at(15))
    assert [f["field"] for f in bad.value.fields] == ["handled_at"]


@pytest.mark.parametrize(
    ("call", "error", "code", "field"),
    [
        (lambda c: c.score("NOPE", PERIOD), NotFound, "not_found", None),
        (lambda c: c.scores("2025-Q5"), InvalidInput, "invalid_input", "period"),
        (lambda c: c.rankings(PERIOD, "NOPE"), NotFound, "not_found", None),
        (lambda c: c.explain("79.BTH", "Q3-2025"), InvalidInput, "invalid_input", "period"),
        (lambda c: c.explain("79.BTH", PERIOD, limit=0), InvalidInput, "invalid_input", "limit"),
    ],
)
def test_read_errors_carry_codes(
    hailong_server: HailongServer,
    connect: Connect,
    call: Callable[[HailongClient], object],
    error: type[HailongError],
    code: str,
    field: str | None,
) -> None:
    with pytest.raises(error) as raised:
        call(connect(hailong_server.key("admin")))
    assert raised.value.code == code
    assert [f["field"] for f in raised.value.fields] == ([field] if field else [])


def test_issuers_cannot_read_scores(hailong_server: HailongServer, connect: Connect) -> None:
    client: HailongClient = connect(hailong_server.key("issuer"))
    with pytest.raises(Forbidden):
        client.scores(PERIOD)
