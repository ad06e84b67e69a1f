"""Running Alembic from code: the CLI, the app's readiness check and the tests use this."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
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


def schema_advice(current: str | None) -> str:
    """What an operator does about a schema that is not at this code's head: upgrade it,
    unless it is newer than this code (a release rolled back), which no upgrade can mend
    (`hailong db upgrade` then failed in a traceback: ops audit)."""
    head = head_revision()
    if current is not None and not is_known(current):
        return (
            f"the schema is at revision {current}, newer than this release (its latest is "
            f"{head}): run the release that migrated it, or restore the database from before"
        )
    at = current or "nothing"
    return f"the schema is at {at}, this release needs {head}: run `hailong db upgrade`"


def is_known(revision: str) -> bool:
    """Whether this release's migrations include `revision`."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
