"""`hailong import`: bulk import of the past, in two passes over the file.

1. Check every row (streaming, a buffer of rows per database query) with the API's rules
   and write nothing. Refused rows go to FILE.refused.csv (row, column, reason). A file
   with a refused row stops here, nothing written, unless `skip_invalid`.
2. Write the good rows in chunks, each chunk its own transaction that also moves the
   import job's `done_through_row` and writes an `import.chunk` audit record. A crash or
   Ctrl+C leaves the job unfinished with every row up to that mark written and none after
   it: `--resume` checks and writes the rest.
   (One transaction for a million rows would hold its locks, and SQLite's single writer,
   for minutes, and lose everything to one late failure; pass 1 already refuses a file
   with a bad row before anything is written.)
3. Recompute the scores once (`hailong scores recompute`'s rebuild), in the transaction
   that marks the job done, with an audit record.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from itertools import islice, takewhile
from pathlib import Path
from typing import Any, Protocol

from psycopg import Error as PsycopgError
from psycopg.errors import IntegrityError as PsycopgIntegrityError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from service.audit import record
from service.calendar.overrides import calendar_for_lateness
from service.csv_cells import csv_cell
from service.db import analyze, lost_a_race, transaction
from service.imports import writing
from service.imports.checking import IMPORT_ACTOR, Checker, Good, Refusal
from service.imports.layout import (
    FileProblem,
    Kind,
    check_header,
    detect_kind,
    estimated_records,
    open_table,
)
from service.models import Dossier, ImportJob, Invitation, Petition, Response, utcnow
from service.profile import Profile
from service.scoring.rebuild import rebuild
from service.settings import Settings

CHUNK_ROWS = 5000  # rows per transaction, and per checking query
# A chunk is redone as it is when a short code it drew was taken meanwhile, or when it was
# a deadlock's victim; checked again first when a row of it changed meanwhile (ClaimLost).
ATTEMPTS = 3


class ImportStopped(Exception):
    """The import cannot go on (it was resumed wrongly, or rows changed meanwhile)."""


class ImportInterrupted(KeyboardInterrupt):
    """Ctrl+C during an import of `kind`: what the rows written so far count for depends
    on it, and whether there are any (`job_started`: the job `--resume` continues exists)
    (command.py)."""

    def __init__(self, kind: Kind, job_started: bool) -> None:
        super().__init__(kind)
        self.kind, self.job_started = kind, job_started


class DatabaseFailed(Exception):
    """The database failed under the import (a read-only file or transaction, a lock held
    past the timeout, a restart): `error` is its error, `job_started` whether the job
    `--resume` continues exists. It was a traceback (audit)."""

    def __init__(self, error: Exception, job_started: bool) -> None:
        super().__init__(str(error))
        self.error, self.job_started = error, job_started


# What a database failing raises: SQLAlchemy's errors, and the driver's own from a COPY.
DATABASE_ERRORS = (DBAPIError, PsycopgError)


@dataclass
class _Stage:
    job_started: bool = False


@contextmanager
def _stopped_as(kind: Kind) -> Iterator[_Stage]:
    """Ctrl+C and a database failure, told with the kind and whether a job exists."""
    stage = _Stage()
    try:
        yield stage
    except KeyboardInterrupt as exc:
        raise ImportInterrupted(kind, stage.job_started) from exc
    except DATABASE_ERRORS as exc:
        raise DatabaseFailed(exc, stage.job_started) from exc


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, rows: int) -> None: ...
    # complete: the step ran to its end, and its total (an estimate) is what it did.
    def finish(self, complete: bool = False) -> None: ...


class _Silent:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, rows: int) -> None:
        pass

    def finish(self, complete: bool = False) -> None:
        pass


@dataclass
class Options:
    kind: Kind | None = None  # None: from the header
    resume: bool = False
    dry_run: bool = False
    skip_invalid: bool = False
    chunk_rows: int = CHUNK_ROWS


@dataclass
class Outcome:
    kind: Kind
    # "refused" (nothing written), "checked" (dry run), "done", "imported_before" (the
    # file's job is done already: `earlier`; nothing read or written)
    status: str
    rows_checked: int = 0
    rows_valid: int = 0
    refused: list[Refusal] = field(default_factory=list)  # the first ones, for the summary
    refused_count: int = 0
    refused_rows: int = 0
    # Which rows: pass 2 checks every row again and meets pass 1's refused ones again.
    refused_row_numbers: set[int] = field(default_factory=set, repr=False)
    refused_on_writing: int = 0  # of refused_rows: valid at the check, changed since
    # Resumed: rows before the resume point an earlier run refused (skipped, never to be
    # checked again), not in refused_rows; the report keeps their lines.
    refused_before: int = 0
    report: Path | None = None
    job_id: int | None = None
    written: int = 0  # by this run
    resumed_after_row: int | None = None
    counter_rows: int | None = None  # written by the recompute
    earlier: ImportJob | None = None


SUMMARY_REFUSALS = 20


def report_path(path: Path) -> Path:
    return path.with_name(path.name + ".refused.csv")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _buffers(
    rows: Iterator[tuple[int, dict[str, Any]]], size: int, after: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    remaining = (r for r in rows if r[0] > after)
    while buffer := list(islice(remaining, size)):
        yield buffer


def _open(path: Path, kind: Kind | None) -> tuple[Kind, Iterator[tuple[int, dict[str, Any]]]]:
    table = open_table(path)
    try:
        chosen = kind or detect_kind(table.header)
        check_header(table.header, chosen)
    except FileProblem as exc:
        raise FileProblem(f"{exc}{table.read_from}") from None
    return chosen, table.rows


def _last_job(session: Session, digest: str, kind: Kind, *, done: bool) -> ImportJob | None:
    """The latest job of this file (its bytes) and kind that is done, or that is not."""
    status = col(ImportJob.status)
    return session.exec(
        select(ImportJob)
        .where(
            col(ImportJob.file_sha256) == digest,
            col(ImportJob.kind) == kind,
            status == "done" if done else status != "done",
        )
        .order_by(col(ImportJob.id).desc())
    ).first()


def _imported_before(engine: Engine, digest: str, kind: Kind) -> ImportJob | None:
    """The done job of these very bytes that wrote every row, if any: run again, the file
    was checked row by row and every row refused as already in hailong, with no word that
    it was the same file (review). A job that skipped rows (--skip-invalid) is not one: a
    row skipped for what the database lacked then (its agency, created since) goes in when
    the same file is run again, the written ones refused as stored (review)."""
    with transaction(engine) as session:
        job = _last_job(session, digest, kind, done=True)
    return job if job is not None and not job.rows_refused else None


def _job_start(
    engine: Engine, path: Path, digest: str, kind: Kind, resume: bool
) -> ImportJob | None:
    """The unfinished job to resume (None: start afresh); refuses a fresh start over one."""
    with transaction(engine) as session:
        job = _last_job(session, digest, kind, done=False)
    if job is not None and not resume:
        raise ImportStopped(
            f"an import of this file (job {job.id}) stopped after row {job.done_through_row}; "
            "run the same command with --resume to write the rest"
        )
    return job


def _remember_written(
    engine: Engine, checker: Checker, path: Path, options: Options, after: int
) -> None:
    """A resumed import of petitions first meets the rows before `after` again, so that a
    later row repeating one of their codes is refused as it was in the run that wrote them:
    met afresh, a petition code repeated after the resume point was an update, and the
    refused repeat overwrote the petition (its verdict, its handling: group 5 and so D;
    audit). Dossiers and evaluations need not: the rows written are refused as stored."""
    if checker.kind != "petitions" or after <= 1:
        return
    _, rows = _open(path, checker.kind)
    written = takewhile(lambda row: row[0] <= after, rows)  # rows come in order: stop there
    while buffer := list(islice(written, options.chunk_rows)):
        with Session(engine) as session:
            checker.check(session, buffer)


def _check_all(
    engine: Engine,
    checker: Checker,
    rows: Iterator[tuple[int, dict[str, Any]]],
    options: Options,
    after: int,
    report: Path,
    progress: Progress,
    kept: list[list[str]],
    estimate: int | None = None,
) -> Outcome:
    """Pass 1: every row checked, nothing written; the refusals written to `report`, after
    the `kept` lines of an earlier run's report (`_kept_lines`). `estimate`: about how many
    rows are to check (layout.estimated_records)."""
    outcome = Outcome(checker.kind, "checked")
    progress.start("checking", estimate)
    with ExitStack() as files:
        refused = _Refused(files, report, outcome, kept=kept)
        for buffer in _buffers(rows, options.chunk_rows, after):
            with Session(engine) as session:
                checked = checker.check(session, buffer)
            for result in checked:
                if isinstance(result, Good):
                    outcome.rows_valid += 1
                else:
                    refused.add(result)
            outcome.rows_checked += len(buffer)
            progress.advance(len(buffer))
        if not outcome.refused_rows and kept:
            # Rewritten with the earlier run's skipped rows alone: its lines after the
            # resume point were checked again and passed. Left as it is if it cannot be.
            with suppress(FileProblem):
                refused.open()
    progress.finish(complete=True)
    if not outcome.refused_rows and not kept:
        with suppress(OSError):  # an earlier run's report, now stale (if one may remove it)
            report.unlink(missing_ok=True)
    return outcome


def _kept_lines(report: Path, after: int) -> list[list[str]]:
    """A resume's report starts with the earlier run's lines of rows up to the resume
    point: those rows were skipped (--skip-invalid) and are not checked again, and the
    resume deleted or overwrote the only list of them (audit). Its lines after the resume
    point go: those rows are checked again, and would be listed twice."""
    kept = []
    with (
        suppress(OSError, UnicodeDecodeError, csv.Error),
        report.open(encoding="utf-8-sig", newline="") as handle,
    ):
        for line in csv.reader(handle):
            with suppress(ValueError, IndexError):  # the header, a line edited by hand
                if int(line[0]) <= after:
                    kept.append(line)
    return kept


def _records_through(path: Path, kind: Kind, after: int) -> int:
    """The file's records up to row `after` (blank rows are none)."""
    _, rows = _open(path, kind)
    return sum(1 for _ in takewhile(lambda row: row[0] <= after, rows))


class _Refused:
    """Refused rows, counted in the outcome and written to the report. The report is opened
    at the first one: a file in a folder one may not write in (a shared drive, a CD)
    imports when nothing is refused. Rows refused on writing (`on_writing`: changed since
    the check, skipped with --skip-invalid) join pass 1's in the same report, and are no
    longer counted valid."""

    def __init__(
        self,
        files: ExitStack,
        report: Path,
        outcome: Outcome,
        on_writing: bool = False,
        kept: list[list[str]] | None = None,
    ) -> None:
        self.files, self.report, self.outcome = files, report, outcome
        self.on_writing = on_writing
        self.kept = kept or []
        self.out: Any = None

    def open(self) -> Any:
        if self.out is None:
            self.out = self._open(append=self.outcome.report == self.report)
        return self.out

    def add(self, refusals: list[Refusal]) -> None:
        outcome = self.outcome
        if refusals[0].row in outcome.refused_row_numbers:
            return  # refused by pass 1, met again by pass 2
        outcome.refused_row_numbers.add(refusals[0].row)
        outcome.refused_rows += 1
        if self.on_writing:
            outcome.rows_valid -= 1
            outcome.refused_on_writing += 1
        out = self.open()
        for refusal in refusals:
            outcome.refused_count += 1
            if len(outcome.refused) < SUMMARY_REFUSALS:
                outcome.refused.append(refusal)
            out.writerow([refusal.row, csv_cell(refusal.column), csv_cell(refusal.reason)])

    def _open(self, append: bool) -> Any:
        try:
            # A new report starts with the BOM that tells Excel it is UTF-8; added to, not.
            mode, encoding = ("a", "utf-8") if append else ("w", "utf-8-sig")
            handle = self.files.enter_context(self.report.open(mode, encoding=encoding, newline=""))
        except OSError as exc:
            if self.on_writing:
                # Halfway through the writing, a report that cannot be written stops
                # nothing: the summary names the rows (review).
                return csv.writer(io.StringIO())
            raise FileProblem(
                f"cannot write the report of refused rows, {self.report}: "
                f"{exc.strerror or exc}; copy the file to a folder you can write in and "
                "import it from there"
            ) from None
        out = csv.writer(handle)
        if not append:
            out.writerow(["row", "column", "reason"])
            out.writerows(self.kept)
        self.outcome.report = self.report
        return out


def _write_chunk(
    engine: Engine,
    kind: Kind,
    goods: list[Good],
    through_row: int,
    job_id: int,
    directory: writing.Directory,
    settings: Settings,
    profile: Profile,
) -> None:
    for attempt in range(ATTEMPTS):
        try:
            with transaction(engine) as session:
                if kind == "dossiers":
                    # Read in the chunk's own transaction, under the calendar's lock: read
                    # once for the whole import, a day off declared meanwhile was missed by
                    # the chunks after it, and by the change's re-derivation (review).
                    overrides = cache(lambda: calendar_for_lateness(session))
                    writing.write_dossiers(session, goods, directory, settings, overrides)
                elif kind == "evaluations":
                    writing.write_evaluations(session, goods)
                else:
                    writing.write_petitions(session, goods, profile)
                job = session.get(ImportJob, job_id)
                assert job is not None
                job.done_through_row = through_row
                job.rows_written += len(goods)
                job.updated_at = utcnow()
                session.add(job)
                # The chunk's rows are in the database from its COMMIT (petitions move the
                # scores at once), whether or not the import reaches `import.done`: an
                # interrupted one changed scores with no audit record (audit). One record
                # a chunk, not one a row.
                record(
                    session,
                    IMPORT_ACTOR,
                    "import.chunk",
                    f"import_job:{job_id}",
                    {
                        "kind": kind,
                        "first_row": goods[0].row,
                        "through_row": through_row,
                        "rows_written": len(goods),
                    },
                )
            return
        except Exception as exc:
            directory.forget()  # what the chunk registered went with it
            if _key_taken(exc):
                # A dossier handed over through the API, a client_submission_id taken by a
                # live answer: the same chunk fails on it again, and was redone until the
                # import stopped on the constraint's words, even with --skip-invalid
                # (audit). Checked again, the row that changed is refused.
                raise writing.ClaimLost(_first_line(exc)) from exc
            # A short code drawn twice, or a deadlock's victim (a petition import of the API
            # locking the same dossiers in another order: review): rolled back, so written
            # again.
            if not (writing.short_code_taken(exc) or lost_a_race(exc)):
                raise
            if attempt == ATTEMPTS - 1:
                raise ImportStopped(
                    f"the rows {goods[0].row}-{through_row} could not be written "
                    f"({_first_line(exc)}); rows before them are written: fix the cause and "
                    "run again with --resume"
                ) from exc


def _key_taken(exc: Exception) -> bool:
    """Whether the write failed on a key another writer took since the check: an integrity
    error that is not a short code of the chunk's own drawing."""
    integrity = isinstance(exc, IntegrityError | PsycopgIntegrityError)
    return integrity and not writing.short_code_taken(exc)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def _still_good(
    engine: Engine,
    checker: Checker,
    buffer: list[tuple[int, dict[str, Any]]],
    options: Options,
    job: ImportJob,
    refused: _Refused,
) -> list[Good]:
    """The buffer's rows that pass the check on writing; a row refused now though pass 1
    passed it stops the import, unless `skip_invalid`: then it is refused as pass 1's are
    (it was skipped without a word in the summary or the report: review)."""
    with Session(engine) as session:
        checked = checker.check(session, buffer)
    changed = [c for c in checked if not isinstance(c, Good)]
    if changed and not options.skip_invalid:
        first = changed[0][0]
        raise ImportStopped(
            f"row {first.row} was refused on writing though it passed the check "
            f"({first.column}: {first.reason}): the database changed meanwhile. Rows up "
            f"to {job.done_through_row} are written; fix the cause and run again with "
            "--resume"
        )
    for refusals in changed:
        refused.add(refusals)
    return [c for c in checked if isinstance(c, Good)]


def _write_all(
    engine: Engine,
    checker: Checker,
    rows: Iterator[tuple[int, dict[str, Any]]],
    options: Options,
    job: ImportJob,
    settings: Settings,
    profile: Profile,
    progress: Progress,
    on_chunk: Callable[[int], None] | None,
    refused: _Refused,
) -> int:
    """Pass 2: the rows checked again (the parsed rows are not kept between passes) and
    written a chunk per transaction. Returns the rows written."""
    assert job.id is not None
    directory = writing.Directory()
    written = 0
    progress.start("writing", job.rows_valid - job.rows_written)
    for number, buffer in enumerate(_buffers(rows, options.chunk_rows, job.done_through_row)):
        goods = _still_good(engine, checker, buffer, options, job, refused)
        for attempt in range(ATTEMPTS):
            if not goods:
                break
            try:
                _write_chunk(
                    engine, checker.kind, goods, buffer[-1][0], job.id, directory, settings,
                    profile,
                )  # fmt: skip
                break
            except writing.ClaimLost as exc:
                if attempt == ATTEMPTS - 1:
                    raise ImportStopped(
                        f"the rows {goods[0].row}-{buffer[-1][0]} could not be written ({exc}); "
                        "rows before them are written: run again with --resume"
                    ) from exc
                # Checked again by a checker that met none of them (this one met them all
                # once): the rows it refuses now changed meanwhile.
                again = {good.row for good in goods}
                fresh = Checker(checker.kind, checker.profile, checker.agencies)
                goods = _still_good(
                    engine, fresh, [r for r in buffer if r[0] in again], options, job, refused
                )
        job.done_through_row = buffer[-1][0]
        written += len(goods)
        progress.advance(len(goods))
        if on_chunk is not None:
            on_chunk(number + 1)
    progress.finish()
    return written


def _recompute(engine: Engine, job_id: int, profile: Profile, refused_on_writing: int) -> int:
    """The scores recomputed once, as `hailong scores recompute` does, and the job done
    (its rows refused on writing moved from valid to refused)."""
    with transaction(engine) as session:
        rows = rebuild(session, profile, None)
        job = session.get(ImportJob, job_id)
        assert job is not None
        job.rows_valid -= refused_on_writing
        job.rows_refused += refused_on_writing
        job.status, job.finished_at = "done", utcnow()
        job.updated_at = job.finished_at
        session.add(job)
        record(
            session,
            IMPORT_ACTOR,
            "scores.recompute",
            f"import_job:{job_id}",
            {"counter_rows": rows, "reason": "import"},
        )
        record(
            session,
            IMPORT_ACTOR,
            "import.done",
            f"import_job:{job_id}",
            {"file": job.file_name, "kind": job.kind, "rows_written": job.rows_written},
        )
    return rows


def run_import(
    engine: Engine,
    settings: Settings,
    profile: Profile,
    path: Path,
    options: Options,
    progress: Progress | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Outcome:
    """Import `path`. `on_chunk(n)` is called after the n-th chunk is committed (tests stop
    an import there, as Ctrl+C would)."""
    progress = progress or _Silent()
    try:
        digest = file_digest(path)
        kind, rows = _open(path, options.kind)
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    report = report_path(path)
    with _stopped_as(kind) as stage:
        job = _job_start(engine, path, digest, kind, options.resume)
        if job is None and (earlier := _imported_before(engine, digest, kind)) is not None:
            return Outcome(kind, "imported_before", job_id=earlier.id, earlier=earlier)
        stage.job_started = job is not None
        after = job.done_through_row if job is not None else 1
        with Session(engine) as session:
            checker = Checker.load(session, kind, profile)
        _remember_written(engine, checker, path, options, after)
        kept = _kept_lines(report, after) if job is not None else []
        try:
            estimate = estimated_records(path)
            if estimate is not None:
                estimate = max(0, estimate - (after - 1))  # past the resume point
            outcome = _check_all(
                engine, checker, rows, options, after, report, progress, kept, estimate
            )
        except UnicodeDecodeError:
            raise FileProblem(f"{path.name} is not UTF-8 text; save it as CSV UTF-8") from None
        if job is not None:
            outcome.resumed_after_row = after
            # Every record up to the resume point was written or refused.
            outcome.refused_before = _records_through(path, kind, after) - job.rows_written
        if outcome.refused_rows and not options.skip_invalid:
            outcome.status = "refused"
            return outcome
        if options.dry_run:
            return outcome
        with transaction(engine) as session:
            if job is None:
                job = ImportJob(
                    file_name=str(path)[-500:],
                    file_sha256=digest,
                    kind=kind,
                    skip_invalid=options.skip_invalid,
                    rows_valid=outcome.rows_valid,
                    rows_refused=outcome.refused_rows,
                    actor=IMPORT_ACTOR,
                )
            else:
                job = session.get(ImportJob, job.id)
                assert job is not None
                job.status = "running"
                job.rows_valid = job.rows_written + outcome.rows_valid
                job.rows_refused = outcome.refused_before + outcome.refused_rows
            session.add(job)
            session.flush()
            session.expunge(job)
        stage.job_started = True
        assert job.id is not None
        outcome.job_id = job.id
        checker = Checker(kind, profile, checker.agencies)  # pass 2 meets every record afresh
        _remember_written(engine, checker, path, options, after)
        _, rows = _open(path, kind)
        try:
            with ExitStack() as files:
                refused = _Refused(files, report, outcome, on_writing=True, kept=kept)
                outcome.written = _write_all(
                    engine, checker, rows, options, job, settings, profile, progress, on_chunk,
                    refused,
                )  # fmt: skip
            progress.start("recomputing scores", None)
            # The recompute, and the requests after it, read these tables: planned on their
            # new sizes.
            analyze(engine, [Dossier, Invitation, Response, Petition])
            outcome.counter_rows = _recompute(engine, job.id, profile, outcome.refused_on_writing)
        except BaseException:
            _mark_interrupted(engine, job.id)
            raise
        progress.finish()
        outcome.status = "done"
        return outcome


def _mark_interrupted(engine: Engine, job_id: int) -> None:
    """The job stopped (Ctrl+C, an error) while writing, analyzing or recomputing: a job
    left "running" when the recompute was interrupted named a process that no longer ran
    (audit). One the recompute marked done stays so. A database that cannot mark it leaves
    it "running", which --resume continues the same: what stopped the import is told."""
    with suppress(*DATABASE_ERRORS), transaction(engine) as session:
        stopped = session.get(ImportJob, job_id)
        if stopped is not None and stopped.status != "done":
            stopped.status, stopped.updated_at = "interrupted", utcnow()
            session.add(stopped)
