"""`hailong demo`: seeds the demo tree and prints working keys and a working curl."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import AuditLog, Dossier
from service.profile import profile_of
from service.scoring.rebuild import rebuild_if_profile_changed
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import DbFactory


def _keys(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(issuer|reader|manager|admin|kiosk)\s+(hl_\S+)", output, re.M))


def test_demo_keys_and_printed_curl_work(database_url: str, client: TestClient) -> None:
    result = cli_for(database_url)("demo")
    assert result.exit_code == 0, result.output
    keys = _keys(result.output)
    assert set(keys) == {"issuer", "reader", "manager", "admin"}  # a tablet pairs instead
    agencies = client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {keys['admin']}"})
    assert [a["code"] for a in agencies.json()["data"]] == [
        "79",
        "79.BTH",
        "79.SGN",
        "79.STP",
        "79.SXD",
        "79.TDH",
    ]
    scoped = client.get(
        "/api/v1/agencies", headers={"Authorization": f"Bearer {keys['manager']}"}
    ).json()
    assert [a["code"] for a in scoped["data"]] == ["79.BTH"]

    curl = result.output[result.output.index("curl") :].split("\n\n")[0].replace("\\\n", " ")
    words = shlex.split(curl)
    body = json.loads(words[words.index("-d") + 1])
    auth = words[words.index("-H") + 1]
    assert words[words.index("-X") + 2] == "http://testserver/api/v1/handovers"
    response = client.post(
        "/api/v1/handovers", json=body, headers={"Authorization": auth.split(": ", 1)[1]}
    )
    assert response.status_code == 201, response.text


def test_demo_again_revokes_the_old_keys(database_url: str, client: TestClient) -> None:
    cli = cli_for(database_url)
    first = _keys(cli("demo").output)
    second = _keys(cli("demo").output)
    old = client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {first['reader']}"})
    new = client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {second['reader']}"})
    assert (old.status_code, new.status_code) == (401, 200)
    assert new.json()["count"] == 6


@pytest.mark.parametrize("which", ["current", "last"])
def test_demo_has_scores_for_this_quarter_and_the_last(
    database_url: str, client: TestClient, which: str
) -> None:
    from datetime import datetime

    from service.calendar.working_days import LOCAL_TZ, local_date
    from service.periods import period_containing

    keys = _keys(cli_for(database_url)("demo").output)
    current = period_containing(local_date(datetime.now(LOCAL_TZ)), "quarter")
    quarter = (current if which == "current" else current.previous()).key
    ranking = client.get(
        "/api/v1/rankings",
        params={"period": quarter, "parent_code": "79"},
        headers={"Authorization": f"Bearer {keys['reader']}"},
    ).json()
    scored = [s for s in ranking["data"] if s["k"] is not None]
    assert len(scored) == 5  # every demo department and ward has a K
    assert all(s["counts"]["evaluations"] > 0 for s in scored)
    if which == "last":
        assert {s["group"] for s in scored} == {"hai_long", "khong_hai_long"}
    # The public scoreboard opens on the current quarter: with scores, not empty.
    if which == "current":
        page = client.get("/rankings", params={"parent_code": "79"})
        assert page.status_code == 200 and "Phường Bến Thành" in page.text
        assert '<li class="g-chua_du_du_lieu"><b>0</b>' in page.text  # none without data


def test_demo_records_name_the_cli_not_a_key_that_never_existed(
    database_url: str, db: DbFactory
) -> None:
    """The demo's D and E entries and their audit records named `key:0:demo`, an API key
    that does not exist (no key has the id 0), where the rest of the demo says `cli:demo`."""
    from sqlmodel import select

    from service.models import AuditLog, PeriodInput

    result = cli_for(database_url)("demo")
    assert result.exit_code == 0, result.output
    with db() as session:
        actors = set(session.exec(select(AuditLog.actor)).all())
        inputs_by = set(session.exec(select(PeriodInput.set_by)).all())
        inputs_audited = session.exec(
            select(AuditLog.actor).where(AuditLog.action == "inputs.set")
        ).all()
    assert actors <= {"cli:demo", "cli"}, actors  # `cli`: the kiosk pairing code
    assert inputs_by == {"cli:demo"}
    assert set(inputs_audited) == {"cli:demo"}


def test_the_tablet_paired_with_the_printed_code_waits_with_the_tours_handover_alone(
    database_url: str, client: TestClient
) -> None:
    """The demo says its handover "then appears on it by itself": the activity's unanswered
    surveys, issued at the same counter a moment before, queued eleven ahead of it (a
    stranger's README walkthrough). The activity is at the other counter."""
    result = cli_for(database_url)("demo")
    assert result.exit_code == 0, result.output
    code = re.search(r"pair it with the code (\S+) ", result.output)
    assert code is not None, result.output
    paired = client.post("/kiosk/api/pair", json={"code": code.group(1)})
    assert paired.status_code == 200, paired.text
    curl = result.output[result.output.index("curl") :].split("\n\n")[0].replace("\\\n", " ")
    words = shlex.split(curl)
    body = json.loads(words[words.index("-d") + 1])
    auth = {"Authorization": words[words.index("-H") + 1].split(": ", 1)[1]}
    assert client.post("/api/v1/handovers", json=body, headers=auth).status_code == 201
    waiting = client.get("/kiosk/api/waiting")
    assert waiting.status_code == 200, waiting.text
    assert [s["dossier_code"] for s in waiting.json()["surveys"]] == [body["dossier_code"]]


def test_the_first_start_after_the_demo_rebuilds_and_announces_nothing(
    database_url: str, settings: Settings, db: DbFactory
) -> None:
    """README's order: `hailong db upgrade`, `hailong demo`, `hailong serve`. The demo wrote
    its counters and noted no profile, so the first start rebuilt every counter, wrote a
    "profile.change" from nothing into the audit log and announced every score (ops
    walkthrough)."""
    assert cli_for(database_url)("demo").exit_code == 0
    with db() as session:
        assert rebuild_if_profile_changed(session, profile_of(settings)) is False
        changes = session.exec(select(AuditLog).where(AuditLog.action == "profile.change")).all()
    assert changes == []


def test_an_import_into_a_new_database_notes_its_profile_as_the_demo_does(
    database_url: str, settings: Settings, db: DbFactory, tmp_path: Path
) -> None:
    """An import rebuilds the counters it wrote and notes the profile (rebuild, period
    None): the first start after it has nothing to rebuild either."""
    cli = cli_for(database_url)
    assert cli("agencies", "add", "79", "Thành phố Hồ Chí Minh").exit_code == 0
    dossiers = tmp_path / "dossiers.csv"
    dossiers.write_text(
        "dossier_code,agency_code,resolved_at\nHS-1,79,2025-09-15T10:00:00+07:00\n",
        encoding="utf-8",
    )
    result = cli("import", str(dossiers), "--kind", "dossiers")
    assert result.exit_code == 0, result.output
    with db() as session:
        assert session.exec(select(Dossier)).one().code == "HS-1"
        assert rebuild_if_profile_changed(session, profile_of(settings)) is False
