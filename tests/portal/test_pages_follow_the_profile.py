"""Figures and rule words on the console and public pages follow the scoring profile: they
were written for the shipped ones (rules audit; operators may copy and change a profile,
DESIGN: "Every constant below lives in a scoring profile (a TOML file), never in code")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.profile import PROFILES_DIR
from tests.conftest import KeyFactory, handover_body, make_settings
from tests.console.conftest import ConsoleClient, raw_key

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"


def _app(database_url: str, tmp_path: Path, **replace: str) -> TestClient:
    text = (PROFILES_DIR / "vn-766.toml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "vn-766-variant.toml"
    path.write_text(text, encoding="utf-8")
    settings = make_settings(database_url).model_copy(update={"scoring_profile": str(path)})
    return TestClient(create_app(settings))


def _post(client: TestClient, key: dict[str, str], code: str, **over: object) -> None:
    body = handover_body(dossier_code=code, agency_code="79.BTH", **over)
    response = client.post("/api/v1/handovers", json=body, headers=key)
    assert response.status_code in (200, 201), response.text


def _console_row(client: TestClient, make_key: KeyFactory, code: str) -> str:
    console = ConsoleClient(client)
    console.sign_in(raw_key(make_key("manager", "79")))
    page = console.get("/console/a/79.BTH/dossiers?period=2025-09").text
    found = re.search(rf'<tr data-dossier="{code}">(.*?)</tr>', page, re.S)
    assert found, code
    return found.group(1)


def test_console_a_points_of_a_grace_dossier_match_explain(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """late_within_grace_points = 0.25: explain says 0.25, the console must not say 0,2."""
    with _app(
        database_url,
        tmp_path,
        **{"late_within_grace_points = 0.0": "late_within_grace_points = 0.25"},
    ) as client:
        # 1 working day late: due Mon 15/9 17:00, resolved Tue 16/9.
        _post(
            client,
            make_key("issuer"),
            "L1",
            due_at=f"2025-09-15T17:00:00{VN}",
            resolved_at=f"2025-09-16T10:00:00{VN}",
        )
        explain = client.get(
            "/api/v1/agencies/79.BTH/scores/2025-09/explain", headers=make_key("admin")
        ).json()
        assert explain["dossiers"]["rows"][0]["points"] == 0.25
        cell = re.search(r'data-label="Điểm A">([^<]*)<', _console_row(client, make_key, "L1"))
        assert cell is not None
        assert cell.group(1) == "0,25 / 1"


def test_console_supplements_reason_names_the_profiles_count(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """supplements_overdue_from = 3: the reason tag must not say "from 2"."""
    with _app(
        database_url, tmp_path, **{"supplements_overdue_from = 2": "supplements_overdue_from = 3"}
    ) as client:
        _post(
            client,
            make_key("issuer"),
            "S3",
            due_at=f"2025-09-16T17:00:00{VN}",
            resolved_at=f"2025-09-15T10:00:00{VN}",
            supplement_requests=3,
        )
        tag = re.search(r'<span class="tag">([^<]*)</span>', _console_row(client, make_key, "S3"))
        assert tag is not None
        assert tag.group(1) == "Bổ sung từ 3 lần"


def test_public_page_b_meaning_follows_max_supplement_requests(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    """max_supplement_requests_for_point = 0: B's point only for "never asked"; the page's
    definition of B must not say "at most once"."""
    with _app(
        database_url,
        tmp_path,
        **{"max_supplement_requests_for_point = 1": "max_supplement_requests_for_point = 0"},
    ) as client:
        _post(client, make_key("issuer"), "X")
        page = client.get("/agencies/79.BTH?period=2025-09").text
        meaning = re.search(r'<p class="meaning">(Tỷ lệ người dân[^<]*bổ sung[^<]*)</p>', page)
        assert meaning is not None
        assert meaning.group(1) == "Tỷ lệ người dân không phải bổ sung hồ sơ lần nào."


def test_a_dossier_late_by_hours_is_not_told_as_a_day_or_more_late(
    client: TestClient, make_key: KeyFactory
) -> None:
    """Late within the grace is late by at most 5 working days, 0 included: a dossier
    resolved hours after its due time, or on the Saturday after a Friday due time, was
    told as "late from 1 to 5 working days" (score audit)."""
    issuer = make_key("issuer")
    # Due Mon 15/9 10:00, resolved 15:00; due Fri 19/9 17:00, resolved Sat 20/9; on time.
    _post(
        client,
        issuer,
        "H1",
        resolved_at=f"2025-09-15T15:00:00{VN}",
        due_at=f"2025-09-15T10:00:00{VN}",
    )
    _post(
        client,
        issuer,
        "H2",
        resolved_at=f"2025-09-20T09:00:00{VN}",
        due_at=f"2025-09-19T17:00:00{VN}",
    )
    _post(
        client,
        issuer,
        "H3",
        resolved_at=f"2025-09-16T09:00:00{VN}",
        due_at=f"2025-09-16T17:00:00{VN}",
    )
    page = client.get("/agencies/79.BTH", params={"period": "2025-09"})
    assert page.status_code == 200
    said = re.sub(r"\s+", " ", page.text)
    assert "2 trong 3 hồ sơ bị trễ hạn không quá 5 ngày làm việc" in said
    assert "trễ từ 1 đến" not in said
    english = client.get("/agencies/79.BTH", params={"period": "2025-09", "lang": "en"}).text
    late = r"Late, within the grace of 5 working day\(s\), worth [^:]* each: 2 of 3 dossiers\."
    assert re.search(late, re.sub(r"\s+", " ", english))
