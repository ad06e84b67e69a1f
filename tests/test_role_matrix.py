"""Every API route × every role: who gets in, who gets 403, and no key gets 401.

The expected matrix is written out here (not derived from the code), so a route that
loosens or tightens its roles by accident fails this test. A new route fails it too, until
it is added below.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")
ROLES = ("issuer", "reader", "manager", "admin", "kiosk", "auditor")
# Every key but a kiosk tablet's, which is for /kiosk only (it read the agency list and
# the calendar: audit).
ANY = set(ROLES) - {"kiosk"}
READ = {"reader", "manager", "admin"}
PERIOD = "2025-Q3"

# (method, path template, allowed roles, body)
MATRIX: list[tuple[str, str, set[str], Any]] = [
    ("POST", "/api/v1/handovers", {"issuer", "admin"}, handover_body()),
    ("POST", "/api/v1/handovers/{dossier_code}/revoke", {"issuer", "admin"}, None),
    ("GET", "/api/v1/agencies", ANY, None),
    ("GET", "/api/v1/scores?period=2025-Q3", READ, None),
    ("GET", "/api/v1/scores.csv?period=2025-Q3", READ, None),
    ("GET", "/api/v1/scores.xlsx?period=2025-Q3", READ, None),
    ("GET", "/api/v1/agencies/{code}/scores/{period}", READ, None),
    ("GET", "/api/v1/agencies/{code}/scores/{period}/explain", READ, None),
    ("GET", "/api/v1/rankings?period=2025-Q3&parent_code=79", READ, None),
    ("GET", "/api/v1/agencies/{code}/staff-scores/{period}", {"manager", "admin"}, None),
    ("GET", "/api/v1/reports/{parent_code}?period=2025-Q3", {"manager", "admin"}, None),
    ("GET", "/api/v1/response-rates?period=2025-Q3&by=counter", READ, None),
    ("GET", "/api/v1/response-rates.csv?period=2025-Q3", READ, None),
    ("GET", "/api/v1/response-rates.xlsx?period=2025-Q3", READ, None),
    ("GET", "/api/v1/evaluations", READ, None),
    ("GET", "/api/v1/evaluations.csv", READ, None),
    ("GET", "/api/v1/evaluations.xlsx", READ, None),
    ("GET", "/api/v1/petitions.csv", READ, None),
    ("GET", "/api/v1/petitions.xlsx", READ, None),
    ("PUT", "/api/v1/agencies/{code}/periods/{period}/inputs", {"manager", "admin"}, {"e": 1}),
    (
        "POST",
        "/api/v1/petitions",
        {"issuer", "manager", "admin"},
        {
            "petition_code": "PM-1",
            "agency_code": "G22.39",
            "received_at": "2025-09-16T09:00:00+07:00",
        },
    ),
    ("GET", "/api/v1/calendar/overrides/{date}", ANY, None),
    ("PUT", "/api/v1/calendar/overrides/{date}", {"admin", "manager"}, {"working": True}),
    ("DELETE", "/api/v1/calendar/overrides/{date}", {"admin", "manager"}, None),
    ("GET", "/api/v1/calendar/overrides", ANY, None),
    ("GET", "/api/v1/webhooks", {"reader", "admin"}, None),
    (
        "POST",
        "/api/v1/webhooks",
        {"reader", "admin"},
        {"url": "http://127.0.0.1:9/hook", "events": ["score.updated"]},
    ),
    (
        "POST",
        "/api/v1/kiosk/pairings",
        {"manager", "admin"},
        {"agency_code": "G22.39", "counter_code": "Q01"},
    ),
    ("GET", "/api/v1/kiosk/devices", {"manager", "admin"}, None),
    ("GET", "/api/v1/keys", {"admin"}, None),
    # Key 1 is the admin key that made the handover; each role's own key is a later one.
    ("POST", "/api/v1/keys/1/revoke", {"admin"}, None),
    ("POST", "/api/v1/keys/1/rotate", {"admin"}, None),
    ("GET", "/api/v1/officials", {"admin"}, None),
    ("POST", "/api/v1/officials", {"admin"}, {"email": "a@tphcm.gov.vn", "role": "manager"}),
    ("GET", "/api/v1/alerts", READ, None),
    ("GET", "/api/v1/agencies/{code}/alert-rules", {"manager", "admin"}, None),
    (
        "PUT",
        "/api/v1/agencies/{code}/alert-rules",
        {"manager", "admin"},
        {"petition_deadline": {"enabled": False}},
    ),
    ("GET", "/api/v1/audit", {"admin", "auditor"}, None),
    ("GET", "/api/v1/audit.csv", {"admin", "auditor"}, None),
]
# The survey token is the credential (API.md): no key needed, tested in tests/surveys.
KEYLESS_OK = {("POST", "/api/v1/responses"), ("GET", "/api/v1/surveys/{token}/form")}


def _url(template: str, dossier_code: str) -> str:
    return template.format(
        dossier_code=dossier_code,
        code="G22.39",
        parent_code="79",
        period=PERIOD,
        date="2025-09-06",
    )


def test_every_api_route_is_in_the_matrix(client: TestClient) -> None:
    documented = {
        (m.upper(), path)
        for path, item in client.get("/openapi.json").json()["paths"].items()
        for m in item
        if path.startswith("/api/v1")
    }
    covered = {(m, t.split("?")[0]) for m, t, _, _ in MATRIX} | KEYLESS_OK
    # Routes on one subscription, device, key or official need one to exist: their roles are
    # tested in tests/webhooks, tests/kiosk and tests/admin (keys also above, on key 1).
    item_routes = {
        r
        for r in documented
        if r[1].startswith(
            (
                "/api/v1/webhooks/",
                "/api/v1/kiosk/devices/",
                "/api/v1/keys/",
                "/api/v1/officials/",
                # One dossier's TT 01/2018 score needs that profile beside the K score:
                # its roles and scope are tested in tests/scoring/test_tt01.py.
                "/api/v1/dossiers/",
            )
        )
    }
    assert documented - covered - item_routes == set()


@pytest.mark.parametrize(
    ("method", "template", "allowed", "body"), MATRIX, ids=[f"{m} {t}" for m, t, _, _ in MATRIX]
)
def test_role_matrix(
    client: TestClient,
    make_key: KeyFactory,
    method: str,
    template: str,
    allowed: set[str],
    body: Any,
) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhook_allow_networks": "127.0.0.0/8"}
    )
    issued = client.post(
        "/api/v1/handovers", json=handover_body(dossier_code="M-1"), headers=make_key("admin")
    )
    assert issued.status_code == 201
    url = _url(template, "M-1")
    nobody = client.request(method, url, json=body)
    assert nobody.status_code == 401, (method, url, nobody.text)
    # Without a usable key, a body or query it would refuse is still a 401: it was told to
    # fix its fields first, then that it had no key (contract audit).
    broken = {"no_such_field": 1} if body is not None else None
    odd = url + ("&" if "?" in url else "?") + "period=2025-Q9"
    # Nor with a key that is not one, or a body that is not JSON at all: both were told to
    # fix the body first (contract audit).
    unknown = {"Authorization": "Bearer hl_no_such_key_0123456789"}
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, unknown):
        refused = client.request(method, odd, json=broken, headers=headers)
        assert refused.status_code == 401, (method, url, headers, refused.text)
        assert refused.headers["www-authenticate"] == "Bearer"
        if body is not None:
            garbled = {**headers, "Content-Type": "application/json"}
            refused = client.request(method, url, content=b"{not json", headers=garbled)
            assert refused.status_code == 401, (method, url, headers, refused.text)
    for role in ROLES:
        response = client.request(method, url, json=body, headers=make_key(role))
        if role in allowed:
            assert response.status_code < 400, (role, method, url, response.text)
        else:
            assert response.status_code == 403, (role, method, url, response.text)
            assert response.json()["error"] == "forbidden"


def test_scoped_keys_cannot_reach_other_agencies(client: TestClient, make_key: KeyFactory) -> None:
    client.post(
        "/api/v1/handovers",
        json=handover_body(dossier_code="S-1", agency_code="79.SGN"),
        headers=make_key("admin"),
    )
    checks = [
        ("reader", "GET", f"/api/v1/agencies/79.SGN/scores/{PERIOD}", None),
        ("reader", "GET", f"/api/v1/agencies/79.SGN/scores/{PERIOD}/explain", None),
        ("manager", "GET", f"/api/v1/agencies/79.SGN/staff-scores/{PERIOD}", None),
        ("manager", "PUT", f"/api/v1/agencies/79.SGN/periods/{PERIOD}/inputs", {"e": 1}),
        ("issuer", "POST", "/api/v1/handovers/S-1/revoke", None),
        (
            "issuer",
            "POST",
            "/api/v1/handovers",
            handover_body(dossier_code="S-2", agency_code="79.SGN"),
        ),
        (
            "issuer",
            "POST",
            "/api/v1/petitions",
            {
                "petition_code": "PX",
                "agency_code": "79.SGN",
                "received_at": "2025-09-16T09:00:00+07:00",
            },
        ),
        ("reader", "GET", "/api/v1/scores.csv?period=2025-Q3&agency_code=79.SGN", None),
        ("reader", "GET", "/api/v1/alerts?agency_code=79.SGN", None),
        ("manager", "GET", "/api/v1/agencies/79.SGN/alert-rules", None),
        ("manager", "PUT", "/api/v1/agencies/79.SGN/alert-rules", {"k_below_threshold": None}),
        ("reader", "GET", "/api/v1/evaluations?agency_code=79.SGN", None),
        ("reader", "GET", "/api/v1/evaluations.csv?agency_code=79.SGN", None),
    ]
    for role, method, url, body in checks:
        response = client.request(method, url, json=body, headers=make_key(role, agency="79.BTH"))
        # A dossier outside the key's scope is "not found" to it (revoke): the answer does
        # not reveal that it exists elsewhere.
        expected = 404 if url.endswith("/revoke") else 403
        assert response.status_code == expected, (role, method, url, response.text)
    # A parent is a filter (as on the rankings): the province's children it can see.
    export = client.get(
        "/api/v1/scores.csv?period=2025-Q3&parent_code=79", headers=make_key("reader", "79.BTH")
    )
    assert export.status_code == 200 and "79.BTH" in export.text, export.text
    assert "79.SGN" not in export.text and "Sài Gòn" not in export.text
