"""What every command shares: one transaction per command on a migrated schema, the
checked settings, and how times and tables are printed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from service.db import make_engine, transaction
from service.errors import ServiceError
from service.models import MAX_ROW_ID
from service.settings import Settings, get_settings

CLI_ACTOR = "cli"


def row_id(help: str) -> Any:
    """An id argument (a key's, an official's, a tablet's): one no row can have is refused
    by the parser (exit 2, naming the range), not by PostgreSQL's integer (a traceback)."""
    return typer.Argument(min=1, max=MAX_ROW_ID, help=help)


def require_schema(engine: Engine) -> None:
    """Exit 1 unless the schema is at the latest migration (what /readyz checks): on a
    database never upgraded, a command ended in a long traceback ("no such table") and a
    server started only to answer 500."""
    from service.migrations import current_revision, head_revision

    with engine.connect() as connection:
        try:
            current = current_revision(connection)
        except SQLAlchemyError:  # no such table: never upgraded
            current = None
    if current != head_revision():
        where = engine.url.render_as_string(hide_password=True)
        typer.secho(
            f"error: the database at {where} is not set up (or not upgraded): "
            "run `hailong db upgrade`",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@contextmanager
def one_transaction(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction on a migrated schema (else exit 1); a ServiceError becomes a red
    message and exit code 2."""
    engine = make_engine(settings or get_settings())
    try:
        require_schema(engine)
        with transaction(engine) as session:
            yield session
    except ServiceError as exc:
        typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def checked_settings() -> Settings:
    """The settings, and the message providers they configure complete (else exit 2)."""
    from service.messaging.channels.providers import check

    settings = get_settings()
    try:
        check(settings)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    return settings


def parse_expiry(expires: str | None) -> datetime | None:
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


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"


def print_table(table: list[tuple[str, ...]]) -> None:
    """Rows (the header first) in aligned columns."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
