"""What a key limited to one ward reads of the people beyond its part of the tree (scope
audit). The tree: SP (the province) over SA (over SA1) and SB. An official of the whole
province signs in to the console through the identity provider (the session made as its
callback makes it) and unpairs a tablet of SA. The officials API never shows SA's admin an
official beyond SA's tree, and scores sign entries by name (Principal.signature); the keys
API handed over the province official's address, in `revoked_by` and in a 409."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import upsert_agency
from service.auth.officials import add_official, official_principal
from service.console import sessions
from tests.conftest import DbFactory, KeyFactory, app_for, make_settings

TREE = [("SP", None), ("SA", "SP"), ("SA1", "SA"), ("SB", "SP")]
PROVINCE_OFFICIAL = "tinh.nguyen@sotttt.sp.gov.vn"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The app with sign-in through the province's identity provider on (no provider is
    reached: the session is made as its callback makes it)."""
    settings = make_settings(
        database_url, oidc_issuer="https://id.sp.gov.vn", oidc_client_id="hailong-console"
    )
    with TestClient(app_for(settings)) as test_client:
        yield test_client


@pytest.fixture
def tree(db: DbFactory) -> None:
    with db() as session:
        for code, parent in TREE:
            upsert_agency(session, code, f"Đơn vị {code}", parent, actor="test")


def _sign_in_official(client: TestClient, db: DbFactory, official_id: int) -> None:
    signed = sessions.new_session(signed_in=True)
    with db() as session:
        principal = official_principal(session, official_id)
        assert principal is not None
        sessions.start(session, signed, principal)
    signing_key = client.app.state.settings.signing_key()  # type: ignore[attr-defined]
    client.cookies.set(sessions.COOKIE, sessions.encode(signed, signing_key), path="/console")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "no form with a CSRF token"
    return found.group(1)


def test_a_wards_admin_key_reads_who_revoked_its_tablet_by_name_not_mailbox(
    client: TestClient, make_key: KeyFactory, db: DbFactory, tree: None
) -> None:
    with db() as session:
        official = add_official(session, "cli", PROVINCE_OFFICIAL, "Nguyễn Văn Tỉnh", "admin", None)
        assert official.id is not None
        official_id = official.id
    made = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": "SA", "counter_code": "Q01"},
        headers=make_key("admin"),
    )
    assert made.status_code == 201, made.text
    paired = client.post("/kiosk/api/pair", json={"code": made.json()["code"]})
    assert paired.status_code == 200, paired.text
    client.cookies.clear()
    admin_sa = make_key("admin", agency="SA")
    [device] = client.get("/api/v1/kiosk/devices", headers=admin_sa).json()["data"]

    # The province's official unpairs SA's tablet in the console.
    _sign_in_official(client, db, official_id)
    page = client.get("/console/a/SA/kiosks")
    assert page.status_code == 200 and "unpair" in page.text, (page.url, page.text[:300])
    unpaired = client.post(
        f"/console/a/SA/kiosks/{device['id']}/unpair",
        data={"csrf": _csrf(page.text), "confirm": "1"},
        follow_redirects=False,
    )
    assert unpaired.status_code == 303, unpaired.text
    client.cookies.clear()

    # SA's admin does not see that official among its officials...
    officials = client.get("/api/v1/officials", headers=admin_sa).json()["data"]
    assert PROVINCE_OFFICIAL not in str(officials)
    # ...nor should it read their mailbox in its keys' listing or in a refusal.
    keys = client.get("/api/v1/keys", headers=admin_sa)
    assert keys.status_code == 200
    [tablet_key] = [k for k in keys.json()["data"] if k["id"] == device["id"]]
    assert tablet_key["status"] == "revoked"
    again = client.post(f"/api/v1/keys/{device['id']}/revoke", headers=admin_sa)
    assert again.status_code == 409, again.text
    leaks = {
        "GET /api/v1/keys revoked_by": tablet_key["revoked_by"],
        "409 of POST /api/v1/keys/{id}/revoke": again.json()["detail"],
    }
    assert {where: text for where, text in leaks.items() if PROVINCE_OFFICIAL in text} == {}
    assert tablet_key["revoked_by"] == f"official:{official_id}:Nguyễn Văn Tỉnh"
