"""Score counters and the working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from service.cli.apps import calendar_app, scores_app
from service.cli.common import CLI_ACTOR, fail, one_transaction, settings_and_profile


@scores_app.command("recompute")
def scores_recompute(
    period: Annotated[str | None, typer.Option(help="Only this period, e.g. 2025-Q3")] = None,
) -> None:
    """Rebuild the score counters from dossiers, evaluations and petitions."""
    import time

    from service.audit import record
    from service.periods import parse_period
    from service.scoring.rebuild import REBUILD_STEPS, rebuild

    try:
        # `is not None`: an empty --period (a script's unset variable) is refused by
        # parse_period; taken for no period, it rebuilt every period.
        parsed = parse_period(period) if period is not None else None
    except ValueError as exc:
        fail(str(exc))
    settings, profile = settings_and_profile()
    started = time.perf_counter()

    def step(index: int) -> None:
        # A rebuild of a year's millions of rows takes minutes, with nothing else to show
        # (one transaction, set-based SQL): each step is said as it begins, on stderr.
        typer.echo(
            f"step {index + 1} of {len(REBUILD_STEPS)} "
            f"({time.perf_counter() - started:.1f} s): {REBUILD_STEPS[index]}",
            err=True,
        )

    with one_transaction(settings) as session:
        rows = rebuild(session, profile, parsed, step=step)
        record(
            session,
            CLI_ACTOR,
            "scores.recompute",
            f"period:{parsed.key}" if parsed else None,
            {"counter_rows": rows, "reason": "cli"},
        )
    scope = f"period {parsed.key}" if parsed else "all periods"
    typer.echo(f"rebuilt {rows} counter rows for {scope} in {time.perf_counter() - started:.1f} s")


def _calendar_day(day: str) -> date:
    from service.timebounds import OutOfRange, check_day

    try:
        return check_day(date.fromisoformat(day))
    except OutOfRange as exc:
        fail(str(exc))
    except ValueError:
        fail(f"'{day}' is not a date; use YYYY-MM-DD")


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD")],
    working: Annotated[bool, typer.Option("--working", help="A make-up working day")] = False,
    off: Annotated[bool, typer.Option("--off", help="A day off")] = False,
    note: Annotated[str | None, typer.Option(help="Why, e.g. the decision announcing it")] = None,
) -> None:
    """Override one day of the working-day calendar; late dossiers are re-scored."""
    from service.scoring.calendar_days import set_day

    # Two flags, one of them: "--working/--off" took the last of both given (and re-scored
    # by it), and left out printed a usage box naming --working alone (calendar audit).
    if working == off:
        fail("give one of --working (a make-up working day) or --off (a day off)")
    parsed = _calendar_day(day)
    settings, profile = settings_and_profile()
    with one_transaction(settings) as session:
        _, moved = set_day(session, parsed, working, note, actor=CLI_ACTOR, profile=profile)
    kind = "a working day" if working else "a day off"
    typer.echo(f"{parsed.isoformat()} is now {kind}; {moved} late dossier(s) re-scored")


@calendar_app.command("unset")
def calendar_unset(day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD")]) -> None:
    """Remove a day's override: the national calendar says again; late dossiers are
    re-scored."""
    from service.calendar.working_days import is_working_day
    from service.scoring.calendar_days import unset_day

    parsed = _calendar_day(day)
    settings, profile = settings_and_profile()
    with one_transaction(settings) as session:
        moved = unset_day(session, parsed, actor=CLI_ACTOR, profile=profile)
    kind = "a working day" if is_working_day(parsed) else "a day off"
    if moved is None:
        typer.echo(
            f"{parsed.isoformat()} had no override: it is {kind}, as the national calendar says"
        )
        return
    typer.echo(
        f"{parsed.isoformat()} is {kind} again, as the national calendar says; "
        f"{moved} late dossier(s) re-scored"
    )


@calendar_app.command("list")
def calendar_list() -> None:
    """The local overrides, by day: date, working or off, note."""
    from service.calendar.overrides import list_overrides

    settings, _ = settings_and_profile()
    with one_transaction(settings) as session:
        for override in list_overrides(session):
            kind = "working" if override.working else "off"
            typer.echo(f"{override.day.isoformat()}\t{kind}\t{override.note or ''}")
