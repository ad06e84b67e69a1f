"""Schemathesis against /openapi.json with a valid key of each role (and none): no 5xx,
status codes that the document lists, and bodies that match their schemas.

Bounded: a few generated requests per operation, each sent as every role, so it fits in
CI; set HAILONG_FUZZ_EXAMPLES to go further.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import KeyFactory

EXAMPLES = int(os.environ.get("HAILONG_FUZZ_EXAMPLES", "6"))
ROLES = ("issuer", "reader", "manager", "admin", "kiosk", "auditor")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.mark.heavy
def test_api_never_500s_and_keeps_its_schema(
    app: FastAPI, agencies: None, make_key: KeyFactory
) -> None:
    keys = {role: make_key(role) for role in ROLES} | {"no key": {}}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 20
    for operation in operations:
        check_operation(operation, keys)


def check_operation(operation: Any, keys: dict[str, dict[str, str]]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case: Case[Any]) -> None:
        for role, headers in keys.items():  # the same generated request, as each role
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:
                raise AssertionError(f"{operation.label} as {role}: {exc}") from exc

    fuzz()


def test_a_malformed_body_is_named_as_the_body(client: TestClient) -> None:
    """The field was "1" (where parsing stopped): "The request is invalid: 1 the body ..."."""
    response = client.post(
        "/api/v1/responses", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == [{"field": "body", "problem": "is not valid JSON"}]


def test_answering_by_api_needs_no_key_in_the_schema(client: TestClient) -> None:
    """API.md: no key; the schema said the bearer key was required, and clients generated
    from it demanded one (audit). Either none or an admin's (for submitted_at)."""
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/responses"]["post"]
    assert {} in operation["security"]
