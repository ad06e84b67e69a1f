"""The provider's token endpoint unreachable when an official comes back from signing in
(operations audit). README: "The provider unreachable or an official cancelling at the
provider is logged, not audited." A token endpoint refusing the connection was taken for
a refused token: audited as `console.sign_in_refused` by `oidc:unknown` (the record of
someone trying a stolen or forged answer) and counted a wrong guess of the office's
address, so that officials behind one address, coming back during the outage, locked it
out of the console (429), the key sign-in included. It is an outage: a 503 page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.models import AuditLog
from tests.conftest import DbFactory, KeyFactory, free_port, make_settings
from tests.console.conftest import CSRF_INPUT, discovery_only, raw_key
from tests.harness.processes import http_server

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]


def _come_back(client: TestClient) -> None:
    start = client.get("/console/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303, start.text
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    back = client.get(
        f"/console/sign-in/oidc/callback?code=a-genuine-code&state={state}",
        follow_redirects=False,
    )
    assert "Chưa kết nối được với hệ thống tài khoản" in back.text
    assert back.status_code == 503, back.status_code


def test_a_token_endpoint_that_is_down_is_logged_not_audited_as_a_forgery(
    database_url: str, db: DbFactory
) -> None:
    down = f"http://127.0.0.1:{free_port()}/token"  # nobody listens there
    with http_server(
        discovery_only(authorization_endpoint="/auth", token_endpoint=down, jwks_uri="/jwks")
    ) as issuer:
        settings = make_settings(database_url, oidc_issuer=issuer, oidc_client_id="hailong")
        with TestClient(create_app(settings)) as client:
            _come_back(client)
    with db() as session:
        refused = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in_refused")
        ).all()
        assert [(r.actor, r.detail) for r in refused] == []


def test_a_token_endpoint_outage_does_not_lock_the_office_out_of_the_console(
    database_url: str, make_key: KeyFactory
) -> None:
    down = f"http://127.0.0.1:{free_port()}/token"
    admin = raw_key(make_key("admin"))
    with http_server(
        discovery_only(authorization_endpoint="/auth", token_endpoint=down, jwks_uri="/jwks")
    ) as issuer:
        settings = make_settings(
            database_url, oidc_issuer=issuer, oidc_client_id="hailong", guess_limit=3
        )
        with TestClient(create_app(settings)) as client:
            for _ in range(3):  # three officials of the ward office, one NAT address
                _come_back(client)
            form = client.get("/console/sign-in")
            token = CSRF_INPUT.search(form.text)
            assert token is not None
            signed = client.post("/console/sign-in", data={"csrf": token.group(1), "key": admin})
    assert signed.status_code == 200, signed.status_code
    assert signed.url.path == "/console"
