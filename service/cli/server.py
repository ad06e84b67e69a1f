"""Serving, the delivery worker, and the schema."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from service.cli.apps import app, db_app
from service.cli.common import (
    checked_settings,
    fail,
    migrated_engine,
    reached_engine,
    reason_of,
    shown_url,
)
from service.settings import get_settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free one)")
    ] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Serve the API and pages."""
    import uvicorn

    if "HAILONG_BASE_URL" not in os.environ and port != 0:
        # Links, QR codes and slips point where this server listens (its workers inherit
        # the environment), not at the default port; behind a proxy, set the public URL.
        # (Port 0 is known only once bound: the setting's default then, as the line below
        # says. An IPv6 address goes in brackets: ::1 made a URL without a host; review.)
        # Read first as they are: messages set up without a base URL are refused (their
        # links would open nothing on a citizen's phone), not given this machine's address.
        get_settings()
        get_settings.cache_clear()
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        if ":" in shown_host:
            shown_host = f"[{shown_host}]"
        os.environ["HAILONG_BASE_URL"] = f"http://{shown_host}:{port}"
    settings = checked_settings()  # refuse bad configuration before forking workers
    with migrated_engine(settings):
        pass  # else it would start, and answer every request with a 500
    typer.echo(f"hailong serving on http://{host}:{port}; links point at {settings.base_url}")
    uvicorn.run(
        "service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        # The client's address, that of the guess limit, as these proxies forward it.
        forwarded_allow_ips=settings.trusted_proxies.split(",") if settings.trusted_proxies else [],
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
    from service.profile import profile_of

    settings = checked_settings()  # the profile included: profile_of below cannot fail
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with migrated_engine(settings) as engine:
        typer.echo("hailong worker delivering webhooks; Ctrl+C to stop")
        DeliveryWorker(engine, settings, profile_of(settings)).run_forever(stop)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the latest migration."""
    from alembic.util import CommandError

    from service.migrations import current_revision, schema_advice, upgrade

    settings = get_settings()
    reached_engine(settings).dispose()
    try:
        upgrade(settings.database_url)
    except SQLAlchemyError as exc:  # a migration refused (a table of another program, say)
        where = shown_url(settings.database_url)
        fail(f"upgrading the database at {where} failed: {reason_of(exc)}", code=1)
    except CommandError:  # Alembic's: a revision this release does not know
        engine = reached_engine(settings)
        with engine.connect() as connection:
            current = current_revision(connection)
        engine.dispose()
        where = shown_url(settings.database_url)
        fail(f"cannot upgrade the database at {where}: {schema_advice(current)}", code=1)
    typer.echo("database schema is up to date")
