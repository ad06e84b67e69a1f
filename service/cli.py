"""The `hailong` command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from service.db import make_engine, transaction
from service.errors import ServiceError
from service.settings import Settings, get_settings

app = typer.Typer(
    help="hailong: citizen satisfaction surveys for one-stop offices.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
agencies_app = typer.Typer(help="The agency tree.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
officials_app = typer.Typer(
    help="Officials who sign in to the console with the province's identity provider.",
    no_args_is_help=True,
)
scores_app = typer.Typer(help="Score counters.", no_args_is_help=True)
calendar_app = typer.Typer(help="Working-day calendar overrides.", no_args_is_help=True)
kiosk_app = typer.Typer(help="Counter kiosk tablets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(scores_app, name="scores")
app.add_typer(calendar_app, name="calendar")
app.add_typer(agencies_app, name="agencies")
app.add_typer(keys_app, name="keys")
app.add_typer(officials_app, name="officials")
app.add_typer(kiosk_app, name="kiosk")

CLI_ACTOR = "cli"


@contextmanager
def _session(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction; a ServiceError becomes a red message and exit code 2."""
    engine = make_engine(settings or get_settings())
    try:
        with transaction(engine) as session:
            yield session
    except ServiceError as exc:
        typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _checked_settings() -> Settings:
    """The settings, and the message providers they configure complete (else exit 2)."""
    from service.messaging.channels.providers import check

    settings = get_settings()
    try:
        check(settings)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the API and pages."""
    import uvicorn

    if "HAILONG_BASE_URL" not in os.environ:
        # Links, QR codes and slips point where this server listens (its workers inherit
        # the environment), not at the default port; behind a proxy, set the public URL.
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        os.environ["HAILONG_BASE_URL"] = f"http://{shown_host}:{port}"
    settings = _checked_settings()  # refuse bad configuration before forking workers
    typer.echo(f"hailong serving on http://{host}:{port}; links point at {settings.base_url}")
    uvicorn.run(
        "service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        # Kiosk event streams stay open; on shutdown they get this long, then are closed
        # (the tablets reconnect to the next server by themselves).
        timeout_graceful_shutdown=5,
    )


@app.command()
def worker() -> None:
    """Deliver webhooks (for deployments that run the worker apart from `serve`)."""
    import signal
    import threading

    from service.delivery.worker import DeliveryWorker
    from service.profile import load_profile

    settings = _checked_settings()
    engine = make_engine(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo("hailong worker delivering webhooks; Ctrl+C to stop")
    try:
        DeliveryWorker(engine, settings, load_profile(settings.scoring_profile)).run_forever(stop)
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest migration."""
    from service.migrations import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database schema is up to date")


@agencies_app.command("add")
def agencies_add(
    code: str,
    name: str,
    parent: Annotated[str | None, typer.Option(help="Code of the parent agency")] = None,
) -> None:
    """Add an agency, or rename / move an existing one."""
    from service.admin.agencies import upsert_agency

    with _session() as session:
        _, created = upsert_agency(session, code, name, parent, actor=CLI_ACTOR)
    typer.echo(f"{'added' if created else 'updated'} agency {code}")


@agencies_app.command("import")
def agencies_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import agencies from a CSV file with the columns code, name, parent_code."""
    from service.admin.agencies import import_agencies_csv

    with _session() as session:
        result = import_agencies_csv(session, file.read_text(encoding="utf-8"), actor=CLI_ACTOR)
    typer.echo(f"imported agencies: {result.created} added, {result.updated} updated")


def _expiry(expires: str | None) -> datetime | None:
    from service.admin.keys import expiry_from_date

    if expires is None:
        return None
    try:
        return expiry_from_date(date.fromisoformat(expires))
    except ValueError:
        typer.secho(
            f"error: '{expires}' is not a date; use YYYY-MM-DD", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(2) from None


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="issuer, reader, manager, admin, kiosk or auditor")],
    agency: Annotated[str | None, typer.Option(help="Limit the key to this agency's tree")] = None,
    name: Annotated[str | None, typer.Option(help="Who the key is for")] = None,
    expires: Annotated[
        str | None, typer.Option(help="Last day the key works, YYYY-MM-DD (Vietnam time)")
    ] = None,
) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from service.admin.keys import create_key

    expires_at = _expiry(expires)
    with _session() as session:
        key, raw = create_key(
            session,
            role=role,
            name=name or f"{role} key",
            agency_code=agency,
            actor=CLI_ACTOR,
            expires_at=expires_at,
        )
        scope = f" for agency {agency}" if agency else ""
        until = f", working through {expires}" if expires else ""
        typer.echo(
            f"created {role} key #{key.id}{scope}{until}; store it now, it is not shown again:",
            err=True,
        )
    typer.echo(raw)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"


@keys_app.command("list")
def keys_list() -> None:
    """List the API keys (never the keys themselves); times in UTC."""
    from service.admin.keys import list_keys

    header = ("ID", "NAME", "ROLE", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    table: list[tuple[str, ...]] = [header]
    with _session() as session:
        after = 0
        while rows := list_keys(session, None, after=after, limit=500):
            for row in rows:
                key = row.key
                revoked = f"{_when(key.revoked_at)} by {key.revoked_by}" if key.revoked_at else "-"
                table.append(
                    (
                        str(key.id),
                        key.name,
                        key.role,
                        row.agency_code or "all",
                        _when(key.created_at),
                        _when(key.last_used_at),
                        _when(key.expires_at),
                        revoked,
                    )
                )
            after = rows[-1].key.id or after
    _print_table(table)


def _print_table(table: list[tuple[str, ...]]) -> None:
    """Rows (the header first) in aligned columns."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The id from `keys list`")]) -> None:
    """Revoke a key: every server process refuses it within HAILONG_AUTH_CACHE_SECONDS."""
    from service.admin.keys import revoke_key

    with _session() as session:
        key = revoke_key(session, key_id, actor=CLI_ACTOR)
        typer.echo(f"revoked {key.role} key #{key_id} ({key.name})")


@keys_app.command("rotate")
def keys_rotate(key_id: Annotated[int, typer.Argument(help="The id from `keys list`")]) -> None:
    """Revoke a key and print its successor (same name, role, scope, expiry) on the last line."""
    from service.admin.keys import rotate_key

    with _session() as session:
        key, raw = rotate_key(session, key_id, actor=CLI_ACTOR)
        typer.echo(
            f"revoked key #{key_id}; its successor is {key.role} key #{key.id}; store it now, "
            "it is not shown again:",
            err=True,
        )
    typer.echo(raw)


@officials_app.command("add")
def officials_add(
    email: Annotated[str, typer.Argument(help="The e-mail the identity provider vouches for")],
    role: Annotated[str, typer.Option(help="manager, admin or auditor")],
    agency: Annotated[str | None, typer.Option(help="Limit to this agency's tree")] = None,
    name: Annotated[str, typer.Option(help="The official's name")] = "",
) -> None:
    """Let an official sign in to the console (with HAILONG_OIDC_ISSUER set)."""
    from service.auth.officials import add_official

    with _session() as session:
        official = add_official(session, CLI_ACTOR, email, name, role, agency)
        typer.echo(f"added {official.role} official #{official.id} ({official.email})")


@officials_app.command("list")
def officials_list() -> None:
    """List the officials; times in UTC."""
    from service.auth.officials import list_officials
    from service.models import Agency

    header = ("ID", "E-MAIL", "NAME", "ROLE", "SCOPE", "LAST SIGN-IN", "DISABLED")
    table: list[tuple[str, ...]] = [header]
    with _session() as session:
        for official in list_officials(session):
            agency = session.get(Agency, official.agency_id) if official.agency_id else None
            disabled = official.disabled_at
            table.append(
                (
                    str(official.id),
                    official.email,
                    official.name,
                    official.role,
                    agency.code if agency else "all",
                    _when(official.last_sign_in_at),
                    f"{_when(disabled)} by {official.disabled_by}" if disabled else "-",
                )
            )
    _print_table(table)


@officials_app.command("disable")
def officials_disable(
    official_id: Annotated[int, typer.Argument(help="The id from `officials list`")],
) -> None:
    """Disable an official: every console session of theirs ends at its next request."""
    from service.auth.officials import disable_official

    with _session() as session:
        official = disable_official(session, CLI_ACTOR, official_id)
        typer.echo(f"disabled official #{official_id} ({official.email})")


@kiosk_app.command("pair")
def kiosk_pair(
    agency: Annotated[str, typer.Option(help="The counter's agency code")],
    counter: Annotated[str, typer.Option(help="The counter's code (created if new)")],
) -> None:
    """Create a one-time pairing code for a counter's tablet; the code is the last line."""
    from service.kiosk.pairing import create_pairing

    settings = get_settings()
    with _session(settings) as session:
        made = create_pairing(
            session,
            agency_code=agency,
            counter_code=counter,
            actor=CLI_ACTOR,
            principal=None,
            minutes=settings.kiosk_pairing_minutes,
        )
        typer.echo(
            f"pairing code for counter {made.counter.code} of {made.agency.code}, valid until "
            f"{made.expires_at:%Y-%m-%d %H:%M} UTC: open {settings.base_url}/kiosk on the "
            "tablet and type it",
            err=True,
        )
    typer.echo(made.code)


@kiosk_app.command("devices")
def kiosk_devices() -> None:
    """List the paired tablets."""
    from service.kiosk.pairing import list_devices

    with _session() as session:
        for device in list_devices(session, None):
            typer.echo(
                f"{device.key.id}\t{device.agency.code}\t{device.counter.code}\t"
                f"paired {device.key.created_at:%Y-%m-%d %H:%M}"
            )


@kiosk_app.command("unpair")
def kiosk_unpair(
    device_id: Annotated[int, typer.Argument(help="The id from `kiosk devices`")],
) -> None:
    """Unpair a tablet: its device key stops working at once."""
    from service.kiosk.pairing import unpair

    with _session() as session:
        device = unpair(session, device_id, actor=CLI_ACTOR, principal=None)
        typer.echo(f"unpaired kiosk {device_id} at counter {device.counter.code}")


@scores_app.command("recompute")
def scores_recompute(
    period: Annotated[str | None, typer.Option(help="Only this period, e.g. 2025-Q3")] = None,
) -> None:
    """Rebuild the score counters from dossiers, evaluations and petitions."""
    import time

    from service.periods import parse_period
    from service.profile import load_profile
    from service.scoring.rebuild import rebuild

    settings = get_settings()
    try:
        parsed = parse_period(period) if period else None
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    started = time.perf_counter()
    with _session(settings) as session:
        rows = rebuild(session, load_profile(settings.scoring_profile), parsed)
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
    from datetime import date

    from service.profile import load_profile
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
    with _session(settings) as session:
        _, moved = set_day(
            session,
            parsed,
            working,
            note,
            actor=CLI_ACTOR,
            profile=load_profile(settings.scoring_profile),
        )
    kind = "a working day" if working else "a day off"
    typer.echo(f"{parsed.isoformat()} is now {kind}; {moved} late dossier(s) re-scored")


@app.command()
def purge(
    older_than_days: Annotated[
        int | None, typer.Option(help="Default: HAILONG_RETENTION_DAYS")
    ] = None,
) -> None:
    """Remove citizens' contact details and free text older than the retention period."""
    from service.retention.purge import purge as run_purge

    settings = get_settings()
    days = older_than_days or settings.retention_days
    with _session(settings) as session:
        result = run_purge(session, days, actor=CLI_ACTOR)
    typer.echo(
        f"purged data received before {result.cutoff:%Y-%m-%d}: {result.contacts} "
        f"contact(s), {result.complaints} complaint text(s), "
        f"{result.petition_texts} petition text(s), {result.console_sessions} ended console "
        f"session(s), {result.invitation_contacts} handover contact(s); scores are unchanged"
    )


@app.command()
def demo() -> None:
    """Seed the demo agencies, staff and counters; print fresh keys and a sample handover."""
    from service.demo import tour
    from service.demo.seed import seed_demo
    from service.kiosk.pairing import create_pairing
    from service.profile import load_profile

    settings = get_settings()
    with _session(settings) as session:
        keys = seed_demo(session, settings, load_profile(settings.scoring_profile))
    typer.echo(tour.keys_and_handover(keys, settings.base_url))
    with _session(settings) as session:
        kiosk = create_pairing(
            session,
            agency_code="79.BTH",
            counter_code="Q01",
            actor=CLI_ACTOR,
            principal=None,
            minutes=settings.kiosk_pairing_minutes,
        )
    typer.echo(tour.where_to_look(settings.base_url, kiosk.code, settings.kiosk_pairing_minutes))


def main() -> None:
    app()
