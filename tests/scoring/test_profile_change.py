"""A profile change rebuilds the counters by itself when the service starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlmodel import col, select

from service.app import create_app
from service.models import Agency, AuditLog, ScoreDirty, ScoringState
from service.profile import PROFILES_DIR, load_profile
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")


def test_switching_to_the_766_profile_rescores_supplement_dossiers(
    database_url: str, make_key: KeyFactory
) -> None:
    admin = make_key("admin")
    # Resolved before its due time, but sent back for supplements twice.
    body = handover_body(supplement_requests=2)
    with TestClient(create_app(make_settings(database_url))) as client:
        assert (
            client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).status_code
            == 201
        )
        hcmc = client.get("/api/v1/agencies/G22.39/scores/2025-09", headers=admin).json()
    # HCMC 104/2024: supplements do not make it overdue → A = 1 ÷ 1.
    assert hcmc["a"] == 1 and hcmc["profile"] == "hcmc-104-2024"
    national = make_settings(database_url).model_copy(update={"scoring_profile": "vn-766"})
    with TestClient(create_app(national)) as client:
        score = client.get("/api/v1/agencies/G22.39/scores/2025-09", headers=admin).json()
    # 766: two supplement requests count as overdue → A = 0 ÷ 1, and group 5 c = 0 ÷ 1.
    assert score["a"] == 0 and score["profile"] == "vn-766"
    assert score["group5"]["dossiers_satisfied_rate"] == 0
    # Every score moved: the audit log says so (it said nothing, audit).
    with TestClient(create_app(national)) as client:
        changes = client.get(
            "/api/v1/audit", params={"action": "profile.change"}, headers=admin
        ).json()["data"]
    assert [(c["actor"], c["target"]) for c in changes] == [("startup", "profile:vn-766")]
    detail = changes[0]["detail"]
    assert (
        detail["to"]["profile"] == "vn-766"
        and detail["from"]["fingerprint"] != (detail["to"]["fingerprint"])
    )
    # And a recompute from the CLI is recorded too.
    assert cli_for(database_url)("scores", "recompute", "--period", "2025-Q3").exit_code == 0
    with TestClient(create_app(national)) as client:
        recomputes = client.get(
            "/api/v1/audit", params={"action": "scores.recompute"}, headers=admin
        ).json()["data"]
    assert [(r["actor"], r["target"], r["detail"]["reason"]) for r in recomputes] == [
        ("cli", "period:2025-Q3", "cli")
    ]


def test_an_unchanged_profile_does_not_rebuild(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    from sqlmodel import Session, select

    from service.db import make_engine
    from service.models import ScoringState

    with TestClient(create_app(make_settings(database_url))) as client:
        client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    engine = make_engine(make_settings(database_url))
    with Session(engine) as session:
        first = session.exec(select(ScoringState)).one().rebuilt_at
    with TestClient(create_app(make_settings(database_url))):
        pass
    # A copy of the same rules under another file name is the same profile.
    copy = tmp_path / "same.toml"
    copy.write_text(
        (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with TestClient(
        create_app(make_settings(database_url).model_copy(update={"scoring_profile": str(copy)}))
    ):
        pass
    with Session(engine) as session:
        assert session.exec(select(ScoringState)).one().rebuilt_at == first
    engine.dispose()


def _one_handover(database_url: str, make_key: KeyFactory) -> None:
    with TestClient(create_app(make_settings(database_url))) as client:
        made = client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
        assert made.status_code == 201


def _changed(database_url: str, tmp_path: Path, old: str, new: str) -> Settings:
    """The settings of the shipped HCMC profile with `old` replaced by `new`."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    assert old in text
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace(old, new), encoding="utf-8")
    return make_settings(database_url).model_copy(update={"scoring_profile": str(changed)})


def _started(settings: Settings, db: DbFactory) -> tuple[list[tuple[str, str]], list[AuditLog]]:
    """Starts the service under `settings`: the scores it marked to announce (those
    marked before forgotten) and every profile change audited."""
    with db() as session:
        session.execute(delete(ScoreDirty))
    with TestClient(create_app(settings)):
        pass
    with db() as session:
        rows = session.exec(
            select(Agency.code, ScoreDirty.period).join(
                Agency, col(Agency.id) == col(ScoreDirty.agency_id)
            )
        ).all()
        audited = session.exec(
            select(AuditLog).where(col(AuditLog.action) == "profile.change")
        ).all()
    return sorted((code, period) for code, period in rows), list(audited)


EVERY_PERIOD = [("G22.39", "2025"), ("G22.39", "2025-09"), ("G22.39", "2025-Q3")]


def test_a_profile_change_announces_every_score_it_holds(
    database_url: str, make_key: KeyFactory, db: DbFactory, tmp_path: Path
) -> None:
    """A new threshold moves every group though no counter changes: the rebuild at start
    announced nothing, and portals kept the old groups (review). Every agency-month the
    counters hold is announced: its month, quarter and year."""
    _one_handover(database_url, make_key)
    stricter = _changed(
        database_url, tmp_path, "satisfied_threshold = 20.0\n", "satisfied_threshold = 21.0\n"
    )
    marked, _ = _started(stricter, db)
    assert marked == EVERY_PERIOD


def test_a_change_read_only_at_score_time_is_announced_and_audited(
    database_url: str, make_key: KeyFactory, db: DbFactory, tmp_path: Path
) -> None:
    """Group 5's full-marks rate is read when a score is read, not by the counters: changed,
    it moved every group 5 and D with no rebuild, no score.updated and no profile.change
    (review). It announces every score the counters hold and is audited; started again
    with the same file, nothing more."""
    _one_handover(database_url, make_key)
    gentler = _changed(
        database_url, tmp_path, "full_marks_rate = 0.90\n", "full_marks_rate = 0.80\n"
    )
    marked, audited = _started(gentler, db)
    assert marked == EVERY_PERIOD
    assert [(a.actor, a.target) for a in audited] == [("startup", "profile:hcmc-104-2024")]
    detail = audited[0].detail
    assert detail["from"]["fingerprint"] == detail["to"]["fingerprint"]  # no rebuild
    assert detail["from"]["rules_fingerprint"] != detail["to"]["rules_fingerprint"]
    assert detail["counter_rows"] == 0
    assert _started(gentler, db) == ([], audited)  # the same file again: nothing more


def test_the_first_start_after_the_upgrade_records_the_rules_and_announces_nothing(
    database_url: str, make_key: KeyFactory, db: DbFactory
) -> None:
    """Migration 0020 cannot know the rules a deployment ran before: its first start keeps
    the ones it starts with, quietly, and compares with them from then on."""
    _one_handover(database_url, make_key)
    with db() as session:
        session.execute(update(ScoringState).values(rules_fingerprint=None))
    assert _started(make_settings(database_url), db) == ([], [])
    with db() as session:
        state = session.exec(select(ScoringState)).one()
    assert state.rules_fingerprint == load_profile("hcmc-104-2024").rules_fingerprint()


def test_a_change_no_score_reads_announces_nothing(
    database_url: str, make_key: KeyFactory, db: DbFactory, tmp_path: Path
) -> None:
    """An alert's threshold moves no score: the whole profile's fingerprint announced every
    agency's months, quarters and years and audited a profile change for it (review)."""
    _one_handover(database_url, make_key)
    alerts = _changed(database_url, tmp_path, "staff_c_drop = 0.2\n", "staff_c_drop = 0.25\n")
    assert _started(alerts, db) == ([], [])
