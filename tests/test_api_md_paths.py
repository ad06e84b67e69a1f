"""Every path ../shared/API.md names is served under that very spelling: generated clients
call path parameters by the names /openapi.json gives them, and the schema said `{day}`,
`{webhook_id}` and `{code}` where the contract says `{date}`, `{id}` and `{agency_code}`
(audit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

API_MD = Path(__file__).resolve().parents[2] / "shared" / "API.md"
# `GET /x`, `GET/PUT /x`, `POST /x` or a bare `/x` between backquotes, up to a query string.
NAMED_PATH = re.compile(r"`(?:[A-Z]+(?:/[A-Z]+)* )?(/[^`\s?]+)")
pytestmark = pytest.mark.usefixtures("agencies")  # API.md's example agency, G22.39
EXAMPLE_VALUES = {"code": "G22.39", "agency_code": "G22.39", "token": "no-such-token"}


def _contract_paths() -> set[str]:
    assert API_MD.is_file(), f"the contract is read from {API_MD}: check out ../shared beside"
    return {p for p in NAMED_PATH.findall(API_MD.read_text(encoding="utf-8")) if p != "/api/v1"}


def test_every_api_path_of_the_contract_is_in_the_schema_as_spelled(client: TestClient) -> None:
    schema = set(client.get("/openapi.json").json()["paths"])
    api = {p for p in _contract_paths() if p.startswith("/api/")}
    assert len(api) >= 14  # the parser still finds the contract's endpoints
    assert sorted(api - schema) == []


def test_every_page_of_the_contract_is_served(client: TestClient) -> None:
    pages = {p for p in _contract_paths() if not p.startswith("/api/")}
    assert {"/rankings", "/badge/{agency_code}.svg", "/console", "/healthz"} <= pages
    schema = set(client.get("/openapi.json").json()["paths"])
    # The schema itself is outside it; every other page is in it, the console's entry too
    # (API.md: the document must agree with the contract).
    assert sorted(pages - schema) == ["/openapi.json"]
    no_route = client.get("/no-such-page")
    assert no_route.status_code == 404
    for template in sorted(pages):
        url = re.sub(r"\{(\w+)\}", lambda m: EXAMPLE_VALUES[m.group(1)], template)
        answer = client.get(url, follow_redirects=False)
        # Its own answer (a page, a redirect to sign in, an unknown token's page), never
        # the router's "no such path".
        assert answer.status_code < 500, (template, answer.status_code)
        assert answer.text != no_route.text, template
