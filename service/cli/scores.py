"""Score counters and the working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from service.cli.apps import calendar_app, scores_app
from service.cli.common import CLI_ACTOR, one_transaction
from service.settings import get_settings


@scores_app.command("recompute")
def scores_recompute(
    period: Annotated[str | None, typer.Option(help="Only this period, e.g. 2025-Q3")] = None,
) -> None:
    """Rebuild the score counters from dossiers, evaluations and petitions."""
    import time

    from service.periods import parse_period
    from service.profile import profile_of
    from service.scoring.rebuild import rebuild

    settings = get_settings()
    try:
        parsed = parse_period(period) if period else None
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    from service.audit import record

    started = time.perf_counter()
    with one_transaction(settings) as session:
        rows = rebuild(session, profile_of(settings), parsed)
        record(
            session,
            CLI_ACTOR,
            "scores.recompute",
            f"period:{parsed.key}" if parsed else None,
            {"counter_rows": rows, "reason": "cli"},
        )
    scope = f"period {parsed.key}" if parsed else "all periods"
    typer.echo(f"rebuilt {rows} counter rows for {scope} in {time.perf_counter() - started:.1f} s")


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="The date, YYYY-MM-DD")],
    working: Annotated[
        bool, typer.Option("--working/--off", help="A make-up working day, or a day off")
    ],
    note: Annotated[str | None, typer.Option(help="Why, e.g. the decision announcing it")] = None,
) -> None:
    """Override one day of the working-day calendar; late dossiers are re-scored."""

    from service.profile import profile_of
    from service.scoring.calendar_days import set_day
    from service.timebounds import OutOfRange, check_day

    try:
        parsed = check_day(date.fromisoformat(day))
    except OutOfRange as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except ValueError:
        typer.secho(f"error: '{day}' is not a date; use YYYY-MM-DD", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    settings = get_settings()
    with one_transaction(settings) as session:
        _, moved = set_day(
            session,
            parsed,
            working,
            note,
            actor=CLI_ACTOR,
            profile=profile_of(settings),
        )
    kind = "a working day" if working else "a day off"
    typer.echo(f"{parsed.isoformat()} is now {kind}; {moved} late dossier(s) re-scored")
