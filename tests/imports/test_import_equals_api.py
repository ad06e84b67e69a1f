"""The same past data, posted through the API or imported with `hailong import` (one file,
or dossiers and evaluations apart), gives the same scores: agency scores for a month and a
quarter, with TT 01/2018 beside the K score, staff scores and a dossier's (README "Bulk
import of the past"; written by the imports audit, which found them equal)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.admin.agencies import upsert_agency
from service.app import create_app
from service.db import make_engine, transaction
from service.imports.run import Options, run_import
from service.profile import profile_of
from service.settings import Settings
from tests.conftest import Backend, KeyFactory, make_settings

TT01 = "tt-01-2018"
AGENCIES = [("79", None), ("79.BTH", "79")]

# (code, received, due, resolved, handed_over, supplements, channel, staff R/H/Ret, answers)
GOOD = {"timeliness": "on_time", "supplement_requests": "none", "staff_attitude": "good",
        "overall": "satisfied", "agencies_contacted": "desk_only"}  # fmt: skip


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in range(1, 9):
        answers: dict[str, str] | None = dict(GOOD)
        resolved = "2025-09-15T10:00:00+07:00"
        due: str | None = "2025-09-15T17:00:00+07:00"
        supplements = 0
        submitted = "2025-09-16T09:00:00+07:00"
        if n == 2:  # late by 3 working days, unsatisfied
            resolved = "2025-09-18T10:00:00+07:00"
            answers = dict(GOOD, overall="unsatisfied", timeliness="late")
            submitted = "2025-09-19T09:00:00+07:00"
        if n == 3:  # late by more than 5 working days, poor attitude, no overall
            resolved = "2025-09-29T10:00:00+07:00"
            answers = {"timeliness": "late", "supplement_requests": "once",
                       "staff_attitude": "poor", "agencies_contacted": "several_more"}  # fmt: skip
            submitted = "2025-09-30T09:00:00+07:00"
        if n == 4:  # no due time, two supplement requests
            due, supplements = None, 2
            answers = dict(GOOD, supplement_requests="twice_or_more", staff_attitude="normal")
        if n == 5:  # not evaluated
            answers = None
        if n == 6:  # resolved in August, evaluated in September
            resolved, due = "2025-08-20T10:00:00+07:00", "2025-08-21T17:00:00+07:00"
            submitted = "2025-09-02T09:00:00+07:00"
        rows.append(
            {
                "dossier_code": f"PAST-{n}",
                "received_at": "2025-08-01T08:00:00+07:00",
                "due_at": due,
                "resolved_at": resolved,
                "handed_over_at": None,
                "supplement_requests": supplements,
                "channel": "online" if n % 2 else "counter",
                "staff": {"receiving": "CB1", "handling": f"CB{n % 2 + 2}", "returning": "CB9"},
                "counter_code": "Q01",
                "answers": answers,
                "submitted_at": submitted,
            }
        )
    return rows


PETITIONS: list[dict[str, Any]] = [
    {"petition_code": "PA-1", "received_at": "2025-09-03T09:00:00+07:00",
     "handled_at": "2025-09-05T09:00:00+07:00", "citizen_verdict": "satisfied"},
    {"petition_code": "PA-2", "received_at": "2025-07-01T09:00:00+07:00",
     "handled_at": "2025-08-29T09:00:00+07:00", "citizen_verdict": "unsatisfied",
     "dossier_code": "PAST-1"},
    {"petition_code": "PA-3", "received_at": "2025-07-02T09:00:00+07:00"},
    {"petition_code": "PA-4", "received_at": "2025-09-04T09:00:00+07:00",
     "handled_at": "2025-09-08T09:00:00+07:00", "within_authority": False,
     "result_complaint": True},
]  # fmt: skip


def _through_api(client: TestClient, make_key: KeyFactory) -> None:
    issuer, admin = make_key("issuer"), make_key("admin")
    for row in _rows():
        body = {k: v for k, v in row.items() if k not in ("answers", "submitted_at")}
        body["agency_code"] = "79.BTH"
        body = {k: v for k, v in body.items() if v is not None}
        issued = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert issued.status_code == 201, issued.text
        if row["answers"] is None:
            continue
        sent = client.post(
            "/api/v1/responses",
            json={
                "token": issued.json()["survey_url"].rsplit("/", 1)[1],
                "answers": row["answers"],
                "submitted_at": row["submitted_at"],
            },
            headers=admin,
        )
        assert sent.status_code == 201, sent.text
    for petition in PETITIONS:
        sent = client.post(
            "/api/v1/petitions", json={**petition, "agency_code": "79.BTH"}, headers=admin
        )
        assert sent.status_code in (200, 201), sent.text


def _cell(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def _files(tmp_path: Path, split: bool = False) -> list[Path]:
    header = [
        "dossier_code", "agency_code", "received_at", "due_at", "resolved_at",
        "supplement_requests", "channel", "staff.receiving", "staff.handling",
        "staff.returning", "counter_code", "submitted_at", "answers.timeliness",
        "answers.supplement_requests", "answers.staff_attitude", "answers.overall",
        "answers.agencies_contacted",
    ]  # fmt: skip
    dossiers = tmp_path / "dossiers.csv"
    with dossiers.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.DictWriter(handle, header)
        out.writeheader()
        for row in _rows():
            line = {
                "dossier_code": row["dossier_code"],
                "agency_code": "79.BTH",
                "received_at": row["received_at"],
                "due_at": row["due_at"] or "",
                "resolved_at": row["resolved_at"],
                "supplement_requests": str(row["supplement_requests"]),
                "channel": row["channel"],
                "counter_code": row["counter_code"],
                **{f"staff.{k}": v for k, v in row["staff"].items()},
            }
            if row["answers"] is not None and not split:
                line["submitted_at"] = row["submitted_at"]
                line.update({f"answers.{k}": v for k, v in row["answers"].items()})
            out.writerow(line)
    evaluations = tmp_path / "evaluations.csv"
    with evaluations.open("w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, ["agency_code", "dossier_code", *header[11:]])
        out.writeheader()
        for row in _rows():
            if row["answers"] is None:
                continue
            out.writerow(
                {
                    "agency_code": "79.BTH",
                    "dossier_code": row["dossier_code"],
                    "submitted_at": row["submitted_at"],
                    **{f"answers.{k}": v for k, v in row["answers"].items()},
                }
            )
    petitions = tmp_path / "petitions.csv"
    columns = ["petition_code", "agency_code", "dossier_code", "received_at", "handled_at",
               "citizen_verdict", "within_authority", "result_complaint"]  # fmt: skip
    with petitions.open("w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, columns)
        out.writeheader()
        for petition in PETITIONS:
            out.writerow(
                {
                    **{k: _cell(v) for k, v in petition.items()},
                    "agency_code": "79.BTH",
                }
            )
    return [dossiers, evaluations, petitions] if split else [dossiers, petitions]


VOLATILE = {"computed_at", "etag", "sources", "generated_at", "as_of"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _read_all(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for period in ("2025-08", "2025-09", "2025-Q3"):
        for params in ({}, {"profile": TT01}):
            url = f"/api/v1/agencies/79.BTH/scores/{period}"
            answer = client.get(url, params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            seen[f"{url}?{params}"] = _strip(answer.json())
        url = f"/api/v1/agencies/79.BTH/staff-scores/{period}"
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        seen[url] = _strip(answer.json())
    for code in ("PAST-1", "PAST-2", "PAST-3", "PAST-4", "PAST-6"):
        for params in ({}, {"profile": TT01}):
            url = f"/api/v1/dossiers/{code}/score"
            answer = client.get(url, params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            seen[f"{url}?{params}"] = _strip(answer.json())
    return seen


@pytest.fixture
def both(database_url: str) -> Iterator[tuple[Settings, TestClient]]:
    settings = make_settings(database_url, scoring_profile_also=TT01)
    engine = make_engine(settings)
    with transaction(engine) as session:
        for code, parent in AGENCIES:
            upsert_agency(session, code, code, parent, actor="test")
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield settings, client


def _diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [k for k in a if a[k] != b.get(k)]


@pytest.mark.parametrize("split", [False, True], ids=["one_file", "evaluations_apart"])
def test_imported_past_scores_like_the_same_data_posted_through_the_api(
    split: bool,
    both: tuple[Settings, TestClient],
    backend: Backend,
    make_key: KeyFactory,
    tmp_path: Path,
) -> None:
    settings, client = both
    _through_api(client, make_key)
    via_api = _read_all(client, make_key("admin"))

    backend.reset()
    engine = make_engine(settings)
    with transaction(engine) as session:
        for code, parent in AGENCIES:
            upsert_agency(session, code, code, parent, actor="test")
    profile = profile_of(settings)
    for path in _files(tmp_path, split):
        outcome = run_import(engine, settings, profile, path, Options())
        assert outcome.status == "done", outcome
    engine.dispose()
    via_import = _read_all(client, make_key("admin"))
    differing = _diff(via_api, via_import)
    assert not differing, {k: (via_api[k], via_import[k]) for k in differing}
