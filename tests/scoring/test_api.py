"""Scores API: roles, scopes, validation, audit; the CLI's recompute and calendar."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.calendar.working_days import local_date
from service.models import AgencyDayCounter, AuditLog, utcnow
from service.periods import period_containing
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")
ONE_DAY = timedelta(days=1)


def _seed(client: TestClient, make_key: KeyFactory) -> None:
    for code, agency in (("X1", "79.BTH"), ("X2", "79.SGN")):
        body = handover_body(dossier_code=code, agency_code=agency)
        assert (
            client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code
            == 201
        )


@pytest.mark.parametrize("role", ["reader", "manager", "admin"])
def test_score_readers(client: TestClient, make_key: KeyFactory, role: str) -> None:
    _seed(client, make_key)
    response = client.get("/api/v1/scores", params={"period": "2025-Q3"}, headers=make_key(role))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5 and {s["agency_code"] for s in body["data"]} >= {"79.BTH", "79"}


@pytest.mark.parametrize("role", ["issuer", "kiosk"])
def test_other_roles_cannot_read_scores(
    client: TestClient, make_key: KeyFactory, role: str
) -> None:
    response = client.get("/api/v1/scores", params={"period": "2025-Q3"}, headers=make_key(role))
    assert response.status_code == 403


def test_scoped_reader_sees_only_its_tree(client: TestClient, make_key: KeyFactory) -> None:
    _seed(client, make_key)
    key = make_key("reader", agency="79.BTH")
    listed = client.get("/api/v1/scores", params={"period": "2025-Q3"}, headers=key).json()
    assert [s["agency_code"] for s in listed["data"]] == ["79.BTH"]
    assert client.get("/api/v1/agencies/79.SGN/scores/2025-Q3", headers=key).status_code == 403
    ranking = client.get(
        "/api/v1/rankings", params={"period": "2025-Q3", "parent_code": "79"}, headers=key
    ).json()
    assert [s["agency_code"] for s in ranking["data"]] == ["79.BTH"]


def test_agency_code_and_parent_code_filter_together(
    client: TestClient, make_key: KeyFactory
) -> None:
    """With both, parent_code was ignored: 79.BTH was listed as a child of 79.STP (contract
    audit). Both filter: the agency when it is the parent's child, else nothing."""
    _seed(client, make_key)
    key = make_key("reader")

    def listed(parent: str) -> list[str]:
        params = {"period": "2025-Q3", "agency_code": "79.BTH", "parent_code": parent}
        response = client.get("/api/v1/scores", params=params, headers=key)
        assert response.status_code == 200, response.text
        return [s["agency_code"] for s in response.json()["data"]]

    assert listed("79") == ["79.BTH"]
    assert listed("79.STP") == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/scores?period=2025-Q3&agency_code=79.BTH&parent_code=79",
        "/api/v1/response-rates?period=2025-Q3&agency_code=79.BTH&parent_code=79",
        "/api/v1/scores?period=2025-Q3&parent_code=79",
        "/api/v1/response-rates?period=2025-Q3&parent_code=79",
    ],
)
def test_a_wards_key_reads_its_own_figures_among_its_parents_children(
    client: TestClient, make_key: KeyFactory, path: str
) -> None:
    """(scope audit) The parent is a filter, as on the rankings: a ward's key naming the
    province it belongs to was refused 403 where /rankings answers the ward alone."""
    _seed(client, make_key)
    reader = make_key("reader", agency="79.BTH")
    ranked = client.get("/api/v1/rankings?period=2025-Q3&parent_code=79", headers=reader)
    assert [row["agency_code"] for row in ranked.json()["data"]] == ["79.BTH"]
    answer = client.get(path, headers=reader)
    assert answer.status_code == 200, answer.text
    assert [row["agency_code"] for row in answer.json()["data"]] == ["79.BTH"]
    sibling = "/api/v1/scores?period=2025-Q3&agency_code=79.SGN&parent_code=79"
    assert client.get(sibling, headers=reader).status_code == 403  # named, it is still refused


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/scores", "agency_code"),
        ("/api/v1/scores", "parent_code"),
        ("/api/v1/response-rates", "agency_code"),
        ("/api/v1/scores.csv", "parent_code"),
    ],
)
def test_an_empty_agency_filter_is_refused_not_read_as_every_agency(
    client: TestClient, make_key: KeyFactory, path: str, name: str
) -> None:
    """`?agency_code=` (a portal whose variable came out empty) listed every agency the key
    sees, a province's scores where one agency's were asked for."""
    _seed(client, make_key)
    params = {"period": "2025-Q3", name: ""}
    response = client.get(path, params=params, headers=make_key("reader"))
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == name


@pytest.mark.parametrize("period", ["2025-13", "2025-Q5", "25", "2025-08-01", "Q3-2025"])
def test_bad_periods_are_422_naming_the_field(
    client: TestClient, make_key: KeyFactory, period: str
) -> None:
    response = client.get("/api/v1/scores", params={"period": period}, headers=make_key("reader"))
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "period"


def test_unknown_agency_is_404(client: TestClient, make_key: KeyFactory) -> None:
    response = client.get("/api/v1/agencies/NOPE/scores/2025", headers=make_key("admin"))
    assert response.status_code == 404


def test_inputs_come_from_the_competent_authority_and_are_audited(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    url = "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs"
    assert client.put(url, json={"e": 1}, headers=make_key("reader")).status_code == 403
    other = make_key("manager", agency="79.SGN")
    assert client.put(url, json={"e": 1}, headers=other).status_code == 403
    # The ward's own manager reads its score but does not set its own D and E.
    own = make_key("manager", agency="79.BTH")
    refused = client.put(url, json={"d": 18, "e": 1}, headers=own)
    assert refused.status_code == 403
    assert "competent authority" in refused.json()["detail"]
    assert "manager of an agency above it" in refused.json()["detail"]
    assert client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=own).json()["e"] is None
    # Nor does an admin key limited to the ward itself (it did: audit); one above it does.
    own_admin = make_key("admin", agency="79.BTH")
    assert client.put(url, json={"d": 18, "e": 1}, headers=own_admin).status_code == 403
    assert client.put(url, json={"e": 0}, headers=make_key("admin", agency="79")).status_code == 200
    parent = make_key("manager", agency="79")  # the competent authority above the ward
    response = client.put(url, json={"d": 15.5, "e": 1, "note": "Quý 3"}, headers=parent)
    assert response.status_code == 200
    assert (response.json()["d"], response.json()["e"]) == (15.5, 1)
    assert client.put(url, json={"e": 0}, headers=make_key("admin")).json()["e"] == 0
    for bad in ({"d": 19}, {"d": -1}, {"e": 2}, {"f": 1}):
        assert client.put(url, json=bad, headers=parent).status_code == 422, bad
    with db() as session:
        # In the order written: an unordered read came back in another order on PostgreSQL.
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        audit = [a for a in rows if a.action == "inputs.set"]
    assert [a.detail["after"] for a in audit] == [
        {"d": None, "e": 0, "note": None},
        {"d": 15.5, "e": 1, "note": "Quý 3"},
        {"d": 15.5, "e": 0, "note": "Quý 3"},
    ]
    assert audit[2].detail["before"] == {"d": 15.5, "e": 1, "note": "Quý 3"}


def test_the_audit_of_a_changed_note_keeps_the_note_it_replaced(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(audit) inputs.set recorded D and E before and after, but of the note (the source
    document the competent authority cites) only the new one: a changed note lost the old."""
    url = "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs"
    admin = make_key("admin")
    first = {"d": 17.5, "e": 1, "note": "Công văn 123/SNV ngày 05/10/2025"}
    assert client.put(url, json=first, headers=admin).status_code == 200
    changed = client.put(url, json={"note": "Công văn 456/SNV (thay thế)"}, headers=admin)
    assert changed.status_code == 200
    with db() as session:
        entries = session.exec(
            select(AuditLog).where(AuditLog.action == "inputs.set").order_by(col(AuditLog.id))
        ).all()
        last = entries[-1].detail
    assert last["before"] == {"d": 17.5, "e": 1, "note": "Công văn 123/SNV ngày 05/10/2025"}
    assert last["after"] == {"d": 17.5, "e": 1, "note": "Công văn 456/SNV (thay thế)"}


def test_inputs_for_a_period_not_begun_are_refused_naming_the_period(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) E is entered by the competent authority at the period's end, D imported as the
    petition system's result for it: a period not begun yet (2099-Q4) took both, and they
    counted when it came. The current period takes them (E is entered near its end)."""
    admin = make_key("admin")
    refused = client.put(
        "/api/v1/agencies/79.BTH/periods/2099-Q4/inputs", json={"d": 18, "e": 1}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["fields"]
    assert problem["field"] == "period"
    assert "has not begun" in problem["problem"] and "2099-10-01" in problem["problem"]
    today = local_date(utcnow())
    for period in (period_containing(today, "month"), period_containing(today, "year")):
        url = f"/api/v1/agencies/79.BTH/periods/{period.key}/inputs"
        assert client.put(url, json={"e": 1}, headers=admin).status_code == 200, period
    # Next month has not begun either (on a year's last day, next month is next year's).
    following = period_containing(period_containing(today, "month").last_day + ONE_DAY, "month")
    url = f"/api/v1/agencies/79.BTH/periods/{following.key}/inputs"
    assert client.put(url, json={"e": 1}, headers=admin).status_code == 422


def test_d_and_e_are_json_numbers_and_a_negative_zero_is_zero(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) Pydantic's lax mode took "1_0" as a D of 10, true as an E of 1 and "17.5" as
    17.5: numbers nobody wrote as numbers, set on the score (the console's form refuses
    them). -0.0 was stored and shown back as -0."""
    url = "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs"
    admin = make_key("admin")
    for bad in ({"d": "1_0"}, {"d": "17.5"}, {"d": True}, {"e": True}, {"e": "1"}):
        refused = client.put(url, json=bad, headers=admin)
        assert refused.status_code == 422, bad
        assert refused.json()["fields"][0]["field"] in ("d", "e")
    zero = client.put(url, json={"d": -0.0, "e": 0}, headers=admin)
    assert zero.status_code == 200 and str(zero.json()["d"]) == "0.0"
    assert client.put(url, json={"d": 17, "e": 1}, headers=admin).json()["d"] == 17
    # (review) What a score returns can be sent back: E is 1.0 there.
    score = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=admin).json()
    assert score["e"] == 1.0
    again = client.put(url, json={"d": score["d"], "e": score["e"]}, headers=admin)
    assert again.status_code == 200, again.text
    assert client.put(url, json={"e": 0.5}, headers=admin).status_code == 422


@pytest.mark.parametrize("raw", ['{"d": NaN}', '{"d": NaN, "e": 1}', '{"d": -Infinity}'])
def test_a_d_that_is_not_a_finite_number_is_told_so(
    client: TestClient, make_key: KeyFactory, raw: str
) -> None:
    """(audit) A D sent as NaN (Python's JSON reader takes the token) was refused with "Input
    should be greater than or equal to 0": the person was told their value was negative. An
    indicator sent as NaN is told "finite number"; D is too."""
    headers = {**make_key("admin"), "Content-Type": "application/json"}
    url = "/api/v1/agencies/79.BTH/periods/2025-Q3/inputs"
    refused = client.put(url, content=raw, headers=headers)
    assert refused.status_code == 422
    [problem] = [f for f in refused.json()["fields"] if f["field"] == "d"]
    assert "finite" in problem["problem"], problem


def test_petition_import_rules(client: TestClient, make_key: KeyFactory) -> None:
    _seed(client, make_key)
    body = {
        "petition_code": "PA-1",
        "agency_code": "79.BTH",
        "dossier_code": "X1",
        "received_at": "2025-09-16T09:00:00+07:00",
    }
    created = client.post("/api/v1/petitions", json=body, headers=make_key("issuer"))
    assert created.status_code == 201
    # Default deadline: 15 working days after receipt (16/9 → 7/10, no holiday between).
    assert created.json()["deadline_at"].startswith("2025-10-07")
    handled = {**body, "handled_at": "2025-09-20T09:00:00+07:00"}
    # The ward's own manager does not import what makes its group 5 (and so D): backdating
    # a handling, or a verdict, would bend its own score (API.md: the competent authority).
    for own in (make_key("manager", agency="79.BTH"), make_key("admin", agency="79.BTH")):
        refused = client.post("/api/v1/petitions", json=handled, headers=own)
        assert refused.status_code == 403 and "competent authority" in refused.json()["detail"]
    updated = client.post(
        "/api/v1/petitions", json=handled, headers=make_key("manager", agency="79")
    )
    assert updated.status_code == 200 and updated.json()["handled_on_time"]
    for change, field in (
        ({"agency_code": "NOPE"}, "agency_code"),
        ({"dossier_code": "NOPE"}, "dossier_code"),
        ({"received_at": "2025-09-16T09:00:00"}, "received_at"),
        ({"handled_at": "2025-09-01T09:00:00+07:00"}, "handled_at"),
        ({"citizen_verdict": "meh"}, "citizen_verdict"),
    ):
        response = client.post(
            "/api/v1/petitions", json={**body, **change}, headers=make_key("admin")
        )
        assert response.status_code == 422, change
        assert field in [f["field"] for f in response.json()["fields"]]
    assert (
        client.post("/api/v1/petitions", json=body, headers=make_key("reader")).status_code == 403
    )


def test_calendar_api(client: TestClient, make_key: KeyFactory) -> None:
    reader = make_key("reader")
    national_day = client.get("/api/v1/calendar/overrides/2025-09-02", headers=reader).json()
    assert national_day == {
        "date": "2025-09-02",
        "working": False,
        "overridden": False,
        "note": None,
        "dossiers_rescored": 0,
    }
    assert (
        client.put(
            "/api/v1/calendar/overrides/2025-09-06", json={"working": True}, headers=reader
        ).status_code
        == 403
    )
    put = client.put(
        "/api/v1/calendar/overrides/2025-09-06",
        json={"working": True, "note": "Làm bù"},
        headers=make_key("admin"),
    )
    assert put.status_code == 200 and put.json()["working"]
    assert client.get("/api/v1/calendar/overrides/2025-09-06", headers=reader).json()["overridden"]
    assert client.get("/api/v1/calendar/overrides/2025-02-30", headers=reader).status_code == 422


def test_cli_recompute_rebuilds_what_was_lost(
    client: TestClient, make_key: KeyFactory, database_url: str, db: DbFactory
) -> None:
    _seed(client, make_key)
    before = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=make_key("admin")).json()
    with db() as session:
        for row in session.exec(select(AgencyDayCounter)).all():
            session.delete(row)
    emptied = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=make_key("admin")).json()
    assert emptied["a"] is None
    cli = cli_for(database_url)
    result = cli("scores", "recompute", "--period", "2025-Q3")
    assert result.exit_code == 0 and "2025-Q3" in result.output
    after = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=make_key("admin")).json()
    assert {k: v for k, v in after.items() if k != "computed_at"} == {
        k: v for k, v in before.items() if k != "computed_at"
    }
    assert cli("scores", "recompute", "--period", "2025-Q9").exit_code == 2
    assert cli("scores", "recompute").exit_code == 0


def test_cli_calendar_set(database_url: str, client: TestClient, make_key: KeyFactory) -> None:
    cli = cli_for(database_url)
    result = cli("calendar", "set", "2025-09-06", "--working", "--note", "Làm bù")
    assert result.exit_code == 0 and "working day" in result.output
    day = client.get("/api/v1/calendar/overrides/2025-09-06", headers=make_key("reader"))
    assert day.json()["working"] is True
    assert cli("calendar", "set", "06/09/2025", "--off").exit_code == 2


def test_openapi_gives_d_and_e_their_minimum_as_json_schema_does() -> None:
    """(review) The bound reached /openapi.json as "ge", which JSON Schema does not know:
    a client generated from it learnt nothing of it."""
    schema = create_app(make_settings("sqlite://")).openapi()["components"]["schemas"]
    for field in ("d", "e"):
        number = schema["InputsUpdate"]["properties"][field]["anyOf"][0]
        assert number["minimum"] == 0 and "ge" not in number, number


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [
        ("/api/v1/agencies/79.BTH/periods/2025-09/inputs", "note", 1000),
        ("/api/v1/calendar/overrides/2025-09-02", "note", 255),
    ],
)
def test_a_text_too_long_is_counted_in_characters(
    client: TestClient, make_key: KeyFactory, path: str, field: str, limit: int
) -> None:
    """(audit) A note one character too long was refused as having "at most 1000 items after
    validation": a constraint on an optional text checked after its cleaning read as a list's.
    Every optional text field says characters now."""
    body = {field: "x" * (limit + 1)} | ({"working": False} if "calendar" in path else {})
    response = client.put(path, json=body, headers=make_key("admin"))
    assert response.status_code == 422, response.text
    [problem] = response.json()["fields"]
    assert problem["field"] == field
    assert problem["problem"] == f"String should have at most {limit} characters"
