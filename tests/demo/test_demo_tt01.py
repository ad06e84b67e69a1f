"""`hailong demo` with TT 01/2018 beside the K score (what `make run` seeds and serves): the
seeded quarters have TT 01 totals and classes, and the K score is the one the demo gives
without it (the demo is deterministic: same seed, same dossiers, answers and inputs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.calendar.working_days import LOCAL_TZ, local_date
from service.periods import period_containing
from tests.cli_runner import cli_for
from tests.conftest import Backend, make_settings
from tests.demo.test_demo import _keys

TT01 = "tt-01-2018"
# What a K score is made of (not when it was computed, nor when E was entered: those
# differ between two seedings).
K_FIGURES = (
    *("a", "b", "c", "d", "e", "k", "group", "k_min", "k_max", "missing", "rank"),
    *("d_source", "group5", "counts"),
)


def _seed_and_read(
    database_url: str, quarter: str, also: str | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Seed the demo (the CLI, as `make run` does) and read the quarter's K scores and,
    with `also`, its TT 01 scores, from a service with the same settings."""
    if also is None:
        monkeypatch.delenv("HAILONG_SCORING_PROFILE_ALSO", raising=False)
    else:
        monkeypatch.setenv("HAILONG_SCORING_PROFILE_ALSO", also)
    result = cli_for(database_url)("demo")
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {_keys(result.output)['reader']}"}
    settings = make_settings(database_url, scoring_profile_also=also)
    with TestClient(create_app(settings)) as client:

        def scores(**params: str) -> list[dict[str, Any]]:
            response = client.get(
                "/api/v1/scores", params={"period": quarter, **params}, headers=headers
            )
            assert response.status_code == 200, response.text
            data: list[dict[str, Any]] = response.json()["data"]
            return data

        return scores(), scores(profile=TT01) if also else None


@pytest.mark.heavy
@pytest.mark.parametrize("which", ["last", "current"])
def test_demo_scores_tt01_beside_an_unchanged_k(
    backend: Backend, database_url: str, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    current = period_containing(local_date(datetime.now(LOCAL_TZ)), "quarter")
    quarter = (current.previous() if which == "last" else current).key
    k_alone, _ = _seed_and_read(database_url, quarter, None, monkeypatch)
    # The same demo again, on an emptied database, with TT 01/2018 beside the K score.
    k_beside, tt01 = _seed_and_read(backend.reset(), quarter, TT01, monkeypatch)
    assert tt01 is not None

    resolved = {s["agency_code"]: s for s in tt01 if s["counts"]["resolved_dossiers"] > 0}
    assert sorted(resolved) == ["79.BTH", "79.SGN", "79.STP", "79.SXD", "79.TDH"]
    for code, score in resolved.items():
        assert score["profile"] == TT01
        assert score["total"] is not None and score["missing"] == [], (code, score)
        assert score["classification"] in {"tot", "dat", "khong_dat"}, (code, score)
        assert score["rank"] is not None and score["entered"]["set_by"]
        indicators = {i["key"]: i for i in score["indicators"]}
        # Indicator 4 rests on the citizens' answers to the TT 01 question.
        contacted = indicators["agencies_contacted"]
        assert contacted["basis"] == "evaluations" and contacted["count"] > 0, (code, contacted)
        assert contacted["count"] <= score["counts"]["evaluations"]
        for entered in ("desk_organisation", "public_posting", "online_services"):
            assert indicators[entered]["points"] in (1, 2), (code, entered)
    # Most entered indicators are full marks, some are 1.
    entered_points = [
        i["points"] for s in resolved.values() for i in s["indicators"] if i["basis"] == "entered"
    ]
    assert 1 in entered_points and entered_points.count(2) > len(entered_points) / 2
    # The agency with nothing resolved (the province) has no total, not a zero.
    assert all(s["total"] is None for s in tt01 if s["counts"]["resolved_dossiers"] == 0)

    # K is what the demo gives without TT 01 beside it, figure for figure.
    def k_figures(scores: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {s["agency_code"]: {f: s[f] for f in K_FIGURES} for s in scores}

    assert all(s["profile"] == "hcmc-104-2024" for s in k_beside)
    assert k_figures(k_beside) == k_figures(k_alone)
    assert sum(1 for s in k_alone if s["k"] is not None) == 5
