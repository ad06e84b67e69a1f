"""A 401 from the token endpoint without a JSON body (a gateway's, for a bad client secret) is
hailong's client refused: logged, not audited as a forged answer, no wrong guess, a 503 page
(review: only a JSON 401 was); a 401 saying invalid_grant is about the code, and stays
audited."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.models import AuditLog
from tests.conftest import DbFactory, make_settings
from tests.console.test_oidc_outages import _ClientSecretExpired, _come_back
from tests.harness.processes import http_server

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]


class _BasicChallenge(_ClientSecretExpired):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="token"')
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_401_without_a_json_body_is_the_clients_setup_not_a_forged_answer(
    database_url: str, db: DbFactory
) -> None:
    with http_server(_BasicChallenge) as issuer:
        settings = make_settings(
            database_url, oidc_issuer=issuer, oidc_client_id="hailong", oidc_client_secret="old"
        )
        with TestClient(create_app(settings)) as client:
            _come_back(client)  # asserts the 503 page
    with db() as session:
        refused = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in_refused")
        ).all()
    assert [r.detail for r in refused] == [], [r.detail for r in refused]


class _CodeRefusedWith401(_ClientSecretExpired):
    """A provider answering a forged or spent code with 401 invalid_grant (RFC 6749 5.2 says
    400; some answer 401): about the code, a browser's to send."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(401, {"error": "invalid_grant", "error_description": "code spent"})


def test_a_401_saying_the_code_is_refused_stays_audited_as_a_refused_answer(
    database_url: str, db: DbFactory
) -> None:
    with http_server(_CodeRefusedWith401) as issuer:
        settings = make_settings(
            database_url, oidc_issuer=issuer, oidc_client_id="hailong", oidc_client_secret="ok"
        )
        with TestClient(create_app(settings)) as client:
            start = client.get("/console/sign-in/oidc", follow_redirects=False)
            state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
            back = client.get(f"/console/sign-in/oidc/callback?code=forged&state={state}")
    assert back.status_code == 400, back.status_code
    with db() as session:
        refused = session.exec(
            select(AuditLog).where(AuditLog.action == "console.sign_in_refused")
        ).all()
    assert [r.detail for r in refused] == [{"reason": "token_refused"}]
