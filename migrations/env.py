"""Alembic environment wired to the service's metadata and settings."""

from __future__ import annotations

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


def run_migrations() -> None:
    url = database_url()
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as connection:
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
