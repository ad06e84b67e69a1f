"""The terminal side of `hailong import`: a progress bar and a summary on stderr."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from service.cli.common import fail, reason_of, settings_and_profile, shown_url, when
from service.db import make_engine
from service.imports.layout import KINDS, FileProblem, Kind
from service.imports.run import (
    DatabaseFailed,
    ImportInterrupted,
    ImportStopped,
    Options,
    Outcome,
    run_import,
)
from service.models import ImportJob

# Where stderr is no terminal (`2>import.log`, nohup, a systemd unit), rich draws its bar
# only when a step ends: an hour's import left the log silent (imports audit). A plain line
# then says how far it is, this often.
LOG_EVERY_SECONDS = 10.0


class Bar:
    """rich's progress on stderr: rows, rows/s and the time left (when the total is known);
    to a log, a line every LOG_EVERY_SECONDS saying the same."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.started = 0.0
        self.label = ""
        self.next_line = 0.0

    def start(self, label: str, total: int | None) -> None:
        self.finish()
        self.started = time.perf_counter()
        self.label, self.next_line = label, self.started + LOG_EVERY_SECONDS
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[speed]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(label, total=total, speed="-")

    def advance(self, rows: int) -> None:
        if self.progress is None or self.task is None:
            return
        self.progress.advance(self.task, rows)
        task = self.progress.tasks[0]
        now = time.perf_counter()
        elapsed = now - self.started
        if elapsed > 0:
            self.progress.update(self.task, speed=f"{task.completed / elapsed:,.0f}")
        if not self.console.is_terminal and now >= self.next_line:
            self.next_line = now + LOG_EVERY_SECONDS
            self.console.print(
                _log_line(self.label, task.completed, task.total, elapsed), markup=False
            )

    def finish(self, complete: bool = False) -> None:
        if self.progress is not None:
            if self.task is not None:
                task = self.progress.tasks[0]
                # A step without rows (the recompute) or with an estimated total (checking):
                # done, at what it did.
                if task.total is None or complete:
                    done = task.completed or 1
                    self.progress.update(self.task, total=done, completed=done)
            self.progress.stop()
        self.progress, self.task = None, None


def _log_line(label: str, done: float, total: float | None, elapsed: float) -> str:
    """'writing: 12,000 of 50,000 rows (24 %), 1,200 rows/s, about 32 s left'."""
    speed = done / elapsed if elapsed > 0 else 0.0
    line = f"{label.strip()}: {done:,.0f}"
    if total:
        line += f" of {total:,.0f} rows ({100 * done / total:.0f} %)"
    else:
        line += " rows"
    line += f", {speed:,.0f} rows/s"
    if total and speed > 0:
        line += f", about {max(0.0, total - done) / speed:,.0f} s left"
    return line


def _summary(console: Console, outcome: Outcome, options: Options, seconds: float) -> None:
    say = console.print
    if outcome.resumed_after_row is not None:
        say(f"resumed after row {outcome.resumed_after_row}")
    say(
        f"{outcome.kind}: {outcome.rows_checked} row(s) checked, {outcome.rows_valid} valid, "
        f"{outcome.refused_rows} refused ({outcome.refused_count} problem(s))",
        markup=False,
    )
    if outcome.refused_before:
        say(
            f"{outcome.refused_before} row(s) before the resume point were refused by the "
            "earlier run and SKIPPED (--skip-invalid); the report lists them",
            markup=False,
        )
    for refusal in outcome.refused:
        where = f"row {refusal.row}" + (f", {refusal.column}" if refusal.column else "")
        say(f"  {where}: {refusal.reason}", markup=False)
    if outcome.refused_count > len(outcome.refused):
        say(f"  ... and {outcome.refused_count - len(outcome.refused)} more", markup=False)
    if outcome.report is not None:
        say(f"every refused row, with its column and reason: {outcome.report}", markup=False)
    if outcome.status == "refused" and outcome.resumed_after_row is not None:
        # Rows up to the resume point are in hailong: a corrected file is another file
        # (its digest) and would meet them as stored already.
        say(
            f"rows up to {outcome.resumed_after_row} stay written; nothing more was written. "
            "Keep the file as it is and resume with --resume --skip-invalid to write the "
            "valid rows after them, and import the corrected rows as a file of their own",
            style="red",
        )
    elif outcome.status == "refused":
        say(
            "nothing was written: correct these rows and import the file again, or give "
            "--skip-invalid to write only the valid rows",
            style="red",
        )
    elif outcome.status == "checked":
        say("dry run: nothing was written")
    else:
        # The job's, a resume's included: it said "0 refused" of a file whose first run
        # skipped rows (audit).
        refused = outcome.refused_rows + outcome.refused_before
        skipped = f"; {refused} refused row(s) were SKIPPED (--skip-invalid)" if refused else ""
        rate = outcome.written / seconds if seconds > 0 else 0.0
        say(
            f"imported {outcome.written} row(s) (job {outcome.job_id}) in {seconds:.1f} s, "
            f"{rate:,.0f} rows/s{skipped}; scores recomputed once "
            f"({outcome.counter_rows} counter rows)",
            markup=False,
        )


def _imported_before(job: ImportJob, file: Path) -> str:
    """A file whose import wrote every row is not read again: its job and when are said,
    not every row refused as already in hailong (review)."""
    named = "" if job.file_name == str(file)[-500:] else f" (read from {job.file_name})"
    return (
        f"This file was already imported as job {job.id}{named} on "
        f"{when(job.finished_at)} UTC ({job.rows_written} row(s) written): nothing to do"
    )


def _interrupted(kind: Kind | None, job_started: bool) -> str:
    """What a Ctrl+C leaves. Petitions go through the petition service, which moves the
    counters row by row: the CLI said they counted only once the import ended (audit).
    Before the import's job exists nothing is written: it spoke of rows written and
    --resume while still checking (audit)."""
    if not job_started:
        return "interrupted: nothing was written; run the same command again to import the file"
    if kind == "petitions":
        return (
            "interrupted: the petitions written so far stay and already count in the scores: "
            "run the same command with --resume to write the rest"
        )
    return (
        "interrupted: the rows written so far stay, but the scores count them only once the "
        "import ends (a single recompute): run the same command with --resume to write the "
        "rest, or `hailong scores recompute` to count these alone"
    )


def run_command(
    file: Path,
    kind: str,
    *,
    resume: bool,
    dry_run: bool,
    skip_invalid: bool,
    chunk_rows: int,
) -> None:
    console = Console(stderr=True)
    if kind not in ("auto", *KINDS):
        console.print(f"error: --kind is one of auto, {', '.join(KINDS)}", style="red")
        raise typer.Exit(2)
    # The profile before anything is read: a misspelt one was a traceback and exit 1, which
    # README gives the database (audit).
    settings, profile = settings_and_profile()
    chosen: Kind | None = None if kind == "auto" else kind  # type: ignore[assignment]
    options = Options(chosen, resume, dry_run, skip_invalid, chunk_rows)
    engine = make_engine(settings)
    bar = Bar(console)
    started = time.perf_counter()
    try:
        outcome = run_import(engine, settings, profile, file, options, bar)
    except (FileProblem, ImportStopped) as exc:
        bar.finish()
        console.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    except DatabaseFailed as exc:
        # One line and exit 1, as every command says a database failing under it
        # (cli/common.py); it was a traceback (audit).
        bar.finish()
        after = (
            "the rows written so far stay: once it works again, run the same command with "
            "--resume to write the rest"
            if exc.job_started
            else "nothing was written"
        )
        where = shown_url(settings.database_url)
        fail(f"the database at {where} failed: {reason_of(exc.error)}; {after}", code=1)
    except KeyboardInterrupt as exc:
        bar.finish()
        # Before the file's header was read, only --kind tells its kind, and nothing is written.
        if isinstance(exc, ImportInterrupted):
            console.print(_interrupted(exc.kind, exc.job_started), style="red")
        else:
            console.print(_interrupted(chosen, False), style="red")
        raise typer.Exit(130) from None
    finally:
        engine.dispose()
    if outcome.earlier is not None:
        console.print(_imported_before(outcome.earlier, file), markup=False)
        return
    _summary(console, outcome, options, time.perf_counter() - started)
    if outcome.status == "refused":
        raise typer.Exit(1)
