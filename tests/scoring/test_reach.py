"""Response rates: the hand-computed quarter of tests/scoring/reach_seed.py, read per
agency, counter, staff member and channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import get_agency_by_code
from service.periods import parse_period
from service.profile import PROFILES_DIR, Profile, load_profile
from service.scoring.reach import agency_reach
from service.scoring.reach_schemas import AgencyReach, Dimension
from tests.conftest import DbFactory, KeyFactory
from tests.scoring.reach_seed import PERIOD, WARD, seed_reach

pytestmark = pytest.mark.usefixtures("agencies")
PROFILE = load_profile("hcmc-104-2024")


@pytest.fixture
def seeded(client: TestClient, make_key: KeyFactory, db: DbFactory, agencies: None) -> DbFactory:
    seed_reach(client, make_key, db)
    return db


def _reach(
    db: DbFactory,
    by: Dimension,
    code: str = WARD,
    period: str = PERIOD,
    subtree: bool = False,
    profile: Profile = PROFILE,
) -> AgencyReach:
    with db() as session:
        agency = get_agency_by_code(session, code)
        assert agency is not None
        return agency_reach(session, agency, parse_period(period), by, profile, subtree)


def _counts(row: Any) -> tuple[int, int, int, int, int]:
    return (row.issued, row.delivered, row.opened, row.answered, row.revoked)


def test_agency_totals_cut_the_period_in_local_time(seeded: DbFactory) -> None:
    reach = _reach(seeded, "agency")
    # 20 + 3 + 25 + 2 issued; B01 (1 July 00:10 local) is in, LATE (1 October 00:30 local,
    # still 30 September in UTC) is out; B04 was revoked.
    assert _counts(reach.total) == (50, 2, 29, 24, 1)
    assert reach.total.rate == 0.48
    assert reach.rows == []
    q4 = _reach(seeded, "agency", period="2025-Q4").total
    assert (q4.issued, q4.answered, q4.rate) == (1, 1, 1.0)
    june = _reach(seeded, "agency", period="2025-06").total
    assert (june.issued, june.rate) == (0, None)  # nothing issued: no rate, not 0


def test_counters_add_up_and_the_far_lower_one_is_flagged(seeded: DbFactory) -> None:
    reach = _reach(seeded, "counter")
    rows = {(r.group, r.key): r for r in reach.rows}
    assert set(rows) == {("named", "Q01"), ("named", "Q02"), ("none", None)}
    q01, q02, none = rows["named", "Q01"], rows["named", "Q02"], rows["none", None]
    assert _counts(q01) == (23, 0, 20, 18, 1) and not q01.flagged
    # 5 / 25 = 0.2, below 0.5 x 0.48 = 0.24, with 25 >= 20 issued.
    assert _counts(q02) == (25, 0, 8, 5, 0) and q02.rate == 0.2 and q02.flagged
    assert _counts(none) == (2, 2, 1, 1, 0) and not none.flagged
    assert q01.owner_agency_code == WARD
    assert sum(r.issued for r in reach.rows) == reach.total.issued
    assert sum(r.answered for r in reach.rows) == reach.total.answered


def test_staff_below_the_anonymity_minimum_are_folded(seeded: DbFactory) -> None:
    reach = _reach(seeded, "staff")
    rows = {(r.group, r.key): r for r in reach.rows}
    assert set(rows) == {("named", "CB1"), ("named", "CB3"), ("other_staff", None), ("none", None)}
    cb1, cb3 = rows["named", "CB1"], rows["named", "CB3"]
    assert _counts(cb1) == (20, 0, 18, 16, 0) and cb1.rate == 0.8 and not cb1.flagged
    # Exactly the minimum of 5 answers: shown, and far below the agency: flagged.
    assert _counts(cb3) == (25, 0, 8, 5, 0) and cb3.flagged
    other = rows["other_staff", None]
    assert _counts(other) == (3, 0, 2, 2, 1) and other.folded_staff == 1 and not other.flagged
    assert "CB2" not in {r.key for r in reach.rows}
    assert sum(r.issued for r in reach.rows) == reach.total.issued


def test_flag_needs_the_minimum_issued(seeded: DbFactory, tmp_path: Path) -> None:
    # The profile's minimum, one above Q02's 25 invitations: the same low rate is noise.
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    assert "flag_min_issued = 20" in text
    path = tmp_path / "stricter.toml"
    path.write_text(text.replace("flag_min_issued = 20", "flag_min_issued = 26"), "utf-8")
    reach = _reach(seeded, "counter", profile=load_profile(str(path)))
    q02 = next(r for r in reach.rows if r.key == "Q02")
    assert q02.rate == 0.2 and not q02.flagged


def test_handover_and_message_channels(seeded: DbFactory) -> None:
    rows = {r.key: r for r in _reach(seeded, "channel").rows}
    assert set(rows) == {"counter", "online"}
    assert _counts(rows["counter"]) == (48, 0, 28, 23, 1)
    assert _counts(rows["online"]) == (2, 2, 1, 1, 0)
    # Only sent messages count; an invitation and its reminder on one channel are one.
    sent = {r.key: r for r in _reach(seeded, "message_channel").rows}
    assert set(sent) == {"sms", "email"}
    assert _counts(sent["sms"]) == (1, 1, 1, 1, 0)
    assert _counts(sent["email"]) == (1, 1, 0, 0, 0)


def test_subtree_counts_descendants(seeded: DbFactory) -> None:
    assert _reach(seeded, "agency", code="79").total.issued == 0
    province = _reach(seeded, "counter", code="79", subtree=True)
    assert province.total.issued == 50
    assert {(r.owner_agency_code, r.key) for r in province.rows if r.group == "named"} == {
        (WARD, "Q01"),
        (WARD, "Q02"),
    }
