"""Every score says where D came from and who entered D and E, and when (issue 17, item 3):
on the API, and on the public agency page in Vietnamese and English."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.auth.officials import add_official, official_principal
from service.calendar.working_days import LOCAL_TZ
from service.models import Agency
from service.periods import parse_period
from service.profile import PROFILES_DIR, load_profile
from service.scoring.inputs import set_inputs
from service.scoring.schemas import InputsUpdate
from tests.conftest import DbFactory, KeyFactory, handover_body, make_settings

pytestmark = pytest.mark.usefixtures("agencies")
WARD, PERIOD = "79.BTH", "2025-Q3"
INPUTS = f"/api/v1/agencies/{WARD}/periods/{PERIOD}/inputs"
SCORE = f"/api/v1/agencies/{WARD}/scores/{PERIOD}"


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_score_says_who_entered_d_and_e_and_when(client: TestClient, make_key: KeyFactory) -> None:
    admin, city = make_key("admin"), make_key("manager", agency="79")
    own = make_key("manager", agency=WARD)
    body = handover_body(dossier_code="P-1", agency_code=WARD)
    assert client.post("/api/v1/handovers", json=body, headers=admin).status_code == 201
    nothing = client.get(SCORE, headers=own).json()
    assert nothing["inputs"] == {"d": None, "e": None}

    assert client.put(INPUTS, json={"d": 17.5, "e": 1}, headers=admin).status_code == 200
    changed = client.put(INPUTS, json={"e": 0}, headers=city)
    assert changed.status_code == 200
    score = client.get(SCORE, headers=own).json()  # the ward's manager reads it
    assert score["d_source"] == "imported"
    assert score["inputs"]["d"]["set_by"].endswith("test admin")
    assert score["inputs"]["e"]["set_by"].endswith("test manager")
    d_at = datetime.fromisoformat(score["inputs"]["d"]["set_at"])
    e_at = datetime.fromisoformat(score["inputs"]["e"]["set_at"])
    assert d_at <= e_at  # E was entered after D, by someone else
    listed = client.get(f"/api/v1/scores?period={PERIOD}&agency_code={WARD}", headers=own).json()
    assert listed["data"][0]["inputs"] == score["inputs"]

    # The public page says who typed D in, and when: not "from the petition system".
    day = d_at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")
    page = visible_text(client.get(f"/agencies/{WARD}?period={PERIOD}").text)
    assert f"D = 17,5, do test admin nhập ngày {day}" in page
    assert "lấy từ hệ thống xử lý phản ánh" not in page
    english = visible_text(client.get(f"/agencies/{WARD}?period={PERIOD}&lang=en").text)
    # In the English reader's order (a day-first date reads as another day there).
    english_day = format_date(d_at.astimezone(LOCAL_TZ).date(), "medium", locale="en")
    assert f"D = 17.5, entered by test admin on {english_day}" in english

    # D cleared: computed from the agency's own data again, and said so.
    cleared = client.put(INPUTS, json={"d": None}, headers=admin).json()
    assert cleared["inputs"]["d"] is None and cleared["inputs"]["e"] is not None
    assert cleared["d_source"] != "imported"
    page = visible_text(client.get(f"/agencies/{WARD}?period={PERIOD}").text)
    assert "do test admin nhập" not in page


@pytest.mark.parametrize("spelled", ["2025-Q3%20%20", "%092025-Q3%0A", "2025-Q3%09%09"])
def test_a_period_with_spaces_around_it_is_the_same_period(
    client: TestClient, make_key: KeyFactory, spelled: str
) -> None:
    """D entered under '2025-Q3 ' was once stored under that key (a 500 on PostgreSQL when
    the key outgrew its column, a D the score never read when it did not)."""
    admin = make_key("admin")
    padded = f"/api/v1/agencies/{WARD}/periods/{spelled}/inputs"
    stored = client.put(padded, json={"d": 12}, headers=admin)
    assert stored.status_code == 200, stored.text
    assert stored.json()["period"] == PERIOD
    score = client.get(SCORE, headers=admin).json()
    assert (score["d"], score["d_source"], score["inputs"]["d"] is not None) == (
        12,
        "imported",
        True,
    )


# Full-width digits: int() reads them, and they made a second key for the same quarter.
@pytest.mark.parametrize("spelled", ["\uff12\uff10\uff12\uff15-Q3", "2025-Q\uff13", "2025 -Q3"])
def test_a_period_in_other_digits_is_refused(
    client: TestClient, make_key: KeyFactory, spelled: str
) -> None:
    answer = client.put(
        f"/api/v1/agencies/{WARD}/periods/{spelled}/inputs",
        json={"d": 12},
        headers=make_key("admin"),
    )
    assert answer.status_code == 422


def test_the_public_page_names_no_officials_mailbox(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """An official's actor is their e-mail address: the public page said "D = 17,5, do
    official:1:nguyen.van.an@hcm.gov.vn nhập ngày ..." (exports audit). It names the
    competent authority and the day; the API (keyed) still says who, by name."""
    admin = make_key("admin")
    body = handover_body(dossier_code="P-2", agency_code=WARD)
    assert client.post("/api/v1/handovers", json=body, headers=admin).status_code == 201
    with db() as session:
        official = add_official(session, "test", "nguyen.van.an@hcm.gov.vn", "An", "manager", "79")
        session.flush()
        assert official.id is not None
        who = official_principal(session, official.id)
        assert who is not None
        agency = session.exec(select(Agency).where(Agency.code == WARD)).one()
        update = InputsUpdate(d=17.5)
        set_inputs(
            session, who, agency, parse_period(PERIOD), update, load_profile("hcmc-104-2024")
        )
        signed = f"official:{official.id}:An"
    score = client.get(SCORE, headers=admin).json()
    assert score["inputs"]["d"]["set_by"] == signed  # by name: no mailbox in a Score (below)
    day = datetime.fromisoformat(score["inputs"]["d"]["set_at"]).astimezone(LOCAL_TZ)
    page = client.get(f"/agencies/{WARD}?period={PERIOD}").text
    assert "hcm.gov.vn" not in page
    words = f"D = 17,5, do cơ quan có thẩm quyền nhập ngày {day:%d/%m/%Y}"
    assert words in visible_text(page)
    english = visible_text(client.get(f"/agencies/{WARD}?period={PERIOD}&lang=en").text)
    english_day = format_date(day.date(), "medium", locale="en")
    assert f"D = 17.5, entered by the competent authority on {english_day}" in english


def test_a_wards_reader_is_not_given_the_provinces_officials_mailbox(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(scope audit) A province official entering a ward's D and E signed them with their
    e-mail address, handed in every Score to the ward's reader key (its portal), which the
    officials API does not even show that official to. They are signed with the name."""
    mailbox = "nguyen.van.a@noivu.gov.vn"
    period = "2025-Q3"
    with db() as session:
        official = add_official(session, "test", mailbox, "Nguyễn Văn A", "manager", "79")
        assert official.id is not None
        who = official_principal(session, official.id)
        assert who is not None
        ward = session.exec(select(Agency).where(Agency.code == WARD)).one()
        update = InputsUpdate(d=17, e=1)
        set_inputs(session, who, ward, parse_period(period), update, load_profile("hcmc-104-2024"))
        signed = f"official:{official.id}:Nguyễn Văn A"
    listed = client.get("/api/v1/officials", headers=make_key("admin", agency=WARD)).json()
    assert mailbox not in str(listed)
    reader = make_key("reader", agency=WARD)
    score = client.get(f"/api/v1/agencies/{WARD}/scores/{period}", headers=reader)
    assert score.status_code == 200, score.text
    assert mailbox not in score.text
    assert score.json()["inputs"]["d"]["set_by"] == score.json()["inputs"]["e"]["set_by"] == signed


def test_an_official_added_without_a_name_signs_with_no_mailbox(
    client: TestClient, make_key: KeyFactory, db: DbFactory
) -> None:
    """(review) An official added without a name has their e-mail as name (the API's
    default): their entries were signed "official:<id>:<e-mail>" all the same."""
    mailbox = "nguyen.van.b@noivu.gov.vn"
    added = client.post(
        "/api/v1/officials",
        json={"email": mailbox, "role": "manager", "agency_code": "79"},
        headers=make_key("admin"),
    )
    assert added.status_code == 201, added.text
    official_id = added.json()["id"]
    with db() as session:
        who = official_principal(session, official_id)
        assert who is not None
        ward = session.exec(select(Agency).where(Agency.code == WARD)).one()
        update = InputsUpdate(d=17, e=1)
        set_inputs(session, who, ward, parse_period(PERIOD), update, load_profile("hcmc-104-2024"))
    score = client.get(SCORE, headers=make_key("reader", agency=WARD))
    assert mailbox not in score.text
    assert score.json()["inputs"]["d"]["set_by"] == f"official:{official_id}:Cán bộ #{official_id}"


def test_e_is_zero_or_the_profiles_e_max(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """E's values were a Literal[0, 1] in the schema and D alone was checked against the
    profile: E is now 0 or k_score.e_max, whatever the profile says (recompute audit)."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    text = text.replace('name = "hcmc-104-2024"', 'name = "e-of-two"')
    path = tmp_path / "e-of-two.toml"
    path.write_text(text.replace("e_max = 1.0\n", "e_max = 2.0\n", 1), encoding="utf-8")
    settings = make_settings(database_url, scoring_profile=str(path))
    url = "/api/v1/agencies/G22.39/periods/2025-09/inputs"
    with TestClient(create_app(settings)) as client:
        admin = make_key("admin")
        refused = client.put(url, json={"e": 1}, headers=admin)
        assert refused.status_code == 422
        assert refused.json()["fields"] == [{"field": "e", "problem": "must be 0 or 2"}]
        put = client.put(url, json={"d": 18, "e": 2}, headers=admin)
        assert put.status_code == 200, put.text
        assert (put.json()["e"], put.json()["k_max"]) == (2, 23)
