"""The officials API (admin): listed, added and disabled, audited, within an admin key's
agency tree."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.admin.keys import create_key
from service.auth.officials import add_official
from service.models import AuditLog, Official
from tests.conftest import DbFactory, KeyFactory

pytestmark = pytest.mark.usefixtures("agencies")
ROUTES = [
    ("GET", "/api/v1/officials", None),
    ("POST", "/api/v1/officials", {"email": "b@tphcm.gov.vn", "role": "manager"}),
    ("POST", "/api/v1/officials/1/disable", None),
    ("PATCH", "/api/v1/officials/1", {"role": "auditor"}),
]


def admin_key(db: DbFactory, agency: str | None = None) -> tuple[str, dict[str, str]]:
    """An admin key's audit actor and its Authorization headers."""
    with db() as session:
        key, raw = create_key(
            session, role="admin", name="it centre", agency_code=agency, actor="test"
        )
        return f"key:{key.id}:it centre", {"Authorization": f"Bearer {raw}"}


def key(db: DbFactory, role: str, agency: str | None = None) -> dict[str, str]:
    with db() as session:
        _, raw = create_key(session, role=role, name=role, agency_code=agency, actor="test")
    return {"Authorization": f"Bearer {raw}"}


def add(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/officials", json=body, headers=headers)


def audit(db: DbFactory) -> list[AuditLog]:
    with db() as session:
        query = select(AuditLog).where(col(AuditLog.action).startswith("official."))
        return list(session.exec(query.order_by(col(AuditLog.id))).all())


def officials(db: DbFactory) -> list[Official]:
    with db() as session:
        return list(session.exec(select(Official).order_by(col(Official.id))).all())


def test_add_list_and_disable_are_audited_with_the_admin_keys_actor(
    client: TestClient, db: DbFactory
) -> None:
    actor, admin = admin_key(db)
    added = add(
        client,
        admin,
        email="  Nguyen.Van.A@TPHCM.gov.vn ",
        name="Nguyễn Văn A",
        role="manager",
        agency_code="79.BTH",
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["email"], body["name"], body["role"], body["agency_code"]) == (
        "nguyen.van.a@tphcm.gov.vn",
        "Nguyễn Văn A",
        "manager",
        "79.BTH",
    )
    assert body["created_at"] is not None and body["subject_bound"] is False
    assert (body["last_sign_in_at"], body["disabled_at"], body["disabled_by"]) == (None,) * 3
    everywhere = add(client, admin, email="kiem.toan@tphcm.gov.vn", role="auditor")
    assert everywhere.status_code == 201, everywhere.text
    assert everywhere.json()["name"] == "kiem.toan@tphcm.gov.vn"  # no name: the e-mail
    assert everywhere.json()["agency_code"] is None

    # The provider's subject is bound at the first sign-in: shown as bound, never itself.
    with db() as session:
        official = session.get(Official, body["id"])
        assert official is not None
        official.subject = "idp-subject-4711"
        session.add(official)
    listed = client.get("/api/v1/officials", headers=admin)
    assert listed.status_code == 200, listed.text
    assert listed.json()["count"] == 2 and "idp-subject-4711" not in listed.text
    rows = listed.json()["data"]
    assert [(o["id"], o["role"], o["agency_code"], o["subject_bound"]) for o in rows] == [
        (body["id"], "manager", "79.BTH", True),
        (everywhere.json()["id"], "auditor", None, False),
    ]
    assert all("subject" not in row for row in rows)

    disabled = client.post(f"/api/v1/officials/{body['id']}/disable", headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    assert disabled.json()["disabled_by"] == actor
    again = client.post(f"/api/v1/officials/{body['id']}/disable", headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == disabled.json()  # idempotent: the first disabling stands
    listed_after = client.get("/api/v1/officials", headers=admin).json()["data"]
    assert [o["disabled_by"] for o in listed_after] == [actor, None]

    records = audit(db)
    assert [(r.action, r.target, r.actor) for r in records] == [
        ("official.add", f"official:{body['id']}", actor),
        ("official.add", f"official:{everywhere.json()['id']}", actor),
        ("official.disable", f"official:{body['id']}", actor),
    ]
    assert records[0].detail["to"] == {
        "email": "nguyen.van.a@tphcm.gov.vn",
        "role": "manager",
        "agency": "79.BTH",
    }


def test_without_a_key_401(client: TestClient, db: DbFactory) -> None:
    for method, url, body in ROUTES:
        response = client.request(method, url, json=body)
        assert response.status_code == 401, (method, url, response.text)
        assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("role", ["manager", "reader", "auditor", "issuer", "kiosk"])
def test_only_admin_keys_manage_officials(client: TestClient, db: DbFactory, role: str) -> None:
    _, admin = admin_key(db)
    assert add(client, admin, email="a@tphcm.gov.vn", role="manager").status_code == 201
    headers = key(db, role)
    for method, url, body in ROUTES:
        response = client.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (role, method, url, response.text)
        assert response.json()["error"] == "forbidden"
        assert f"yours is '{role}'" in response.json()["detail"]
    assert [(o.email, o.disabled_at) for o in officials(db)] == [("a@tphcm.gov.vn", None)]
    assert [r.action for r in audit(db)] == ["official.add"]


def test_an_admin_key_limited_to_an_agency_manages_officials_within_its_tree(
    client: TestClient, db: DbFactory
) -> None:
    _, admin = admin_key(db)
    ids = {}
    for email, agency in [
        ("ward@tphcm.gov.vn", "79.BTH"),
        ("other@tphcm.gov.vn", "79.SGN"),
        ("city@tphcm.gov.vn", None),
    ]:
        made = add(client, admin, email=email, role="manager", agency_code=agency)
        assert made.status_code == 201, made.text
        ids[email] = made.json()["id"]
    ward_actor, ward_admin = admin_key(db, agency="79.BTH")
    _, city_admin = admin_key(db, agency="79")

    listed = client.get("/api/v1/officials", headers=ward_admin).json()
    assert (listed["count"], [o["email"] for o in listed["data"]]) == (1, ["ward@tphcm.gov.vn"])
    by_city = client.get("/api/v1/officials", headers=city_admin).json()["data"]
    assert [o["email"] for o in by_city] == ["ward@tphcm.gov.vn", "other@tphcm.gov.vn"]

    beyond = add(client, ward_admin, email="x@tphcm.gov.vn", role="manager", agency_code="79.SGN")
    assert beyond.status_code == 403, beyond.text
    assert "cannot act for agency '79.SGN'" in beyond.json()["detail"]
    parent = add(client, ward_admin, email="x@tphcm.gov.vn", role="admin", agency_code="79")
    assert parent.status_code == 403, parent.text
    unscoped = add(client, ward_admin, email="x@tphcm.gov.vn", role="admin")
    assert unscoped.status_code == 403, unscoped.text
    assert unscoped.json() == {
        "error": "forbidden",
        "detail": "Your key is limited to part of the agency tree; officials of every agency "
        "are managed with a key that is not limited to an agency.",
    }
    for email in ("other@tphcm.gov.vn", "city@tphcm.gov.vn"):
        # Beyond the key's tree: answered as missing, telling nothing of who is there.
        refused = client.post(f"/api/v1/officials/{ids[email]}/disable", headers=ward_admin)
        assert refused.status_code == 404, (email, refused.text)
        assert refused.json()["error"] == "not_found"
    assert [o.disabled_at for o in officials(db)] == [None, None, None]

    within = add(client, ward_admin, email="x@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    assert within.status_code == 201, within.text
    disabled = client.post(
        f"/api/v1/officials/{ids['ward@tphcm.gov.vn']}/disable", headers=ward_admin
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_by"] == ward_actor
    by_city_disable = client.post(
        f"/api/v1/officials/{ids['other@tphcm.gov.vn']}/disable", headers=city_admin
    )
    assert by_city_disable.status_code == 200, by_city_disable.text
    # An unknown agency is unknown to every admin key.
    unknown = add(client, ward_admin, email="y@tphcm.gov.vn", role="manager", agency_code="NOPE")
    assert unknown.status_code == 404, unknown.text


def test_an_official_who_moves_keeps_the_account_and_every_change_is_audited(
    client: TestClient, db: DbFactory
) -> None:
    """An official who moved ward or role could not be changed, and once disabled could not
    be added again (the e-mail exists): the IT centre had to edit the database (audit)."""
    actor, admin = admin_key(db)
    made = add(client, admin, email="lan@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    official_id = made.json()["id"]
    url = f"/api/v1/officials/{official_id}"
    moved = client.patch(url, json={"agency_code": "79.SGN", "name": "Lan"}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["agency_code"], moved.json()["name"]) == ("79.SGN", "Lan")
    assert client.post(f"{url}/disable", headers=admin).status_code == 200
    again = client.patch(url, json={"enabled": True, "role": "admin"}, headers=admin)
    assert (again.json()["disabled_at"], again.json()["role"]) == (None, "admin")
    province = client.patch(url, json={"agency_code": None}, headers=admin)
    assert province.json()["agency_code"] is None
    assert client.patch(url, json={"role": "admin"}, headers=admin).status_code == 200  # no-op
    updates = [a for a in audit(db) if a.action == "official.update"]
    assert [(a.actor, a.detail) for a in updates] == [
        (
            actor,
            {
                "from": {"name": "lan@tphcm.gov.vn", "agency": "79.BTH"},
                "to": {"name": "Lan", "agency": "79.SGN"},
            },
        ),
        (
            actor,
            {
                "from": {"role": "manager", "enabled": False},
                "to": {"role": "admin", "enabled": True},
            },
        ),
        (actor, {"from": {"agency": "79.SGN"}, "to": {"agency": None}}),
    ]
    # Within an admin key's tree only, both where the official is and where they go.
    client.patch(url, json={"agency_code": "79.BTH", "role": "manager"}, headers=admin)
    _, ward_admin = admin_key(db, agency="79.BTH")
    away = client.patch(url, json={"agency_code": "79.SGN"}, headers=ward_admin)
    assert away.status_code == 403, away.text
    _, other_ward = admin_key(db, agency="79.SGN")
    assert client.patch(url, json={"role": "auditor"}, headers=other_ward).status_code == 404
    unknown = client.patch(url, json={"agency_code": "NOPE"}, headers=admin)
    assert unknown.status_code == 404
    bad = client.patch(url, json={"role": "boss"}, headers=admin)
    assert bad.status_code == 422


def test_unknown_agency_duplicate_e_mail_and_unknown_official(
    client: TestClient, db: DbFactory
) -> None:
    _, admin = admin_key(db)
    unknown = add(client, admin, email="a@tphcm.gov.vn", role="manager", agency_code="NOPE")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "detail": "No agency has the code 'NOPE'."}
    assert add(client, admin, email="a@tphcm.gov.vn", role="manager").status_code == 201
    duplicate = add(client, admin, email=" A@TPHCM.gov.vn", role="admin")
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "error": "conflict",
        "detail": "An official with the e-mail 'a@tphcm.gov.vn' exists already.",
    }
    missing = client.post("/api/v1/officials/999/disable", headers=admin)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "No official has the id 999."}
    assert [o.role for o in officials(db)] == ["manager"]
    assert [r.action for r in audit(db)] == ["official.add"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (
            {"email": "not-an-e-mail", "role": "manager"},
            "email",
            "'not-an-e-mail' is not an e-mail address",
        ),
        # Anything with an "@" was taken: an official no provider could sign in (audit).
        *(
            ({"email": typo, "role": "manager"}, "email", f"'{typo}' is not an e-mail address")
            for typo in (
                *("@", "nguyen.van.a@", "@tphcm.gov.vn", "an @x.vn", "a@b@x.vn", "a@x"),
                # Still passed, and the official's alert e-mails bounced (audit).
                *("a,b@x.vn", "a..b@x.vn", ".a@x.vn", "a.@x.vn", "a;b@x.vn", "a@x..vn"),
                # A separator pasted after the domain, or in it (review).
                *("kt@tphcm.gov.vn,", "kt@tphcm.gov.vn;", "kt@tphcm.gov.vn>", "kt@tphcm,gov.vn"),
            )
        ),
        (
            {"email": "kt@tphcm.gov.vn", "role": "auditor", "agency_code": "79.BTH"},
            "agency_code",
            "an auditor reads the audit log of every agency: leave the agency out",
        ),
        (
            {"email": "a@tphcm.gov.vn", "role": "superuser"},
            "role",
            "must be one of 'manager', 'admin' or 'auditor'",
        ),
        ({"email": "a@tphcm.gov.vn"}, "role", "is required"),
        ({"role": "manager"}, "email", "is required"),
        (
            {"email": "a@tphcm.gov.vn", "role": "manager", "scope": "79"},
            "scope",
            "is not a known field",
        ),
    ],
)
def test_invalid_input_names_the_field(
    client: TestClient, db: DbFactory, body: dict[str, str], field: str, problem: str
) -> None:
    _, admin = admin_key(db)
    response = client.post("/api/v1/officials", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert response.json()["fields"] == [{"field": field, "problem": problem}]
    assert field in response.json()["detail"]
    assert officials(db) == [] and audit(db) == []


def test_a_path_id_out_of_range_is_invalid_input(client: TestClient, db: DbFactory) -> None:
    _, admin = admin_key(db)
    response = client.post("/api/v1/officials/0/disable", headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "official_id"


def test_an_official_is_not_made_an_auditor_limited_to_an_agency(
    client: TestClient, db: DbFactory
) -> None:
    """The audit log refuses whoever is limited to an agency: such an auditor signed in to
    a page refusing them, its one link leading back to it (audit)."""
    _, admin = admin_key(db)
    made = add(client, admin, email="lan@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    path = f"/api/v1/officials/{made.json()['id']}"
    refused = client.patch(path, json={"role": "auditor"}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"][0]["field"] == "agency_code"
    moved = client.patch(path, json={"role": "auditor", "agency_code": None}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["agency_code"]) == ("auditor", None)
    # One made before the rule is still renamed and disabled (review), not refused.
    with db() as session:
        older = add_official(session, "test", "kt@tphcm.gov.vn", "Kiểm tra", "manager", "79.BTH")
        older.role = "auditor"
        session.add(older)
        session.flush()
        older_path = f"/api/v1/officials/{older.id}"
    for change in ({"name": "Kiểm tra viên"}, {"enabled": False}):
        assert client.patch(older_path, json=change, headers=admin).status_code == 200


def test_an_empty_agency_code_is_a_field_error(client: TestClient, db: DbFactory) -> None:
    """`agency_code: ""` names no agency (null says every agency): POST and PATCH answered
    404 "No agency has the code ''", where the field is what is wrong (audit)."""
    _, admin = admin_key(db)
    refused = add(client, admin, email="a@tphcm.gov.vn", role="manager", agency_code="")
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["agency_code"]
    added = add(client, admin, email="a@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    assert added.status_code == 201, added.text
    url = f"/api/v1/officials/{added.json()['id']}"
    changed = client.patch(url, json={"agency_code": " "}, headers=admin)
    assert changed.status_code == 422, changed.text
    assert [f["field"] for f in changed.json()["fields"]] == ["agency_code"]
    assert [o.email for o in officials(db)] == ["a@tphcm.gov.vn"]
    assert [r.action for r in audit(db)] == ["official.add"]


def test_an_official_name_sent_as_null_is_the_email(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(review) A name sent as null was refused (422) where leaving it out names the official
    by their e-mail: null is not given."""
    response = client.post(
        "/api/v1/officials",
        json={"email": "b@tphcm.gov.vn", "name": None, "role": "manager", "agency_code": None},
        headers=make_key("admin"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "b@tphcm.gov.vn"


def test_an_officials_renamed_mailbox_is_changed_in_place_and_audited(
    client: TestClient, db: DbFactory, database_url: str
) -> None:
    """A mailbox renamed at the province's provider: the official, signed in by address,
    was refused as unknown, and could only be added anew, their history under another id
    (operations audit). The address is changed in place; the bound account stays."""
    from service.auth.officials import NotAnOfficial, official_for_claims
    from tests.cli_runner import cli_for

    actor, admin = admin_key(db)
    lan = add(client, admin, email="lan@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    other = add(client, admin, email="binh@tphcm.gov.vn", role="manager", agency_code="79.BTH")
    lan_id, other_id = lan.json()["id"], other.json()["id"]
    with db() as session:
        official = session.get(Official, lan_id)
        assert official is not None
        official.subject = "sub-lan"  # signed in once: bound to her provider account
        session.add(official)

    moved = client.patch(
        f"/api/v1/officials/{lan_id}", json={"email": " Lan.Nguyen@HCMC.gov.vn "}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["email"] == "lan.nguyen@hcmc.gov.vn"
    claims = {"sub": "sub-lan", "email": "lan.nguyen@hcmc.gov.vn", "email_verified": True}
    with db() as session:
        assert official_for_claims(session, claims).id == lan_id  # the same account
        with pytest.raises(NotAnOfficial):
            official_for_claims(session, {**claims, "email": "lan@tphcm.gov.vn"})
    [record] = [r for r in audit(db) if r.action == "official.update"]
    assert (record.actor, record.detail) == (
        actor,
        {"from": {"email": "lan@tphcm.gov.vn"}, "to": {"email": "lan.nguyen@hcmc.gov.vn"}},
    )

    # Another ward's admin reaches no official of this ward, its address included.
    _, other_ward = admin_key(db, agency="79.SGN")
    across = client.patch(
        f"/api/v1/officials/{lan_id}", json={"email": "mine@sgn.gov.vn"}, headers=other_ward
    )
    assert across.status_code == 404, across.text
    assert officials(db)[0].email == "lan.nguyen@hcmc.gov.vn"

    taken = client.patch(
        f"/api/v1/officials/{other_id}", json={"email": "lan.nguyen@hcmc.gov.vn"}, headers=admin
    )
    assert taken.status_code == 409, taken.text
    bad = client.patch(f"/api/v1/officials/{other_id}", json={"email": "a,b@x.vn"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "email", bad.text

    by_cli = cli_for(database_url)("officials", "update", str(other_id), "--email", "b@hcmc.gov.vn")
    assert by_cli.exit_code == 0, by_cli.output
    assert [o.email for o in officials(db)] == ["lan.nguyen@hcmc.gov.vn", "b@hcmc.gov.vn"]
