"""`hailong officials`: add, list and disable the officials who sign in to the console."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from service.models import AuditLog, Official
from tests.cli_runner import cli_for
from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")


def test_add_list_and_disable(database_url: str, db: DbFactory) -> None:
    cli = cli_for(database_url)
    ward = cli(
        "officials",
        "add",
        "Nguyen.Van.A@TPHCM.gov.vn",
        "--role",
        "manager",
        "--agency",
        "79.BTH",
        "--name",
        "Nguyễn Văn A",
    )
    assert ward.exit_code == 0, ward.output
    assert "added manager official #1 (nguyen.van.a@tphcm.gov.vn)" in ward.output
    city = cli("officials", "add", "kiem.toan@tphcm.gov.vn", "--role", "auditor")
    assert city.exit_code == 0, city.output

    listing = cli("officials", "list")
    assert listing.exit_code == 0, listing.output
    header, *lines = listing.stdout.strip().splitlines()
    for column in ("ID", "E-MAIL", "NAME", "ROLE", "SCOPE", "LAST SIGN-IN", "DISABLED"):
        assert column in header
    assert len(lines) == 2
    assert lines[0].split()[:2] == ["1", "nguyen.van.a@tphcm.gov.vn"]
    assert "Nguyễn Văn A" in lines[0] and " manager " in lines[0] and " 79.BTH " in lines[0]
    assert lines[1].split()[:2] == ["2", "kiem.toan@tphcm.gov.vn"]
    assert " auditor " in lines[1] and " all " in lines[1]
    assert lines[0].rstrip().endswith("-") and lines[1].rstrip().endswith("-")  # enabled

    disabled = cli("officials", "disable", "1")
    assert disabled.exit_code == 0, disabled.output
    assert "disabled official #1 (nguyen.van.a@tphcm.gov.vn)" in disabled.output
    assert "already disabled" in cli("officials", "disable", "1").stdout  # again: no change
    lines = cli("officials", "list").stdout.strip().splitlines()[1:]
    assert lines[0].rstrip().endswith("by cli") and "by cli" not in lines[1]

    with db() as session:
        stored = session.exec(select(Official).order_by(col(Official.id))).all()
        records = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
    assert [(o.email, o.role, o.disabled_by) for o in stored] == [
        ("nguyen.van.a@tphcm.gov.vn", "manager", "cli"),
        ("kiem.toan@tphcm.gov.vn", "auditor", None),
    ]
    assert [(r.action, r.actor) for r in records if r.action.startswith("official.")] == [
        ("official.add", "cli"),
        ("official.add", "cli"),
        ("official.disable", "cli"),
    ]


def test_update_moves_an_official_and_enables_them_again(database_url: str, db: DbFactory) -> None:
    cli = cli_for(database_url)
    assert cli("officials", "add", "lan@tphcm.gov.vn", "--role", "manager").exit_code == 0
    assert cli("officials", "disable", "1").exit_code == 0
    moved = cli("officials", "update", "1", "--agency", "79.SGN", "--role", "admin", "--enable")
    assert moved.exit_code == 0, moved.output
    assert "updated official #1 (lan@tphcm.gov.vn)" in moved.output
    with db() as session:
        official = session.exec(select(Official)).one()
        assert (official.role, official.disabled_at) == ("admin", None)
    assert cli("officials", "update", "1", "--every-agency").exit_code == 0
    both = cli("officials", "update", "1", "--every-agency", "--agency", "79")
    assert both.exit_code != 0 and "not both" in both.output
    with db() as session:
        assert session.exec(select(Official)).one().agency_id is None


def test_unbind_releases_the_provider_account(database_url: str, db: DbFactory) -> None:
    """A mailbox handed to a successor was refused for good: its first holder's provider
    account stayed bound (audit). `--unbind` releases it, and says so in the audit log."""
    cli = cli_for(database_url)
    assert cli("officials", "add", "lan@tphcm.gov.vn", "--role", "manager").exit_code == 0
    with db() as session:
        official = session.exec(select(Official)).one()
        official.subject = "u-lan"
        session.add(official)
    released = cli("officials", "update", "1", "--unbind")
    assert released.exit_code == 0, released.output
    with db() as session:
        assert session.exec(select(Official)).one().subject is None
        records = session.exec(select(AuditLog).where(AuditLog.action == "official.update"))
        assert [r.detail for r in records] == [
            {"from": {"subject_bound": True}, "to": {"subject_bound": False}}
        ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "A@tphcm.gov.vn", "--role", "admin"), "'a@tphcm.gov.vn' exists already"),
        (("add", "b@tphcm.gov.vn", "--role", "reader"), "one of manager, admin, auditor"),
        (("add", "not-an-e-mail", "--role", "manager"), "is not an e-mail address"),
        (("add", "b@tphcm.gov.vn", "--role", "manager", "--agency", "NOPE"), "'NOPE'"),
        (("disable", "99"), "No official has the id 99"),
    ],
)
def test_refusals_exit_2_with_a_message(
    database_url: str, db: DbFactory, args: tuple[str, ...], message: str
) -> None:
    cli = cli_for(database_url)
    assert cli("officials", "add", "a@tphcm.gov.vn", "--role", "manager").exit_code == 0
    result = cli("officials", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "error:" in result.output
    with db() as session:
        assert [o.email for o in session.exec(select(Official)).all()] == ["a@tphcm.gov.vn"]


def test_disabling_a_disabled_official_again_says_when_and_by_whom(
    database_url: str, db: DbFactory
) -> None:
    """It said "disabled official #1" again, as if it had just happened. It changes
    nothing, as the API's PATCH does not (exit 0), and says so."""
    cli = cli_for(database_url)
    assert cli("officials", "add", "a@tphcm.gov.vn", "--role", "manager").exit_code == 0
    assert cli("officials", "disable", "1").exit_code == 0
    again = cli("officials", "disable", "1")
    assert again.exit_code == 0, again.output
    [line] = again.stdout.splitlines()
    assert line.startswith("official #1 (a@tphcm.gov.vn) was already disabled on ")
    assert line.endswith(" UTC by cli")
    with db() as session:
        records = session.exec(select(AuditLog.action)).all()
    assert records.count("official.disable") == 1


def test_a_control_character_in_a_name_is_refused_by_the_service_as_by_the_api(
    db: DbFactory,
) -> None:
    """Only NUL was refused: U+0007 or U+001B in a name was stored by any caller but the
    API (whose schema refuses them), and broke the XLSX and DOCX exports that showed it."""
    from service.admin.keys import create_key
    from service.auth.officials import OfficialChange, add_official, update_official
    from service.errors import InvalidInput

    with db() as session, pytest.raises(InvalidInput) as refused:
        create_key(session, role="reader", name="a\x1bb", agency_code=None, actor="test")
    assert refused.value.fields == [
        {"field": "name", "problem": "must not contain the control character U+001B"}
    ]
    with db() as session, pytest.raises(InvalidInput) as refused:
        add_official(session, "test", "a@tphcm.gov.vn", "a\x07b", "manager", None)
    assert refused.value.fields[0]["field"] == "name"
    with db() as session:
        official = add_official(session, "test", "b@tphcm.gov.vn", "B", "manager", None)
        assert official.id is not None
        with pytest.raises(InvalidInput):
            update_official(session, "test", official.id, OfficialChange(name="a\x07b"))
    with db() as session:
        assert [o.name for o in session.exec(select(Official)).all()] == ["B"]
