"""`hailong import`: good files import with the API's scores, bad rows are each reported
and nothing of their file is written, --skip-invalid, --resume after an interruption, and
one recompute per import. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select, text
from sqlmodel import Session, col

from service.db import make_engine
from service.imports import writing
from service.imports.run import ImportStopped, Options, Outcome, report_path, run_import
from service.models import AuditLog, Dossier, ImportJob, Invitation, Petition, Response, Staff
from service.profile import profile_of
from service.settings import Settings
from tests.cli_runner import cli_for
from tests.conftest import DbFactory, KeyFactory, handover_body

pytestmark = pytest.mark.usefixtures("agencies")

HEADER = [
    "dossier_code", "agency_code", "received_at", "due_at", "resolved_at", "staff.handling",
    "counter_code", "submitted_at", "answers.timeliness", "answers.supplement_requests",
    "answers.staff_attitude", "answers.overall",
]  # fmt: skip
ANSWERS = {
    "timeliness": "on_time",
    "supplement_requests": "none",
    "staff_attitude": "good",
    "overall": "satisfied",
}


def _dossier(n: int, late: bool = False, **answers: str) -> dict[str, str]:
    resolved = "2025-09-20T10:00:00+07:00" if late else "2025-09-15T10:00:00+07:00"
    # Answered the day after the result (an answer before it is refused).
    submitted = "2025-09-21T09:00:00+07:00" if late else "2025-09-16T09:00:00+07:00"
    row = {
        "dossier_code": f"IMP-{n:04d}",
        "agency_code": "79.BTH",
        "received_at": "2025-09-10T08:30:00+07:00",
        "due_at": "2025-09-15T17:00:00+07:00",
        "resolved_at": resolved,
        "staff.handling": f"CB{n % 3}",
        "counter_code": "Q01",
        "submitted_at": submitted,
    }
    row.update({f"answers.{k}": v for k, v in (ANSWERS | answers).items()})
    return row


def _import(settings: Settings, path: Path, options: Options) -> Outcome:
    """`run_import` as the CLI runs it: on an engine of its own, disposed after."""
    engine = make_engine(settings)
    try:
        return run_import(engine, settings, profile_of(settings), path, options)
    finally:
        engine.dispose()


def _good_rows() -> list[dict[str, str]]:
    return [
        _dossier(1),
        _dossier(2, late=True, overall="unsatisfied"),
        _dossier(3, staff_attitude="poor"),
        _dossier(4, supplement_requests="once"),
    ]


def write_csv(
    path: Path, rows: list[dict[str, str]], bom: bool = True, header: list[str] = HEADER
) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        out = csv.DictWriter(handle, header)
        out.writeheader()
        out.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append([row.get(c) for c in HEADER])
    book.save(path)
    return path


def _scores(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.get("/api/v1/agencies/79.BTH/scores/2025-Q3", headers=headers)
    assert answer.status_code == 200, answer.text
    score = answer.json()
    return {k: score[k] for k in ("a", "b", "c", "k", "group", "counts")}


def _count(db: DbFactory, model: Any) -> int:
    with db() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _recomputes(db: DbFactory) -> int:
    with db() as session:
        query = select(func.count()).where(AuditLog.action == "scores.recompute")  # type: ignore[arg-type]
        return int(session.execute(query).scalar_one())


def _through_api(client: TestClient, make_key: KeyFactory) -> None:
    issuer, admin = make_key("issuer"), make_key("admin")
    for row in _good_rows():
        body = handover_body(
            dossier_code=row["dossier_code"],
            agency_code="79.BTH",
            resolved_at=row["resolved_at"],
            handed_over_at=None,
            staff={"handling": row["staff.handling"]},
        )
        issued = client.post("/api/v1/handovers", json=body, headers=issuer)
        assert issued.status_code == 201, issued.text
        answers = {k.removeprefix("answers."): v for k, v in row.items() if "answers." in k}
        sent = client.post(
            "/api/v1/responses",
            json={
                "token": issued.json()["survey_url"].rsplit("/", 1)[1],
                "answers": answers,
                "submitted_at": row["submitted_at"],
            },
            headers=admin,
        )
        assert sent.status_code == 201, sent.text


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_good_file_scores_like_the_api(
    form: str,
    tmp_path: Path,
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    database_url: str,
    backend: Any,
) -> None:
    _through_api(client, make_key)
    reader = make_key("reader")
    via_api = _scores(client, reader)
    assert via_api["counts"]["evaluations"] == 4
    # The same data imported into an emptied database.
    backend.reset()
    from service.admin.agencies import upsert_agency
    from service.db import transaction
    from tests.conftest import make_settings

    engine = make_engine(make_settings(database_url))
    with transaction(engine) as session:
        for code, parent in [("79", None), ("79.BTH", "79")]:
            upsert_agency(session, code, code, parent, actor="test")
    engine.dispose()
    path = tmp_path / f"past.{form}"
    (write_csv if form == "csv" else write_xlsx)(path, _good_rows())
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 0, result.output
    assert "scores recomputed once" in result.output
    assert _scores(client, make_key("reader")) == via_api
    engine = make_engine(make_settings(database_url))  # the reset replaced the file
    assert _recomputes(lambda: transaction(engine)) == 1
    engine.dispose()
    assert not report_path(path).exists()


def test_peoples_words_starting_like_a_formula_are_kept_as_the_api_keeps_them(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """(imports audit) An older system's comment written as a list ("- Cán bộ hẹn…") was
    refused as a spreadsheet formula, though the API stores it: the officer had to rewrite
    the citizen's words or drop the evaluation. A code, time or number cell still is."""
    comment = "- Cán bộ hẹn nhiều lần\n- Phải đi lại 3 lần"
    rows = [
        {**_dossier(1), "answers.complaint": comment, "procedure_name": "+ Cấp bản sao"},
        {**_dossier(2), "counter_code": "-Q01"},
    ]
    header = [*HEADER, "answers.complaint", "procedure_name"]
    path = write_csv(tmp_path / "words.csv", rows, bom=True, header=header)
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = {(int(r["row"]), r["column"]): r["reason"] for r in csv.DictReader(handle)}
    assert set(refused) == {(3, "counter_code")} and "formula" in refused[(3, "counter_code")]
    path.write_text(path.read_text(encoding="utf-8-sig").replace("-Q01", "Q01"), "utf-8")
    assert cli_for(database_url)("import", str(path)).exit_code == 0
    with db() as session:
        stored = session.execute(
            select(col(Response.complaint), col(Dossier.procedure_name))
            .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
            .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
            .where(col(Dossier.code) == "IMP-0001")
        ).all()
        assert [tuple(row) for row in stored] == [(comment, "+ Cấp bản sao")]


def test_bad_rows_are_each_reported_and_nothing_written(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    bad = [
        _dossier(1),
        {**_dossier(2), "agency_code": "79.NOPE"},  # unknown agency
        {**_dossier(3), "resolved_at": "2025-09-15T10:00:00"},  # naive time
        _dossier(4, overall="very_happy"),  # bad answer value
        _dossier(1),  # the dossier of row 2 again
        {**_dossier(6), "staff.handling": '=HYPERLINK("x")'},  # a formula
        # Handed over "in 2099": its survey stayed open until then (audit).
        {**_dossier(7), "handed_over_at": "2099-03-01T10:00:00+07:00"},
        {**_dossier(8), "handed_over_at": "2025-09-14T10:00:00+07:00"},  # before resolved
    ]
    path = write_csv(tmp_path / "bad.csv", bad, bom=False, header=[*HEADER, "handed_over_at"])
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    assert "nothing was written" in result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = {(int(r["row"]), r["column"]): r["reason"] for r in csv.DictReader(handle)}
    assert set(refused) == {
        (3, "agency_code"),
        (4, "resolved_at"),
        (5, "answers.overall"),
        (6, "dossier_code"),
        (7, "staff.handling"),
        (8, "handed_over_at"),
        (9, "handed_over_at"),
    }
    assert "no agency has the code '79.NOPE'" in refused[(3, "agency_code")]
    assert "time zone offset" in refused[(4, "resolved_at")]
    assert "very_happy" in refused[(5, "answers.overall")]
    assert "earlier row" in refused[(6, "dossier_code")]
    assert "formula" in refused[(7, "staff.handling")]
    assert "future" in refused[(8, "handed_over_at")]
    assert "before resolved_at" in refused[(9, "handed_over_at")]
    assert _count(db, Dossier) == 0 and _count(db, ImportJob) == 0

    # An evaluation for a dossier that is not there.
    evaluations = tmp_path / "evaluations.csv"
    with evaluations.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["agency_code", "dossier_code", "submitted_at", "answers.overall"])
        out.writerow(["79.BTH", "MISSING-1", "2025-09-16T09:00:00+07:00", "satisfied"])
    result = cli_for(database_url)("import", str(evaluations))
    assert result.exit_code == 1, result.output
    assert "has no dossier 'MISSING-1'" in report_path(evaluations).read_text("utf-8-sig")

    # --skip-invalid writes the valid ones only, and says so.
    result = cli_for(database_url)("import", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "SKIPPED" in result.output
    assert _count(db, Dossier) == 1 and _count(db, Response) == 1


def test_evaluations_of_dossiers_already_there(
    tmp_path: Path, client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    """Two rows in one chunk: the claim of their invitations, one statement executed for
    many rows, stopped with a traceback (an IN of literals cannot be executed many)."""
    issuer = make_key("issuer")
    for code in ("OLD-1", "OLD-2"):
        body = handover_body(dossier_code=code, agency_code="79.BTH")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    path = tmp_path / "evaluations.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["agency_code", "dossier_code", "submitted_at", "answers.overall"])
        out.writerow(["79.BTH", "OLD-1", "2025-09-16T09:00:00+07:00", "satisfied"])
        out.writerow(["79.BTH", "OLD-2", "2025-09-17T09:00:00+07:00", "unsatisfied"])
    result = cli_for(database_url)("import", str(path), "--kind", "evaluations")
    assert result.exit_code == 0, result.output
    assert _surveys(db) == {"OLD-1": ("answered", 1), "OLD-2": ("answered", 1)}
    # Another file (the same one is imported already): an answered survey is refused.
    other = tmp_path / "more.csv"
    other.write_text(
        "agency_code,dossier_code,submitted_at,answers.overall\n"
        "79.BTH,OLD-1,2025-09-18T09:00:00+07:00,unsatisfied\n",
        "utf-8",
    )
    again = cli_for(database_url)("import", str(other))
    assert again.exit_code == 1
    assert "answered" in report_path(other).read_text("utf-8-sig")


def test_resume_after_an_interruption_writes_no_row_twice(
    tmp_path: Path, settings: Settings, db: DbFactory, database_url: str
) -> None:
    rows = [_dossier(n) for n in range(1, 12)]
    path = write_csv(tmp_path / "past.csv", rows)
    engine = make_engine(settings)

    def stop(chunk: int) -> None:
        if chunk == 2:
            raise KeyboardInterrupt

    profile = profile_of(settings)
    with pytest.raises(KeyboardInterrupt):
        run_import(engine, settings, profile, path, Options(chunk_rows=3), on_chunk=stop)
    engine.dispose()
    assert _count(db, Dossier) == 6
    assert _recomputes(db) == 0
    with db() as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        assert (job.status, job.done_through_row) == ("interrupted", 7)
    cli = cli_for(database_url)
    refused = cli("import", str(path))  # not without --resume
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = cli("import", str(path), "--resume", "--chunk-rows", "3")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed after row 7" in resumed.output
    assert _count(db, Dossier) == 11 and _count(db, Response) == 11
    assert _recomputes(db) == 1
    with Session(make_engine(settings)) as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        assert (job.status, job.rows_written) == ("done", 11)


PETITION_HEADER = ["petition_code", "agency_code", "received_at", "handled_at", "citizen_verdict"]
RECEIVED = "2025-09-16T09:00:00+07:00"
PA_1 = ["PA-1", "79.BTH", RECEIVED, "2025-09-18T09:00:00+07:00", "satisfied"]
PA_2, PA_3 = ["PA-2", "79.BTH", RECEIVED, "", ""], ["PA-3", "79.BTH", RECEIVED, "", ""]
# PA-1 again, handled late and judged badly: refused as on an earlier row of the file.
PA_1_AGAIN = ["PA-1", "79.BTH", RECEIVED, "2025-10-30T09:00:00+07:00", "unsatisfied"]


def _petitions_file(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([PETITION_HEADER, *rows])
    return path


def _interrupted_after_the_first_chunk(settings: Settings, path: Path) -> None:
    engine = make_engine(settings)

    def stop(chunk: int) -> None:
        if chunk == 1:
            raise KeyboardInterrupt

    options = Options(skip_invalid=True, chunk_rows=2)
    with pytest.raises(KeyboardInterrupt):
        run_import(engine, settings, profile_of(settings), path, options, on_chunk=stop)
    engine.dispose()


def _petition(db: DbFactory, code: str) -> Petition:
    with db() as session:
        found = session.execute(select(Petition).where(col(Petition.code) == code))
        petition: Petition = found.scalars().one()
        return petition


def test_a_resumed_import_refuses_a_petition_repeated_before_and_after_its_stop(
    tmp_path: Path, settings: Settings, db: DbFactory, database_url: str
) -> None:
    """Resumed after row 3, the checks met PA-1 afresh at row 5: the repeat, refused in the
    run that wrote row 2, was written as an update over it (its verdict and handling: group
    5 and so D; audit). An uninterrupted run keeps row 2; so does a resumed one."""
    path = _petitions_file(tmp_path / "petitions.csv", [PA_1, PA_2, PA_3, PA_1_AGAIN])
    _interrupted_after_the_first_chunk(settings, path)
    resumed = cli_for(database_url)(
        "import", str(path), "--skip-invalid", "--resume", "--chunk-rows", "2"
    )
    assert resumed.exit_code == 0, resumed.output
    assert "row 5, petition_code" in resumed.output
    assert _petition(db, "PA-1").citizen_verdict == "satisfied"
    assert _petition(db, "PA-3").citizen_verdict is None


def test_a_resume_refused_says_the_rows_before_it_stay_written(
    tmp_path: Path, settings: Settings, db: DbFactory, database_url: str
) -> None:
    """It said "nothing was written: correct these rows and import the file again": the
    first run's rows were in hailong, and a corrected file (another digest) meets them as
    stored already."""
    unknown_agency = ["PA-9", "79.NOPE", RECEIVED, "", ""]
    path = _petitions_file(tmp_path / "petitions.csv", [PA_1, PA_2, PA_3, unknown_agency])
    _interrupted_after_the_first_chunk(settings, path)
    resumed = cli_for(database_url)("import", str(path), "--resume", "--chunk-rows", "2")
    assert resumed.exit_code == 1
    said = " ".join(resumed.output.split())
    assert "nothing was written" not in said
    assert "rows up to 3 stay written" in said and "--resume --skip-invalid" in said


def test_where_the_report_cannot_be_written_a_good_file_imports_and_a_bad_one_says_so(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """The refused rows' report was opened beside the file on every run: from a folder one
    may not write in (a share, a CD), even a dry run of a good file ended in a traceback
    (audit). It is opened at the first refusal; then the error line says what to do. (A
    folder in the report's place stands in for a read-only share, even for root.)"""
    path = write_csv(tmp_path / "past.csv", _good_rows())
    report_path(path).mkdir()
    cli = cli_for(database_url)
    assert cli("import", str(path), "--dry-run").exit_code == 0
    refused = write_csv(tmp_path / "bad.csv", [{**_dossier(9), "agency_code": "79.NOPE"}])
    report_path(refused).mkdir()
    result = cli("import", str(refused))
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert "error: cannot write the report of refused rows" in said
    assert "a folder you can write in" in said
    assert _count(db, Dossier) == 0


def test_a_chunk_too_large_for_one_statement_is_refused_by_the_option(
    tmp_path: Path, database_url: str
) -> None:
    """--chunk-rows 40000 bound 80,000 parameters in one lookup: PostgreSQL's limit is
    65,535, and the import ended in a traceback (audit)."""
    path = write_csv(tmp_path / "past.csv", _good_rows())
    result = cli_for(database_url)("import", str(path), "--dry-run", "--chunk-rows", "40000")
    assert result.exit_code == 2
    assert "20000" in " ".join(result.stderr.split()).replace(",", "")


def test_a_code_given_as_a_spreadsheet_number_is_refused_not_shortened(
    tmp_path: Path, client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    """Number cells became text: the staff member the API registered as "007" came back as
    a second officer "7", splitting her per-staff scores, and a dossier of ward 79.10 was
    stored under 79.1 (audit). A number in a code column is refused, naming it; numbers
    elsewhere (a count of supplement requests) are read as before."""
    body = handover_body(agency_code="79.BTH", staff={"handling": "007"})
    assert client.post("/api/v1/handovers", json=body, headers=make_key("issuer")).is_success
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["dossier_code", "agency_code", "resolved_at", "staff.handling"])
    sheet.append(["OLD-7", "79.BTH", "2025-09-15T10:00:00+07:00", 7])
    sheet.append([2025.10, "79.BTH", "2025-09-15T10:00:00+07:00", "007"])
    sheet.append(["OLD-8", "79.BTH", "2025-09-15T10:00:00+07:00", "007"])
    book.save(path := tmp_path / "past.xlsx")
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "row 2, staff.handling: is a number in the spreadsheet" in said
    assert "row 3, dossier_code: is a number in the spreadsheet" in said
    assert "format the column as Text" in said
    kept = cli_for(database_url)("import", str(path), "--skip-invalid")
    assert kept.exit_code == 0, kept.output
    with db() as session:
        staff = sorted(session.execute(select(col(Staff.code))).scalars())
        dossiers = sorted(session.execute(select(col(Dossier.code))).scalars())
    assert "7" not in staff and "007" in staff
    assert "OLD-8" in dossiers and "OLD-7" not in dossiers and "2025.1" not in dossiers


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_separated_by_semicolons_or_tabs_is_told_so(
    tmp_path: Path, database_url: str, separator: str
) -> None:
    """Excel under a regional list separator saves CSV with ';': the file was said to name
    none of the columns and to need --kind, after which every column was unknown (audit)."""
    path = tmp_path / "past.csv"
    lines = [["dossier_code", "agency_code", "resolved_at"], ["X-1", "79.BTH", "2025-09-15"]]
    path.write_text("".join(separator.join(line) + "\r\n" for line in lines), "utf-8-sig")
    for kind in ([], ["--kind", "dossiers"]):
        result = cli_for(database_url)("import", str(path), *kind)
        assert result.exit_code == 2, result.output
        said = " ".join(result.stderr.split())
        assert "not commas" in said and "CSV UTF-8 (Comma delimited)" in said, said


def test_dry_run_writes_nothing(tmp_path: Path, db: DbFactory, database_url: str) -> None:
    path = write_csv(tmp_path / "past.csv", _good_rows())
    result = cli_for(database_url)("import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert _count(db, Dossier) == 0


def test_petitions_through_the_petition_service(
    tmp_path: Path, client: TestClient, make_key: KeyFactory, db: DbFactory, database_url: str
) -> None:
    issuer = make_key("issuer")
    body = handover_body(dossier_code="OLD-1", agency_code="79.BTH")
    assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    header = ["petition_code", "agency_code", "dossier_code", "received_at", "handled_at"]
    good = ["PAKN-1", "79.BTH", "OLD-1", "2025-09-16T09:00:00+07:00", "2025-09-18T09:00:00+07:00"]
    bad = [
        ["PAKN-2", "79.BTH", "NOPE-9", "2025-09-16T09:00:00+07:00", ""],
        ["PAKN-3", "79.BTH", "", "2025-09-16T09:00:00+07:00", "2025-09-01T09:00:00+07:00"],
    ]
    path = tmp_path / "petitions.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, good, *bad])
    cli = cli_for(database_url)
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = {(int(r["row"]), r["column"]) for r in csv.DictReader(handle)}
    assert refused == {(3, "dossier_code"), (4, "handled_at")}
    assert _count(db, Petition) == 0
    result = cli("import", str(path), "--skip-invalid")
    assert result.exit_code == 0, result.output
    with db() as session:
        petition = session.execute(select(Petition)).scalars().one()
        assert (petition.code, petition.source, petition.dossier_id) == ("PAKN-1", "import", 1)
        # The run is audited as a whole (its file and rows), not once per petition.
        actions = [a.action for a in session.execute(select(AuditLog)).scalars()]
        assert "import.done" in actions and not any(a.startswith("petition.") for a in actions)


def test_a_short_code_drawn_twice_redoes_the_chunk(
    tmp_path: Path, settings: Settings, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A million invitations draw about one short code already taken: the chunk is
    written again with fresh codes, not the import stopped."""
    from service.handovers import tokens
    from service.models import Invitation

    engine = make_engine(settings)
    profile = profile_of(settings)
    first = write_csv(tmp_path / "first.csv", [_dossier(1)])
    run_import(engine, settings, profile, first, Options())
    with db() as session:
        taken = session.execute(select(Invitation.short_code)).scalar_one()  # type: ignore[call-overload]
    draw = tokens.new_short_code
    draws = iter([taken])
    monkeypatch.setattr(tokens, "new_short_code", lambda: next(draws, None) or draw())
    second = write_csv(tmp_path / "second.csv", [_dossier(2)])
    outcome = run_import(engine, settings, profile, second, Options())
    engine.dispose()
    assert outcome.written == 1 and _count(db, Dossier) == 2


def _revoked_while_writing(
    tmp_path: Path,
    client: TestClient,
    make_key: KeyFactory,
    monkeypatch: pytest.MonkeyPatch,
    codes: list[str],
) -> Path:
    """Dossiers `codes` issued through the API, a file evaluating each, and the survey of
    the first revoked by the one-stop system after the chunk was checked, just before it
    is written."""
    issuer = make_key("issuer")
    for code in codes:
        body = handover_body(dossier_code=code, agency_code="79.BTH")
        assert client.post("/api/v1/handovers", json=body, headers=issuer).status_code == 201
    path = tmp_path / "evaluations.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["agency_code", "dossier_code", "submitted_at", "answers.overall"])
        for code in codes:
            out.writerow(["79.BTH", code, "2025-09-16T09:00:00+07:00", "satisfied"])
    original = writing.write_evaluations
    revoked: list[str] = []

    def revoked_meanwhile(session: Session, goods: Any) -> None:
        if not revoked:
            answer = client.post(
                f"/api/v1/handovers/{codes[0]}/revoke",
                params={"agency_code": "79.BTH"},
                headers=issuer,
            )
            assert answer.status_code == 200, answer.text
            revoked.append(codes[0])
        original(session, goods)

    monkeypatch.setattr(writing, "write_evaluations", revoked_meanwhile)
    return path


def _surveys(db: DbFactory) -> dict[str, tuple[str, int]]:
    """Each dossier's survey status and the responses under it."""
    with db() as session:
        query = (
            select(col(Dossier.code), col(Invitation.status), func.count(col(Response.id)))
            .join(Invitation, col(Invitation.dossier_id) == col(Dossier.id))
            .outerjoin(Response, col(Response.invitation_id) == col(Invitation.id))
            .group_by(col(Dossier.code), col(Invitation.status))
        )
        return {code: (status, count) for code, status, count in session.execute(query)}


def test_a_survey_revoked_while_its_chunk_is_written_gets_no_evaluation(
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The invitation was marked answered only while issued or opened, but the response was
    inserted whatever that matched: a survey revoked between the check and the write ended
    revoked with a counted evaluation under it. Now the chunk is redone, its check refuses
    the revoked one (--skip-invalid) and the others are written."""
    path = _revoked_while_writing(tmp_path, client, make_key, monkeypatch, ["OLD-1", "OLD-2"])
    outcome = _import(settings, path, Options(skip_invalid=True))
    assert outcome.status == "done" and outcome.written == 1
    assert _surveys(db) == {"OLD-1": ("revoked", 0), "OLD-2": ("answered", 1)}


def test_a_survey_revoked_while_its_chunk_is_written_stops_an_import_without_skipping(
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without --skip-invalid the redone chunk's refusal stops the import as any row changed
    meanwhile does, naming the row; nothing of the chunk is written."""
    path = _revoked_while_writing(tmp_path, client, make_key, monkeypatch, ["OLD-1", "OLD-2"])
    with pytest.raises(ImportStopped, match=r"row 2 was refused on writing .* revoked"):
        _import(settings, path, Options())
    assert _surveys(db) == {"OLD-1": ("revoked", 0), "OLD-2": ("issued", 0)}


def test_a_dossier_handed_over_while_its_chunk_is_written_is_skipped(
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dossier of the file handed over through the API between the chunk's check and its
    write failed the write on the dossier's unique index: the identical chunk was written 3
    times and the import stopped on the constraint's words, even with --skip-invalid. Now
    the chunk is checked again as for a survey revoked meanwhile: that row is skipped."""
    issuer = make_key("issuer")
    refused_at_once = _dossier(3) | {"agency_code": "79.NOPE"}
    path = write_csv(tmp_path / "past.csv", [_dossier(1), _dossier(2), refused_at_once])
    original = writing.write_dossiers

    def handed_over_meanwhile(session: Session, goods: Any, *args: Any) -> None:
        if _count(db, Dossier) == 0:
            body = handover_body(dossier_code="IMP-0001", agency_code="79.BTH")
            answer = client.post("/api/v1/handovers", json=body, headers=issuer)
            assert answer.status_code == 201, answer.text
        original(session, goods, *args)

    monkeypatch.setattr(writing, "write_dossiers", handed_over_meanwhile)
    outcome = _import(settings, path, Options(skip_invalid=True))
    assert outcome.status == "done" and outcome.written == 1
    assert _surveys(db) == {"IMP-0001": ("issued", 0), "IMP-0002": ("answered", 1)}
    # Skipped, it is told as a refused row: in the summary and in the report (it was
    # skipped without a word: review).
    assert outcome.refused_rows == 2 and [r.row for r in outcome.refused] == [4, 2]
    assert outcome.report is not None
    report = outcome.report.read_text(encoding="utf-8-sig").splitlines()
    assert report[0] == "row,column,reason"
    assert [line.split(",")[0] for line in report[1:]] == ["4", "2"]  # the check's, then
    # And it is no longer counted valid, here or in the job's row (review).
    assert (outcome.rows_checked, outcome.rows_valid) == (3, 1)
    with db() as session:
        job = session.get(ImportJob, outcome.job_id)
        assert job is not None and (job.rows_valid, job.rows_refused) == (1, 2)


def test_a_petition_changed_while_its_chunk_is_written_stops_the_import_naming_it(
    tmp_path: Path,
    settings: Settings,
    client: TestClient,
    make_key: KeyFactory,
    db: DbFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A petition given a handled_at through the API between the chunk's check and its
    write, before the file's received_at: the petition service's refusal left the CLI as a
    traceback. Now the chunk is checked again and the import stops naming the row and the
    field, nothing of the chunk written."""
    admin = make_key("admin")
    first = {"petition_code": "PA-1", "agency_code": "79.BTH", "received_at": RECEIVED}
    assert client.post("/api/v1/petitions", json=first, headers=admin).status_code == 201
    later = ["PA-1", "79.BTH", "2025-09-20T09:00:00+07:00", "", ""]
    path = _petitions_file(tmp_path / "petitions.csv", [later])
    original = writing.write_petitions

    def handled_meanwhile(session: Session, goods: Any, profile: Any) -> None:
        if _petition(db, "PA-1").handled_at is None:
            body = first | {"handled_at": "2025-09-17T09:00:00+07:00"}
            answer = client.post("/api/v1/petitions", json=body, headers=admin)
            assert answer.status_code == 200, answer.text
        original(session, goods, profile)

    monkeypatch.setattr(writing, "write_petitions", handled_meanwhile)
    with pytest.raises(ImportStopped, match=r"row 2 was refused on writing .*\(received_at:"):
        _import(settings, path, Options())
    assert _petition(db, "PA-1").received_at.day == 16


def test_an_interrupted_petition_import_says_its_petitions_already_count(
    tmp_path: Path,
    client: TestClient,
    make_key: KeyFactory,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Ctrl+C the CLI said the rows written so far counted in the scores only once the
    import ended; petitions go through the petition service, which moves the counters row
    by row: those written already count, and the CLI now says so."""
    path = _petitions_file(tmp_path / "petitions.csv", [PA_1, PA_2, PA_3])
    original = writing.write_petitions
    chunks: list[int] = []

    def ctrl_c_at_the_second_chunk(session: Session, goods: Any, profile: Any) -> None:
        chunks.append(1)
        if len(chunks) == 2:
            raise KeyboardInterrupt
        original(session, goods, profile)

    monkeypatch.setattr(writing, "write_petitions", ctrl_c_at_the_second_chunk)
    result = cli_for(database_url)("import", str(path), "--chunk-rows", "2")
    assert result.exit_code == 130, result.output
    assert "already count in the scores" in " ".join(result.output.split())
    assert _scores(client, make_key("reader"))["counts"]["petitions"] == 2


def test_an_import_leaves_fresh_planner_statistics(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """Without them PostgreSQL plans the recompute, and the requests of the next minute, on
    the tables' sizes of before the import (bench/README.md, "Handovers' first round")."""
    path = write_csv(tmp_path / "past.csv", _good_rows())
    assert cli_for(database_url)("import", str(path)).exit_code == 0
    with db() as session:
        if database_url.startswith("postgresql"):
            # -1 until the table is first analyzed (or vacuumed).
            query = "SELECT reltuples FROM pg_class WHERE relname = 'dossier'"
            assert session.execute(text(query)).scalar_one() == len(_good_rows())
        else:
            # SQLite's row count leads the first index's line; the table's own may be absent.
            query = "SELECT stat FROM sqlite_stat1 WHERE tbl = 'dossier'"
            stats = session.execute(text(query)).scalars().all()
            assert stats and all(s.split()[0] == str(len(_good_rows())) for s in stats)


def test_a_nul_character_is_refused_in_the_checking_pass(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """PostgreSQL text holds no NUL: such a row passed the check and then crashed the
    writing pass, the job left half written (the same input models as the API's)."""
    rows = [_dossier(1), {**_dossier(2), "answers.complaint": "Chờ\x00 lâu"}]
    header = [*HEADER, "answers.complaint"]
    path = tmp_path / "nul.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, header, restval="")
        out.writeheader()
        out.writerows(rows)
    petitions = tmp_path / "petitions.csv"
    with petitions.open("w", encoding="utf-8", newline="") as handle:
        lines = csv.writer(handle)
        lines.writerow(["petition_code", "agency_code", "received_at", "outcome"])
        lines.writerow(["PA\x001", "79.BTH", "2025-09-16T09:00:00+07:00", "xong"])
        lines.writerow(["PA-2", "79.BTH", "2025-09-16T09:00:00+07:00", "xong\x00"])
    for file, refused_at in [
        (path, {(3, "answers.complaint")}),
        (petitions, {(2, "petition_code"), (3, "outcome")}),
    ]:
        result = cli_for(database_url)("import", str(file))
        assert result.exit_code == 1, result.output
        with report_path(file).open(encoding="utf-8-sig") as handle:
            refused = {(int(r["row"]), r["column"]): r["reason"] for r in csv.DictReader(handle)}
        assert set(refused) == refused_at
        assert all("NUL" in reason for reason in refused.values())
    assert _count(db, Dossier) == 0 and _count(db, Petition) == 0 and _count(db, ImportJob) == 0


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.DictWriter(handle, header, restval="")
        out.writeheader()
        out.writerows(rows)
    return path


def test_a_repeated_client_submission_id_is_refused_before_anything_is_written(
    tmp_path: Path, db: DbFactory, database_url: str, client: TestClient, make_key: KeyFactory
) -> None:
    """Unique across every response, yet unchecked: a repeat passed the checks and stopped
    the writing half-way, a job --resume could not finish (audit)."""
    given = client.post("/api/v1/handovers", json=handover_body(), headers=make_key("issuer"))
    token = given.json()["survey_url"].rsplit("/", 1)[1]
    body = {"token": token, "answers": ANSWERS, "client_submission_id": "FROM-API"}
    assert client.post("/api/v1/responses", json=body).status_code == 201
    header = [*HEADER, "client_submission_id"]
    rows = [
        {**_dossier(1), "client_submission_id": "A"},
        {**_dossier(2), "client_submission_id": "B"},
        {**_dossier(3), "client_submission_id": "B"},
        {**_dossier(4), "client_submission_id": "FROM-API"},
    ]
    path = _write(tmp_path / "csid.csv", header, rows)
    result = cli_for(database_url)("import", str(path), "--chunk-rows", "1")
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = {(int(r["row"]), r["column"]): r["reason"] for r in csv.DictReader(handle)}
    assert set(refused) == {(4, "client_submission_id"), (5, "client_submission_id")}
    assert "earlier row" in refused[(4, "client_submission_id")]
    assert "stored already" in refused[(5, "client_submission_id")]
    assert _count(db, Dossier) == 1 and _count(db, ImportJob) == 0  # the API's only


def test_a_cell_past_the_csv_readers_limit_is_refused_naming_its_row(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """Python's CSV reader stopped at a cell over 128 KiB with a traceback (audit)."""
    header = [*HEADER, "answers.complaint"]
    rows = [_dossier(1), {**_dossier(2), "answers.complaint": "x" * 200_000}]
    path = _write(tmp_path / "huge.csv", header, rows)
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = [(int(r["row"]), r["column"]) for r in csv.DictReader(handle)]
    assert refused == [(3, "answers.complaint")]
    assert _count(db, Dossier) == 0


def test_a_value_past_the_header_is_refused_naming_its_column(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """A CSV row with one cell more than the header was imported without it (audit)."""
    path = tmp_path / "extra.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        out.writerow([_dossier(1)[c] for c in HEADER])
        out.writerow([*(_dossier(2)[c] for c in HEADER), "", "late again"])
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = [(int(r["row"]), r["reason"]) for r in csv.DictReader(handle)]
    assert len(refused) == 1 and refused[0][0] == 3
    assert "column N (14)" in refused[0][1] and "name that column" in refused[0][1]
    assert _count(db, Dossier) == 0


def test_a_sheet_header_running_on_into_empty_cells_imports(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """Empty header cells after the last column (a formatted sheet) refused the file."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([*HEADER, None, ""])
    for row in _good_rows():
        sheet.append([row.get(c) for c in HEADER])
    book.save(path := tmp_path / "wide.xlsx")
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 0, result.output
    assert _count(db, Dossier) == len(_good_rows())


def test_the_import_acts_as_the_cli_not_as_a_key() -> None:
    """A principal with no key nor official read "key:None:import" (CLI audit)."""
    from service.imports.checking import importer

    principal = importer()
    assert (principal.actor, principal.role, principal.scope_path) == ("cli:import", "admin", None)


def test_a_resumed_skip_invalid_import_keeps_the_report_of_the_rows_it_skipped(
    tmp_path: Path, settings: Settings, db: DbFactory, database_url: str
) -> None:
    """The resume checked only the rows after its point, found none refused and deleted
    the report of the row the first run had skipped, then said "0 refused" (audit). The
    report keeps the earlier run's rows before the resume point, lists the ones after it
    once, and the summary counts both."""
    rows = [_dossier(n) for n in range(1, 9)]
    rows[1]["agency_code"] = rows[6]["agency_code"] = "79.NOPE"  # rows 3 and 8
    path = write_csv(tmp_path / "past.csv", rows)
    engine = make_engine(settings)

    def stop(chunk: int) -> None:
        if chunk == 1:
            raise KeyboardInterrupt

    options = Options(skip_invalid=True, chunk_rows=3)
    with pytest.raises(KeyboardInterrupt):
        run_import(engine, settings, profile_of(settings), path, options, on_chunk=stop)
    engine.dispose()
    resumed = cli_for(database_url)(
        "import", str(path), "--resume", "--skip-invalid", "--chunk-rows", "3"
    )
    assert resumed.exit_code == 0, resumed.output
    said = " ".join(resumed.output.split())
    assert "resumed after row 4" in said and "2 refused row(s) were SKIPPED" in said, said
    assert _count(db, Dossier) == 6
    with report_path(path).open(encoding="utf-8-sig") as handle:
        assert [int(r["row"]) for r in csv.DictReader(handle)] == [3, 8]
    with db() as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        assert (job.status, job.rows_written, job.rows_refused) == ("done", 6, 2)


def _read_only(database_url: str) -> str:
    if database_url.startswith("sqlite:///"):
        return f"sqlite:///file:{database_url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return database_url + "?options=-c%20default_transaction_read_only%3Don"


def test_a_database_refusing_the_import_s_writes_is_one_line_and_exit_1(
    tmp_path: Path, database_url: str
) -> None:
    """A database failing under the import (a read-only SQLite file, a read-only PostgreSQL
    transaction) was a traceback, where README says code 1 and one line (audit)."""
    path = write_csv(tmp_path / "past.csv", _good_rows())
    result = cli_for(_read_only(database_url))("import", str(path))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: the database at "), result.stderr
    assert lines[-1].endswith("; nothing was written"), result.stderr


def test_a_database_failing_after_the_first_chunk_advises_resume(
    tmp_path: Path, db: DbFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is left for --resume, and the line says so (audit)."""
    from sqlalchemy.exc import OperationalError

    path = write_csv(tmp_path / "past.csv", _good_rows())
    original = writing.write_dossiers
    chunks: list[int] = []

    def locked_at_the_second_chunk(*args: Any) -> None:
        chunks.append(1)
        if len(chunks) == 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        original(*args)

    monkeypatch.setattr(writing, "write_dossiers", locked_at_the_second_chunk)
    result = cli_for(database_url)("import", str(path), "--chunk-rows", "2")
    assert result.exit_code == 1, result.output
    said = " ".join(result.stderr.split())
    assert "failed: database is locked; the rows written so far stay" in said, said
    assert "--resume" in said
    with db() as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        assert (job.status, job.rows_written) == ("interrupted", 2)


@pytest.mark.parametrize("kind", ["petitions", "dossiers"])
def test_rows_an_interrupted_import_wrote_are_in_the_audit_log(
    tmp_path: Path, settings: Settings, db: DbFactory, kind: str
) -> None:
    """Written rows were audited only by `import.done`, at the very end: an interrupted
    petition import moved the scores with no audit record (audit). Each chunk is audited
    in its own transaction, whatever it writes."""
    if kind == "petitions":
        path = _petitions_file(tmp_path / "petitions.csv", [PA_1, PA_2, PA_3])
    else:
        path = write_csv(tmp_path / "past.csv", _good_rows()[:3])
    engine = make_engine(settings)

    def stop(chunk: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(
            engine, settings, profile_of(settings), path, Options(chunk_rows=2), on_chunk=stop
        )
    engine.dispose()
    with db() as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        by_the_import = select(AuditLog).where(col(AuditLog.actor) == "cli:import")
        audited = session.execute(by_the_import).scalars().all()
    assert job.rows_written == 2
    assert [(a.actor, a.action, a.target) for a in audited] == [
        ("cli:import", "import.chunk", f"import_job:{job.id}")
    ]
    assert audited[0].detail == {
        "kind": kind, "first_row": 2, "through_row": 3, "rows_written": 2
    }  # fmt: skip


def test_ctrl_c_during_the_recompute_marks_the_job_interrupted(
    tmp_path: Path, settings: Settings, db: DbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the writing's interruptions marked the job: one stopped during the final
    ANALYZE or recompute kept saying "running", run by no process (audit)."""
    from service.imports import run

    path = write_csv(tmp_path / "past.csv", _good_rows())

    def ctrl_c(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "_recompute", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        _import(settings, path, Options())
    with db() as session:
        job = session.exec(select(ImportJob)).scalars().one()  # type: ignore[call-overload]
        assert (job.status, job.rows_written) == ("interrupted", 4)


def test_ctrl_c_while_checking_says_nothing_was_written(
    tmp_path: Path, db: DbFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said the rows written so far stay and to --resume, with nothing written and no
    job to resume (audit)."""
    from service.imports import checking

    path = write_csv(tmp_path / "past.csv", _good_rows())

    def ctrl_c(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(checking.Checker, "check", ctrl_c)
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 130
    said = " ".join(result.stderr.split())
    assert said.endswith(
        "interrupted: nothing was written; run the same command again to import the file"
    ), said
    assert _count(db, ImportJob) == 0


def test_an_evaluation_dated_before_its_dossier_s_result_is_refused(
    client: TestClient, make_key: KeyFactory, settings: Settings, tmp_path: Path
) -> None:
    """(audit) A dossier received 10/9/2025 and resolved 15/9/2025, with its evaluation
    typed as answered 16/9/2024, was imported ("done") and counted in 2024-Q3, a year
    before the dossier was lodged. Now the row is refused on submitted_at, in the API's
    words, and nothing is written."""
    admin = make_key("admin")
    row = _dossier(1, staff_attitude="poor")
    row["submitted_at"] = "2024-09-16T09:00:00+07:00"
    outcome = _import(settings, write_csv(tmp_path / "backdated.csv", [row]), Options())
    assert outcome.status == "refused", outcome
    assert [(r.row, r.column) for r in outcome.refused] == [(2, "submitted_at")]
    reason = outcome.refused[0].reason
    assert "before the dossier's received_at (2025-09-10 08:30" in reason, reason
    assert "check both times" in reason, reason
    late = client.get("/api/v1/agencies/79.BTH/scores/2024-Q3", headers=admin).json()
    assert late["counts"]["evaluations"] == 0, late


def test_an_evaluation_of_a_stored_dossier_dated_before_its_result_is_refused(
    client: TestClient, make_key: KeyFactory, settings: Settings, tmp_path: Path, db: DbFactory
) -> None:
    """(audit) The same slip in an evaluations file, its dossier issued through the API
    (resolved 15/9/2025): refused on submitted_at, and the survey still open for the
    corrected row."""
    body = handover_body(dossier_code="OLD-1", agency_code="79.BTH")
    issued = client.post("/api/v1/handovers", json=body, headers=make_key("issuer"))
    assert issued.status_code == 201, issued.text
    header = "agency_code,dossier_code,submitted_at,answers.overall\n"
    typo = tmp_path / "typo.csv"
    typo.write_text(header + "79.BTH,OLD-1,2024-09-16T09:00:00+07:00,satisfied\n", "utf-8")
    outcome = _import(settings, typo, Options())
    assert outcome.status == "refused", outcome
    assert [(r.row, r.column) for r in outcome.refused] == [(2, "submitted_at")]
    assert "check both times" in outcome.refused[0].reason
    assert _surveys(db) == {"OLD-1": ("issued", 0)}
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(header + "79.BTH,OLD-1,2025-09-16T09:00:00+07:00,satisfied\n", "utf-8")
    assert _import(settings, fixed, Options()).status == "done"
    assert _surveys(db) == {"OLD-1": ("answered", 1)}


def test_a_log_hears_how_far_the_import_is_while_it_runs(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(imports audit) Where stderr is no terminal (`2>import.log`, nohup, a systemd unit),
    rich drew its bar only when a step ended: an hour's import left the log silent. A plain
    line says how far it is (here at every chunk: the interval set to nothing)."""
    from service.cli import import_command

    monkeypatch.setattr(import_command, "LOG_EVERY_SECONDS", 0.0)
    path = write_csv(tmp_path / "many.csv", [_dossier(n) for n in range(1, 31)], bom=True)
    result = cli_for(database_url)("import", str(path), "--chunk-rows", "10")
    assert result.exit_code == 0, result.output
    said = result.output
    assert "checking: " in said and " rows/s" in said, said
    # The checking step too says how far of how many (imports audit: it said no total).
    assert "checking: 10 of 30 rows (33 %)" in said, said
    assert "writing: 10 of 30 rows (33 %)" in said, said
    assert "writing: 20 of 30 rows (67 %)" in said, said
    assert "s left" in said, said


def test_a_rows_dossier_and_evaluation_problems_are_told_in_one_run(
    tmp_path: Path, database_url: str
) -> None:
    """(imports audit) A row refused for its dossier's cells said nothing of its
    evaluation's: the officer fixed the channel, ran a file that may take an hour again,
    and only then heard of the answer time and the answers."""
    rows = [
        {**_dossier(1), "channel": "quầy", "submitted_at": "16/09/2025 09:00"},
        {**_dossier(2, overall="hài lòng"), "channel": "quầy"},
        {**_dossier(3, overall="hài lòng"), "agency_code": "79.NOPE"},
    ]
    path = write_csv(tmp_path / "both.csv", rows, bom=True, header=[*HEADER, "channel"])
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 1, result.output
    with report_path(path).open(encoding="utf-8-sig") as handle:
        refused = {(int(r["row"]), r["column"]) for r in csv.DictReader(handle)}
    assert refused == {
        (2, "channel"),
        (2, "submitted_at"),
        (3, "channel"),
        (3, "answers.overall"),
        (4, "agency_code"),
        (4, "answers.overall"),
    }


LANGUAGE_HEADER = ["dossier_code", "agency_code", "resolved_at", "handed_over_at", "language"]


def test_a_dossiers_file_with_a_language_column_imports_the_surveys_language(
    tmp_path: Path, db: DbFactory, database_url: str
) -> None:
    """A dossiers file naming each survey's language (a handover field) and no evaluation:
    both rows import, the English one with an English survey. Read as the answer's language
    (the API's field), every such row was refused for want of submitted_at (review)."""
    rows = [
        {
            "dossier_code": f"LANG-{n}",
            "agency_code": "79.BTH",
            "resolved_at": "2025-09-15T10:00:00+07:00",
            "handed_over_at": "2025-09-15T14:00:00+07:00",
            "language": language,
        }
        for n, language in enumerate(["en", "vi"], start=1)
    ]
    path = write_csv(tmp_path / "dossiers.csv", rows, header=LANGUAGE_HEADER)
    result = cli_for(database_url)("import", str(path))
    assert result.exit_code == 0, result.output
    with db() as session:
        stored = session.execute(
            select(col(Dossier.code), col(Invitation.language))
            .join(Invitation, col(Invitation.dossier_id) == col(Dossier.id))
            .order_by(col(Dossier.code))
        ).all()
    assert [tuple(row) for row in stored] == [("LANG-1", "en"), ("LANG-2", "vi")]
