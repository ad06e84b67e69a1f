"""Officials signing in through a provider whose clock is a few seconds off hailong's
(operations audit). Servers' clocks drift, and the provider itself (oidc-provider) allows
15 s: the ID token's `iat` was judged with no leeway (joserfc's default), so a provider
2 s ahead signed no one in ("issued in the future"), each try audited as a forged answer
(`oidc:unknown`) and counted a wrong guess against the office's address. The provider
here runs its clock 20 s ahead (oidc_clock_skew.mjs, preloaded into Node)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.app import create_app
from service.auth.officials import add_official
from service.models import AuditLog
from tests.conftest import DbFactory
from tests.console.conftest import WARD
from tests.console.test_oidc_sign_in import (
    ACCOUNTS,
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    LAN,
    oidc_settings,
)
from tests.harness.oidc_provider import OidcProvider, sign_in

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]
SKEW = Path(__file__).with_name("oidc_clock_skew.mjs")


@pytest.fixture(scope="module")
def provider_ahead(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The real provider, its clock 20 s ahead of this machine's."""
    logs = tmp_path_factory.mktemp("oidc_skew")
    running = OidcProvider(CLIENT_ID, CLIENT_SECRET, CALLBACK, ACCOUNTS, log_dir=logs)
    running.env["NODE_OPTIONS"] = f"--import {SKEW.as_uri()}"
    running.env["OIDC_CLOCK_SHIFT_MS"] = "20000"
    with running:
        yield running


def test_a_provider_clock_twenty_seconds_ahead_still_signs_an_official_in(
    database_url: str, provider_ahead: OidcProvider, db: DbFactory
) -> None:
    with db() as session:
        add_official(session, "cli", LAN, "Nguyễn Thị Lan", "manager", WARD)
    settings = oidc_settings(database_url, provider_ahead)
    with TestClient(create_app(settings)) as console:
        start = console.get("/console/sign-in/oidc", follow_redirects=False)
        assert start.status_code == 303, start.text
        with httpx.Client() as at_provider:
            back = sign_in(at_provider, start.headers["location"], "lan")
        arrived = console.get(back.removeprefix("http://testserver"), follow_redirects=False)
        with db() as session:
            refused = session.exec(
                select(AuditLog)
                .where(AuditLog.action == "console.sign_in_refused")
                .order_by(col(AuditLog.id))
            ).all()
            refusals = [(r.actor, r.detail) for r in refused]
        assert refusals == []  # was ('oidc:unknown', {'reason': 'id_token_invalid'})
        assert arrived.status_code == 200, arrived.text
