"""GET /api/v1/response-rates: who may read it, what a scoped key sees, and the 422s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DbFactory, KeyFactory
from tests.scoring.reach_seed import PERIOD, WARD, seed_reach

pytestmark = pytest.mark.usefixtures("agencies")
URL = "/api/v1/response-rates"


@pytest.mark.parametrize("role", ["reader", "manager", "admin"])
def test_readers_get_counter_rows_with_the_flag(
    client: TestClient, make_key: KeyFactory, db: DbFactory, role: str
) -> None:
    seed_reach(client, make_key, db)
    params = {"period": PERIOD, "agency_code": WARD, "by": "counter"}
    response = client.get(URL, params=params, headers=make_key(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == "counter" and body["count"] == 1 and body["staff_role"] == "returning"
    ward = body["data"][0]
    assert ward["agency_code"] == WARD and ward["total"]["issued"] == 50
    assert ward["total"]["rate"] == 0.48
    flagged = [r["key"] for r in ward["rows"] if r["flagged"]]
    assert flagged == ["Q02"]


def test_default_is_per_agency_and_parent_code_lists_children(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    seed_reach(client, make_key, db)
    reader = make_key("reader")
    body = client.get(URL, params={"period": PERIOD, "parent_code": "79"}, headers=reader).json()
    assert body["by"] == "agency"
    totals = {a["agency_code"]: a["total"]["issued"] for a in body["data"]}
    assert totals == {"79.BTH": 50, "79.SGN": 0, "79.STP": 0, "G22.39": 0}
    assert all(a["rows"] == [] for a in body["data"])
    tree = client.get(
        URL, params={"period": PERIOD, "agency_code": "79", "subtree": "true"}, headers=reader
    ).json()
    assert tree["subtree"] and tree["data"][0]["total"]["answered"] == 24


@pytest.mark.parametrize("role", ["issuer", "kiosk"])
def test_other_roles_are_refused(client: TestClient, make_key: KeyFactory, role: str) -> None:
    response = client.get(URL, params={"period": PERIOD}, headers=make_key(role))
    assert response.status_code == 403
    assert client.get(URL, params={"period": PERIOD}).status_code == 401


def test_a_scoped_key_sees_only_its_tree(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    seed_reach(client, make_key, db)
    key = make_key("manager", agency=WARD)
    listed = client.get(URL, params={"period": PERIOD}, headers=key).json()
    assert [a["agency_code"] for a in listed["data"]] == [WARD]
    other = client.get(URL, params={"period": PERIOD, "agency_code": "79.SGN"}, headers=key)
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    # The parent is a filter, as on the rankings: its children the key can see (dfcfe4d).
    parent = client.get(URL, params={"period": PERIOD, "parent_code": "79"}, headers=key)
    assert parent.status_code == 200, parent.text
    assert [a["agency_code"] for a in parent.json()["data"]] == [WARD]
    unknown = client.get(URL, params={"period": PERIOD, "agency_code": "NOPE"}, headers=key)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": PERIOD, "by": "desk"}, "by"),
        ({"period": "2025-Q5"}, "period"),
        ({"period": "Q3-2025", "by": "staff"}, "period"),
    ],
)
def test_bad_input_is_422_with_a_sentence(
    client: TestClient, make_key: KeyFactory, params: dict[str, str], field: str
) -> None:
    response = client.get(URL, params=params, headers=make_key("reader"))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input" and body["fields"][0]["field"] == field
    assert field in body["detail"] and len(body["detail"].split()) > 4


def test_openapi_documents_the_typed_response(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ReachList")
    by = next(p for p in operation["parameters"] if p["name"] == "by")
    assert set(by["schema"]["enum"]) == {"agency", "counter", "staff", "channel", "message_channel"}
    assert "delivered" in spec["components"]["schemas"]["ReachCounts"]["properties"]
