"""Running Alembic from code: the CLI, the app's readiness check and the tests use this."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from service.settings import ROOT


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, read as a plain query (Alembic's MigrationContext
    logs at INFO, which an earlier in-process `db upgrade` sends to a closed stream).
    Raises SQLAlchemyError where there is no alembic_version table: never upgraded."""
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
