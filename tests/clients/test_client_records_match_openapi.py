"""The client's records against the live app's /openapi.json: every field the server sends
in an answer the client reads has a field in the client's record, so a field added on the
server and not in the client fails here instead of being dropped in silence (client audit:
Score's `inputs`, StaffScore's B and C counts, the explanation rows' points and petition
states were all dropped)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import hailong_client
import httpx
import pytest
from hailong_client import Explanation, PetitionRow, Score, StaffScore

from tests.clients.conftest import HailongServer

# The answers the client reads: (method, path as in /openapi.json).
CLIENT_CALLS = [
    ("post", "/api/v1/handovers"),
    ("post", "/api/v1/handovers/{dossier_code}/revoke"),
    ("post", "/api/v1/responses"),
    ("get", "/api/v1/agencies"),
    ("get", "/api/v1/agencies/{code}/scores/{period}"),
    ("get", "/api/v1/scores"),
    ("get", "/api/v1/rankings"),
    ("get", "/api/v1/agencies/{code}/scores/{period}/explain"),
    ("get", "/api/v1/agencies/{code}/staff-scores/{period}"),
    ("put", "/api/v1/agencies/{code}/periods/{period}/inputs"),
    ("post", "/api/v1/petitions"),
    ("get", "/api/v1/calendar/overrides"),
    ("get", "/api/v1/calendar/overrides/{date}"),
    ("put", "/api/v1/calendar/overrides/{date}"),
    ("delete", "/api/v1/calendar/overrides/{date}"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/enable"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("post", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry"),
]

# Each schema of those answers -> the client's record for it (a name in hailong_client).
RECORDS = {
    "HandoverPublic": "Survey",
    "MessagePublic": "Message",
    "ResponseCreated": "Submission",
    "AgencyPublic": "Agency",
    "Score": "Score",
    "InputsProvenance": "Inputs",
    "InputEntry": "InputEntry",
    "Group5Public": "Group5",
    "CountsPublic": "Counts",
    "Tt01Score": "Tt01Score",
    "Tt01IndicatorPublic": "Tt01Indicator",
    "Explanation": "Explanation",
    "DossierRows": "Rows",
    "EvaluationRows": "Rows",
    "PetitionRows": "Rows",
    "DossierRow": "DossierRow",
    "EvaluationRow": "EvaluationRow",
    "PetitionRow": "PetitionRow",
    "StaffScoreList": "StaffScores",
    "StaffScore": "StaffScore",
    "PetitionPublic": "Petition",
    "DayPublic": "CalendarDay",
    "SubscriptionPublic": "Webhook",
    "SubscriptionCreated": "WebhookCreated",
    "DeliveryPublic": "Delivery",
    "AttemptPublic": "Attempt",
}
# Lists the client returns as Python lists: nothing but the items and their count.
LISTS = {"ScoreList", "Tt01ScoreList", "AgencyList", "OverrideList", "SubscriptionList"}
LISTS |= {"DeliveryList"}
# The explanation's Score fields at its top level are the client's `Explanation.score`.
KEPT_NESTED = {"Explanation": "Score"}
# What the client adds of its own: the HTTP status as `created` (201 or 200).
CLIENT_ONLY = {"created"}


def _refs(schema: Any) -> Iterator[str]:
    """The component names a schema (or a part of one) refers to."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[1]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _answer_schemas(document: dict[str, Any]) -> set[str]:
    """Every component reachable from the 2xx answers of the client's calls."""
    components = document["components"]["schemas"]
    todo: list[str] = []
    for method, path in CLIENT_CALLS:
        operation = document["paths"][path][method]
        for status, answer in operation["responses"].items():
            if status.startswith("2"):
                todo.extend(_refs(answer.get("content", {})))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components[name].get("properties", {})))
    return seen


def _fields(record: Any) -> set[str]:
    if dataclasses.is_dataclass(record):
        return {f.name for f in dataclasses.fields(record)}
    return set(record.__required_keys__ | record.__optional_keys__)  # a TypedDict


def test_every_field_of_an_answer_has_a_field_in_the_clients_record(
    hailong_server: HailongServer,
) -> None:
    document = httpx.get(f"{hailong_server.url}/openapi.json").json()
    components = document["components"]["schemas"]
    schemas = _answer_schemas(document)
    assert {"Score", "Tt01Score", "InputEntry", "PetitionRow", "StaffScore"} <= schemas

    unmapped = sorted(schemas - set(RECORDS) - LISTS)
    assert unmapped == [], f"answers the client has no record for: {unmapped}"
    wrapped = {name: set(components[name]["properties"]) - {"data", "count"} for name in LISTS}
    assert {name: extra for name, extra in wrapped.items() if extra} == {}

    dropped: dict[str, list[str]] = {}
    unknown: dict[str, list[str]] = {}
    for schema in sorted(schemas - LISTS):
        record = getattr(hailong_client, RECORDS[schema], None)
        sent = set(components[schema]["properties"])
        if record is None:  # no record at all: every field is dropped
            dropped[f"{schema} (no hailong_client.{RECORDS[schema]})"] = sorted(sent)
            continue
        kept = _fields(record)
        if schema in KEPT_NESTED:
            kept |= set(components[KEPT_NESTED[schema]]["properties"])
        if missing := sorted(sent - kept):
            dropped[f"{schema} ({RECORDS[schema]})"] = missing
        if invented := sorted(_fields(record) - sent - CLIENT_ONLY):
            unknown[f"{schema} ({RECORDS[schema]})"] = invented
    assert dropped == {}, f"fields the server sends and the client drops: {dropped}"
    assert unknown == {}, f"client fields the server does not send: {unknown}"


# -- an older server, without the fields added since: the records still read its answers ----
AT = "2025-09-16T02:00:00Z"
OLD_SCORE: dict[str, Any] = {
    "agency_code": "79.BTH",
    "agency_name": "Phường Bến Thành",
    "period": "2025-Q3",
    "profile": "hcmc-104-2024",
    **dict.fromkeys("abcdek"),
    "group": "chua_du_du_lieu",
    "k_min": 0.0,
    "k_max": 22.0,
    "missing": ["a", "b", "c", "d", "e"],
    "rank": None,
    "d_source": None,
    "group5": dict.fromkeys(
        ["score", "petitions_on_time_rate", "petitions_satisfied_rate", "dossiers_satisfied_rate"]
    ),
    "counts": {"resolved_dossiers": 0, "evaluations": 0, "petitions": 0},
    "computed_at": AT,
}


def test_answers_of_an_older_server_still_read() -> None:
    score = Score.from_json(OLD_SCORE)  # no `inputs`
    assert (score.inputs.d, score.inputs.e) == (None, None)

    staff = StaffScore.from_json(
        {
            "staff_code": "CB1",
            "display_name": None,
            "resolved_dossiers": 1,
            "a": 1.0,
            "evaluations": 0,
            "b": None,
            "c": None,
            "withheld": False,
        }
    )
    assert (staff.b_evaluations, staff.c_evaluations) == (None, None)
    assert (staff.thin_month, staff.hidden_with_others) == (None, False)

    petition = PetitionRow.from_json(
        {
            "petition_code": "P1",
            "dossier_code": None,
            "received_at": AT,
            "deadline_at": None,
            "handled_at": None,
            "within_authority": True,
            "handled_on_time": False,
            "counts_against_group5": False,
        }
    )
    assert (petition.kind, petition.state) == ("petition", None)
    assert (petition.counts_in_group5, petition.scored) == (True, True)

    explained = Explanation.from_json(
        {
            "score": OLD_SCORE,
            "formulas": {},
            "dossiers": {"total": 0, "truncated": False, "rows": []},
            "evaluations": {
                "total": 1,
                "truncated": False,
                "rows": [
                    {
                        "dossier_code": "D1",
                        "received_at": AT,
                        "supplement_requests": "none",
                        "b_point": 1,
                        "staff_attitude": "good",
                        "c_point": 1,
                        "overall": "satisfied",
                        "unsatisfied": False,
                    }
                ],
            },
            "petitions": {"total": 0, "truncated": False, "rows": []},
        }
    )
    [row] = explained.evaluations.rows
    assert (row.b_point, row.b_points, row.c_point, row.c_points) == (1, None, 1, None)


def test_the_new_fields_are_read_as_typed_values() -> None:
    entered = {"set_by": "Sở Nội vụ", "set_at": "2025-10-05T09:00:00Z"}
    score = Score.from_json(OLD_SCORE | {"inputs": {"d": entered, "e": None}})
    assert score.inputs.d is not None and score.inputs.e is None
    assert score.inputs.d.set_by == "Sở Nội vụ"
    assert score.inputs.d.set_at == datetime(2025, 10, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(set(RECORDS.values())))
def test_every_record_is_exported(name: str) -> None:
    assert name in hailong_client.__all__
