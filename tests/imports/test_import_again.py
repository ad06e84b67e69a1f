"""`hailong import` of a file whose import is done already: said so, with its job and when,
and nothing read or written. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from service.imports.run import report_path
from service.models import AuditLog, Dossier, ImportJob
from tests.cli_runner import cli_for
from tests.conftest import DbFactory
from tests.imports.test_import import _dossier, _good_rows, write_csv

pytestmark = pytest.mark.usefixtures("agencies")


def _petitions(path: Path) -> Path:
    path.write_text(
        "petition_code,agency_code,received_at\nPA-1,79.BTH,2025-09-10T08:30:00+07:00\n",
        "utf-8",
    )
    return path


def _written(db: DbFactory) -> list[int]:
    """Jobs, audit records and dossiers: what a run that writes nothing leaves as it was."""
    with db() as session:
        return [
            int(session.execute(select(func.count()).select_from(model)).scalar_one())
            for model in (ImportJob, AuditLog, Dossier)
        ]


@pytest.mark.parametrize(
    ("kind", "again"),
    [("dossiers", []), ("dossiers", ["--dry-run"]), ("dossiers", ["--resume"]), ("petitions", [])],
)
def test_a_file_imported_already_is_said_so_with_its_job_and_nothing_is_written(
    kind: str, again: list[str], tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(review) Run again, a file imported in full listed every row as "already in hailong"
    and exited 1, as if the file were wrong, where the operator needs to hear that this very
    file was imported (which job, when); a petitions file was written again over what the
    API changed since."""
    path = tmp_path / f"{kind}.csv"
    if kind == "dossiers":
        write_csv(path, _good_rows())
    else:
        _petitions(path)
    cli = cli_for(database_url)
    assert cli("import", str(path)).exit_code == 0
    with db() as session:
        job = session.execute(select(ImportJob)).scalars().one()
    before = _written(db)

    result = cli("import", str(path), *again)
    said = " ".join(result.output.split())
    assert result.exit_code == 0, said
    assert said == (
        f"This file was already imported as job {job.id} on "
        f"{job.finished_at:%Y-%m-%d %H:%M} UTC ({job.rows_written} row(s) written): "
        "nothing to do"
    ), said
    assert _written(db) == before
    assert not report_path(path).exists()


def test_rows_skipped_for_an_agency_created_since_go_in_when_the_file_is_run_again(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(review) A file imported with --skip-invalid, whose row was skipped only because its
    agency did not exist yet, was answered "nothing to do" once the agency was added: its
    run skipped rows, so it is read again, and the skipped row goes in."""
    rows = [_dossier(1), {**_dossier(2), "agency_code": "79.NEW"}]
    path = write_csv(tmp_path / "past.csv", rows)
    cli = cli_for(database_url)
    assert cli("import", str(path), "--skip-invalid").exit_code == 0
    added = cli("agencies", "add", "79.NEW", "Phường Mới", "--parent", "79")
    assert added.exit_code == 0, added.output

    again = cli("import", str(path), "--skip-invalid")
    said = " ".join(again.output.split())
    assert again.exit_code == 0, said
    assert "nothing to do" not in said
    with db() as session:
        codes = sorted(session.execute(select(col(Dossier.code))).scalars())
    assert codes == ["IMP-0001", "IMP-0002"], said
