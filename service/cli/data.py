"""The data itself: bulk import, retention purge, the report, the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import app
from service.cli.common import (
    CLI_ACTOR,
    fail,
    migrated_engine,
    one_transaction,
    settings_and_profile,
)
from service.settings import MAX_RETENTION_DAYS, get_settings


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX")],
    kind: Annotated[
        str, typer.Option(help="dossiers, evaluations, petitions, or auto (from the header)")
    ] = "auto",
    resume: Annotated[bool, typer.Option(help="Continue an interrupted import")] = False,
    dry_run: Annotated[bool, typer.Option(help="Check every row, write nothing")] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="Write the valid rows even when some are refused")
    ] = False,
    # At most 20,000: a chunk's lookups bind up to two parameters a row, and PostgreSQL
    # takes 65,535 a statement (40,000 rows ended in a traceback; audit).
    chunk_rows: Annotated[int, typer.Option(min=1, max=20_000, help="Rows per transaction")] = 5000,
) -> None:
    """Import past dossiers, evaluations or petitions (README: Bulk import)."""
    from service.cli.import_command import run_command

    with migrated_engine(get_settings()):
        pass  # reachable and migrated, else one line (the import opens its own engine)
    run_command(
        file,
        kind,
        resume=resume,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        chunk_rows=chunk_rows,
    )


@app.command()
def purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_RETENTION_DAYS, help="Default: HAILONG_RETENTION_DAYS"),
    ] = None,
) -> None:
    """Remove citizens' contact details and free text older than the retention period."""
    from service.retention.purge import purge as run_purge

    settings = get_settings()
    days = older_than_days if older_than_days is not None else settings.retention_days
    with one_transaction(settings) as session:
        result = run_purge(session, days, actor=CLI_ACTOR)
    typer.echo(
        f"purged data received before {result.cutoff:%Y-%m-%d %H:%M} UTC: {result.contacts} "
        f"contact(s), {result.complaints} complaint text(s), "
        f"{result.petition_texts} petition text(s), {result.console_sessions} ended console "
        f"session(s), {result.invitation_contacts} handover contact(s); scores are unchanged"
    )


@app.command()
def report(
    parent: Annotated[str, typer.Option(help="The parent agency's code, e.g. 79")],
    period: Annotated[str, typer.Option(help="A month 2025-08, a quarter 2025-Q3 or a year")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="The file to write")],
    format: Annotated[
        str | None,
        typer.Option("--format", help="docx or pdf (default: the file's extension, else pdf)"),
    ] = None,
) -> None:
    """Write the report on a parent agency's children for a period (DOCX or PDF)."""
    from service.periods import parse_period
    from service.reports import service as reports

    # By the file's name unless told: `--out report.docx` wrote a PDF that Word would not
    # open (ops walkthrough).
    named = out.suffix.lower().lstrip(".")
    if format is None:
        format = named if named in reports.FORMATS else "pdf"
    if format not in reports.FORMATS:
        fail("--format must be docx or pdf")
    if named in reports.FORMATS and named != format:
        fail(f"--format {format} would write a {format.upper()} into {out.name}: change one")
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        fail(str(exc))
    # Checked before the report is built: it was gathered and rendered, then writing it
    # into a missing directory ended in a traceback.
    if not out.parent.is_dir():
        fail(f"cannot write {out}: the directory {out.parent} does not exist")
    settings, profile = settings_and_profile()
    with one_transaction(settings) as session:
        gathered = reports.gather_for(session, parent, parsed, profile)
    made = reports.render(gathered, "docx" if format == "docx" else "pdf")
    try:
        out.write_bytes(made.content)
    except OSError as exc:  # not writable, a directory of that name, a full disk
        fail(f"cannot write {out}: {exc.strerror or exc}")
    typer.echo(f"wrote {out} ({len(made.content):,} bytes, {len(gathered.rows)} agencies)")


@app.command()
def demo() -> None:
    """Seed the demo agencies, staff and counters; print fresh keys and a sample handover."""
    from service.demo import tour
    from service.demo.seed import seed_demo
    from service.kiosk.pairing import create_pairing

    settings, profile = settings_and_profile()
    with one_transaction(settings) as session:
        keys = seed_demo(session, settings, profile)
    typer.echo(tour.keys_and_handover(keys, settings.base_url))
    with one_transaction(settings) as session:
        kiosk = create_pairing(
            session,
            agency_code="79.BTH",
            counter_code="Q01",
            actor=CLI_ACTOR,
            principal=None,
            minutes=settings.kiosk_pairing_minutes,
        )
    typer.echo(
        tour.where_to_look(
            settings.base_url,
            kiosk.code,
            settings.kiosk_pairing_minutes,
            settings.scoring_profile_also,
        )
    )


@app.command()
def backup(
    out: Annotated[
        Path, typer.Argument(dir_okay=False, help="The copy to write (it must not exist yet)")
    ],
) -> None:
    """Copy the embedded SQLite database while the server runs, every answer in it.

    Why not `cp`: the database runs in WAL mode, and what was committed last sits in
    `hailong.db-wal` until a checkpoint: a copy of `hailong.db` alone opened fine and lacked
    the day's answers (lifecycle audit). SQLite's online backup takes one consistent
    snapshot, writers going on meanwhile. PostgreSQL: pg_dump (README: Backups)."""
    import sqlite3

    from sqlalchemy import make_url

    settings = get_settings()
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        fail(
            "hailong backup copies the embedded SQLite database; back up PostgreSQL with "
            "pg_dump (README: Backups)"
        )
    if out.exists():
        fail(f"{out} exists already: name a new file (a backup never overwrites one)")
    if not out.parent.is_dir():
        fail(f"there is no directory {out.parent}: make it first, or name another")
    partial = out.with_name(out.name + ".partial")
    with migrated_engine(settings) as engine, engine.connect() as connection:
        source = connection.connection.dbapi_connection
        assert isinstance(source, sqlite3.Connection)
        try:
            copy = sqlite3.connect(partial)
        except sqlite3.OperationalError as exc:  # a directory not writable, say
            fail(f"cannot write {partial}: {exc}")
        try:
            source.backup(copy)  # one step: one snapshot, writers not held up (WAL)
            checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
            answers = copy.execute("SELECT count(*) FROM response").fetchone()[0]
        finally:
            copy.close()
    if checked != "ok":
        partial.unlink(missing_ok=True)
        fail(f"the copy did not pass SQLite's integrity check ({checked}); nothing was kept")
    partial.rename(out)
    typer.echo(
        f"backed up to {out} ({out.stat().st_size:,} bytes, {answers:,} answers, integrity "
        "ok). Keep the signing key with it (HAILONG_SECRET_KEY, or the file "
        f"{settings.secret_key_file}): without it, survey and follow-up links, opt-outs and "
        "webhook secrets of the restored database cannot be used."
    )
