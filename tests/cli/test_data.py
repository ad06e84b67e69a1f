"""`hailong purge`, `hailong report` and `hailong demo`: what an operator types and reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.cli_runner import cli_for
from tests.conftest import make_settings

KEY_LINE = re.compile(r"^\s+(\w+)\s+(hl_\S+)", re.M)


@pytest.mark.parametrize("days", ["0", "-1", "36501", "1000000"])
def test_purge_refuses_a_retention_out_of_range(database_url: str, days: str) -> None:
    """0 used to fall back to HAILONG_RETENTION_DAYS in silence; -1 purged everything (a
    cutoff tomorrow); a million days overflowed the cut-off date, a traceback (audit)."""
    result = cli_for(database_url)("purge", "--older-than-days", days)
    assert result.exit_code == 2, result.output
    assert "--older-than-days" in result.stderr and "purged" not in result.stdout


def test_demo_prints_no_kiosk_key_and_a_pairing_code_that_pairs_a_tablet(
    database_url: str, client: TestClient
) -> None:
    output = cli_for(database_url)("demo").output
    assert [role for role, _ in KEY_LINE.findall(output)] == [
        *("issuer", "reader", "manager", "admin")
    ]
    code = re.search(r"pair it with the code (\S+)", output)
    assert code is not None, output
    paired = client.post("/kiosk/api/pair", json={"code": code.group(1)})
    assert paired.status_code == 200, paired.text


def test_demo_names_a_key_that_reads_tt01_for_every_ward(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint named the manager key, scoped to 79.BTH: a ranking of one row."""
    monkeypatch.setenv("HAILONG_SCORING_PROFILE_ALSO", "tt-01-2018")
    output = cli_for(database_url)("demo").output
    hint = re.search(r"^tt-01-2018: http://testserver(\S+) \(with the (\w+) key", output, re.M)
    assert hint is not None, output
    path, role = hint.groups()
    key = dict(KEY_LINE.findall(output))[role]
    settings = make_settings(database_url, scoring_profile_also="tt-01-2018")
    with TestClient(create_app(settings)) as client:
        ranking = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert ranking.status_code == 200, ranking.text
    assert len(ranking.json()["data"]) == 5  # both departments and the three wards


@pytest.mark.parametrize("name", ["HAILONG_RETENTION_DAYS", "HAILONG_WEBHOOK_RETENTION_DAYS"])
def test_a_retention_setting_past_a_century_stops_the_start(
    database_url: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "1000000")
    result = cli_for(database_url)("purge")
    assert result.exit_code == 2, result.output
    assert name in result.stderr and "36500" in result.stderr, result.stderr


@pytest.mark.usefixtures("agencies")
def test_a_report_into_a_missing_directory_is_one_line_before_it_is_built(
    database_url: str, tmp_path: Path
) -> None:
    """The report was gathered and rendered, then writing it ended in a FileNotFoundError
    traceback."""
    out = tmp_path / "no" / "such" / "r.pdf"
    result = cli_for(database_url)(
        "report", "--parent", "79", "--period", "2025-Q3", "--out", str(out)
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: cannot write {out}: the directory {out.parent} does not exist"
    ]
    assert not out.parent.exists()


@pytest.mark.usefixtures("agencies")
def test_a_report_is_written_where_asked(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "r.docx"
    result = cli_for(database_url)(
        "report", "--parent", "79", "--period", "2025-Q3", "--format", "docx", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"PK")  # a DOCX is a ZIP archive


@pytest.mark.usefixtures("agencies")
def test_a_report_takes_its_format_from_the_file_name_unless_told(
    database_url: str, tmp_path: Path
) -> None:
    """`--out report.docx` without --format wrote a PDF into it, which Word would not open;
    a --format that contradicts the name is refused before anything is written."""
    run = cli_for(database_url)
    common = ("report", "--parent", "79", "--period", "2025-Q3", "--out")
    docx, pdf, other = tmp_path / "r.DOCX", tmp_path / "r.pdf", tmp_path / "r.bin"
    for out in (docx, pdf, other):
        assert run(*common, str(out)).exit_code == 0
    assert docx.read_bytes().startswith(b"PK")  # a DOCX is a ZIP archive
    assert pdf.read_bytes().startswith(b"%PDF") and other.read_bytes().startswith(b"%PDF")
    clash = tmp_path / "clash.docx"
    result = run(*common, str(clash), "--format", "pdf")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: --format pdf would write a PDF into clash.docx: change one"
    ]
    assert not clash.exists()
