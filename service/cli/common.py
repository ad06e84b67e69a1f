"""What every command shares: its arguments checked as text the service can store, one
transaction per command on a reachable, migrated schema, the checked settings, and how
times and tables are printed."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    InterfaceError,
    InternalError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlmodel import Session
from typer.core import TyperGroup

from service.db import make_engine, transaction
from service.errors import ServiceError
from service.models import MAX_ROW_ID
from service.settings import Settings, get_settings
from service.text_clean import XML_ILLEGAL, refuse_nul

if TYPE_CHECKING:
    from service.profile import Profile

CLI_ACTOR = "cli"


def fail(message: str, code: int = 2) -> NoReturn:
    """`error: <message>` in red on stderr, one line, and the exit code (2: the operator's
    input or configuration; 1: the database, as README's CLI section says)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


# A byte that is not UTF-8 reaches Python as a lone surrogate U+DC80..U+DCFF.
_UNDECODED_BYTE = re.compile("[\udc80-\udcff]")


def refuse_unstorable(args: Sequence[str]) -> None:
    """Exit 2 unless every argument is text the service can store (`refuse_nul`, the rule
    the API's input models apply): a name, note or code with a byte that is not UTF-8 (a
    lone surrogate) or a control character ended in a traceback from the database driver
    or a document writer, or was stored where the API refuses it."""
    for arg in args:
        try:
            refuse_nul(arg)
        except ValueError as exc:
            # The offending characters are shown as escapes, never written to the terminal.
            shown = XML_ILLEGAL.sub(lambda m: f"\\u{ord(m.group()):04x}", arg)
            hint = ""
            if _UNDECODED_BYTE.search(arg):
                hint = " (it is not UTF-8: set the terminal or the script to UTF-8)"
            fail(f"the argument '{shown}' {exc}{hint}")


class CheckedArguments(TyperGroup):
    """The root command: every argument of every command is checked (`refuse_unstorable`)
    once, here, before any command parses it."""

    # `ctx` is typer's own (vendored) click Context, which it does not export.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        refuse_unstorable(args)
        return super().parse_args(ctx, args)


def row_id(help: str) -> Any:
    """An id argument (a key's, an official's, a tablet's): one no row can have is refused
    by the parser (exit 2, naming the range), not by PostgreSQL's integer (a traceback)."""
    return typer.Argument(min=1, max=MAX_ROW_ID, help=help)


# Query keys libpq and SQLAlchemy take a password from: `?password=` keeps a password full
# of characters a URL's userinfo must escape, and was printed whole (operations audit).
SECRET_QUERY_KEYS = ("password", "sslpassword")
_SECRET_QUERY = re.compile(rf"([?&](?:{'|'.join(SECRET_QUERY_KEYS)})=)[^&#]*", re.IGNORECASE)


def shown_url(database_url: str) -> str:
    """The URL as the operator wrote it, but for its passwords (***), in its userinfo or
    its query, even one SQLAlchemy cannot parse."""
    hidden = _SECRET_QUERY.sub(r"\1***", database_url)
    try:
        url = make_url(hidden)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", hidden)
    if url.password is None:
        return hidden
    return _SECRET_QUERY.sub(r"\1***", url.render_as_string(hide_password=True))


def reason_of(exc: BaseException) -> str:
    """The driver's own words on one line (psycopg's span two), without SQLAlchemy's
    statement and background link."""
    original = getattr(exc, "orig", None) or exc
    return " ".join(str(original).split()) or type(original).__name__


# What a database that cannot be written raises (a read-only SQLite file, a server gone
# away); and one that cannot be reached: those, an unparsable URL (ValueError: a port that
# is no number), an unknown dialect or a driver not installed (postgresql:// names psycopg2).
# InternalError: PostgreSQL's refusals that are the database's state, not our statement (a
# read-only transaction, a standby): a traceback from every command (imports audit).
_REFUSED = (OperationalError, InterfaceError, InternalError)
_UNREACHABLE = (*_REFUSED, ArgumentError, NoSuchModuleError, ImportError, ValueError)


@contextmanager
def database_errors(database_url: str, *, reached: bool = False) -> Iterator[None]:
    """The one place a database failure becomes one line and exit code 1: `cannot reach
    the database at <url>: <reason>` (or, once reached, `the database at <url> failed:
    <reason>`); the password is never shown. It was a traceback from every command."""
    caught = _REFUSED if reached else _UNREACHABLE
    try:
        yield
    except caught as exc:
        where = shown_url(database_url)
        if reached:
            fail(f"the database at {where} failed: {reason_of(exc)}", code=1)
        # A URL of a kind hailong has no driver for (postgres://, postgresql:// naming
        # psycopg2, mysql://) said only "Can't load plugin" or "No module named 'MySQLdb'"
        # (ops walkthrough): the forms it takes are named.
        hint = (
            "; write sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"
            if isinstance(exc, NoSuchModuleError | ImportError)
            else ""
        )
        fail(f"cannot reach the database at {where}: {reason_of(exc)}{hint}", code=1)


def require_schema(engine: Engine) -> None:
    """Exit 1 unless the schema is at the latest migration (what /readyz checks): on a
    database never upgraded, a command ended in a long traceback ("no such table") and a
    server started only to answer 500. A database that cannot be reached raises (see
    `migrated_engine`)."""
    from service.migrations import current_revision, head_revision, is_known, schema_advice

    with engine.connect() as connection:
        try:
            current = current_revision(connection)
        except SQLAlchemyError:  # no such table: never upgraded
            current = None
    if current != head_revision():
        # Its passwords hidden, the query's too (`?password=`: SQLAlchemy hides the URL's
        # own only; ops audit).
        where = shown_url(engine.url.render_as_string(hide_password=False))
        if current is not None and not is_known(current):
            fail(f"the database at {where}: {schema_advice(current)}", code=1)
        fail(
            f"the database at {where} is not set up (or not upgraded): run `hailong db upgrade`",
            code=1,
        )


def reached_engine(settings: Settings) -> Engine:
    """An engine whose database answers a connection (else one line, exit 1). Only the
    engine's making and that first connection are taken for "cannot reach": a failing
    migration or a bug of ours said so too (review)."""
    with database_errors(settings.database_url):
        engine = make_engine(settings)
        try:
            with engine.connect():
                pass
        except BaseException:
            engine.dispose()
            raise
    return engine


@contextmanager
def migrated_engine(settings: Settings) -> Iterator[Engine]:
    """An engine on a database reached and at the latest migration (else one line, exit
    1), disposed of at the end. A SQLite file that does not exist is not set up: said so
    without connecting, which would have left an empty file behind (a stranger's README
    walkthrough: a misspelt HAILONG_DATABASE_URL; the same words as for a file never
    upgraded)."""
    try:
        url = make_url(settings.database_url)
        file = url.database if url.get_backend_name() == "sqlite" else None
        if url.query.get("uri") == "true" or (file or "").startswith("file:"):
            file = None  # SQLite's URI form names its file its own way: not judged here
    except (ArgumentError, ValueError):  # not a URL: reached_engine says so, in one line
        file = None
    # A missing directory stays "cannot reach" (db upgrade could not make it there either).
    if file and file != ":memory:" and not Path(file).exists() and Path(file).parent.is_dir():
        where = shown_url(settings.database_url)
        fail(
            f"the database at {where} is not set up (or not upgraded): run `hailong db upgrade`",
            code=1,
        )
    engine = reached_engine(settings)
    try:
        with database_errors(settings.database_url, reached=True):
            require_schema(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def one_transaction(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction on a reachable, migrated schema (else exit 1); a ServiceError
    becomes a red message and exit code 2, a database failing meanwhile (a read-only
    SQLite file refusing a write, say) one line and exit code 1."""
    settings = settings or get_settings()
    with (
        migrated_engine(settings) as engine,
        database_errors(settings.database_url, reached=True),
    ):
        try:
            with transaction(engine) as session:
                yield session
        except ServiceError as exc:
            fail(exc.detail)


def checked_settings() -> Settings:
    """The settings, with the scoring profile they name loadable and the message
    providers they configure complete (else one line, exit 2): what `serve` and `worker`
    check before starting anything."""
    from service.messaging.channels.providers import check
    from service.settings import KeyFileUnwritable

    settings, _ = settings_and_profile()
    try:
        check(settings)
        # The key file, created here when missing: one line if it cannot be, not each
        # worker's traceback (review).
        settings.signing_key()
    except (ValueError, KeyFileUnwritable) as exc:
        fail(str(exc))
    return settings


def settings_and_profile() -> tuple[Settings, Profile]:
    """The settings and the scoring profile they name, for every command that scores:
    a profile that cannot be loaded (a misspelt HAILONG_SCORING_PROFILE) is one line and
    exit 2 before anything is read or written, not a traceback from inside the command's
    transaction (or, for `serve`, from each worker process)."""
    from service.profile import ProfileError, profile_of

    settings = get_settings()
    try:
        return settings, profile_of(settings)
    except ProfileError as exc:
        fail(str(exc))


def parse_expiry(expires: str | None) -> datetime | None:
    from service.admin.keys import expiry_from_date
    from service.timebounds import OutOfRange

    if expires is None:
        return None
    try:
        return expiry_from_date(date.fromisoformat(expires))
    except OutOfRange as exc:  # 9999-12-31 was an OverflowError traceback
        fail(str(exc))
    except ValueError:
        fail(f"'{expires}' is not a date; use YYYY-MM-DD")


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"


def print_table(table: list[tuple[str, ...]]) -> None:
    """Rows (the header first) in aligned columns."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
