"""The provider's token endpoint unreachable when an official comes back from signing in
(operations audit). README: "The provider unreachable or an official cancelling at the
provider is logged, not audited." A token endpoint refusing the connection was taken for
a refused token: audited as `console.sign_in_refused` by `oidc:unknown` (the record of
someone trying a stolen or forged answer) and counted a wrong guess of the office's
address, so that officials behind one address, coming back during the outage, locked it
out of the console (429), the key sign-in included. It is an outage: a 503 page."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
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


class _ClientSecretExpired(BaseHTTPRequestHandler):
    """A provider whose token endpoint refuses hailong's client authentication (RFC 6749
    5.2: 401 invalid_client), as Entra ID does once the app's client secret has expired."""

    def _send(self, status: int, document: dict[str, object]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        self._send(
            200,
            {
                "issuer": base,
                "authorization_endpoint": base + "/auth",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks",
            },
        )

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(401, {"error": "invalid_client", "error_description": "secret expired"})

    def log_message(self, *args: object) -> None:
        pass


def test_an_expired_client_secret_is_not_audited_as_forged_answers_nor_locks_the_office_out(
    database_url: str, db: DbFactory, make_key: KeyFactory
) -> None:
    """(review) The token endpoint refusing hailong's own client (invalid_client: a client
    secret expired or rotated, as Entra ID's are), which no browser can cause, was still
    audited as forged answers and counted wrong guesses: the office's address locked out of
    the console, the key sign-in included. Logged as the provider's setup, a 503 page."""
    admin = raw_key(make_key("admin"))
    with http_server(_ClientSecretExpired) as issuer:
        settings = make_settings(
            database_url,
            oidc_issuer=issuer,
            oidc_client_id="hailong",
            oidc_client_secret="expired",
            guess_limit=3,
        )
        with TestClient(create_app(settings)) as client:
            for _ in range(3):  # three officials, one NAT address
                _come_back(client)
            form = client.get("/console/sign-in")
            token = CSRF_INPUT.search(form.text)
            assert token is not None
            signed = client.post("/console/sign-in", data={"csrf": token.group(1), "key": admin})
    with db() as session:
        refused = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in_refused")
        ).all()
    assert signed.status_code == 200 and signed.url.path == "/console", signed.status_code
    assert [r.detail for r in refused] == [], [r.detail for r in refused]
