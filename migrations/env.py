"""Alembic environment wired to the service's metadata and settings."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import service.models  # noqa: F401  (registers every table on the metadata)
from service.db import make_engine
from service.models.base import UTCDateTime
from service.settings import Settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("quiet_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = config.attributes.get("database_url")
    return str(url) if url else Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations should not import application types: render ours as what they store.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and type(obj).__module__.startswith("sqlmodel"):
        return f"sa.String(length={obj.length})" if getattr(obj, "length", None) else "sa.String()"
    return False


# "hal-migr": the PostgreSQL advisory lock one `db upgrade` holds while it migrates.
UPGRADE_LOCK = 0x68616C2D6D696772


@contextmanager
def one_upgrade_at_a_time(connection: sa.Connection) -> Iterator[None]:
    """Two `hailong db upgrade` at once (replicas of the image starting together, each
    running it first) both found no schema and both created it: one exited 1 on a
    duplicate table (ops audit). The second now waits, then finds the schema at head.
    PostgreSQL: an advisory lock of the session. SQLite: a lock file beside the database
    (its own locks cannot be held across Alembic's transactions)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({UPGRADE_LOCK})")
        connection.commit()
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({UPGRADE_LOCK})")
            connection.commit()
        return
    path = connection.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    with open(f"{path}-upgrade.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_migrations() -> None:
    url = database_url()
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as connection, one_upgrade_at_a_time(connection):
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, DROP, rename): with foreign keys on,
            # dropping one that other rows reference fails (an alert with its e-mails).
            # SQLite's own way to alter a table: keys off, outside any transaction, checked
            # once the migrations are done (https://www.sqlite.org/lang_altertable.html).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=sqlite,
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migrations left rows without their parent: {broken}")
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    engine.dispose()


run_migrations()
_ = sa  # referenced by rendered revisions' imports
