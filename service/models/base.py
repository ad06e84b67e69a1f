"""Column types shared by every table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Stable constraint names, so that migrations are the same on SQLite and PostgreSQL and
# batch operations on SQLite can find constraints by name.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Who did something, as the audit log and the `*_by` columns name them ("key:3:portal",
# "official:7:an@hcm.gov.vn"; a period's inputs "official:7:Trần Văn An", Principal.signature):
# built from names people chose, so clipped to this width
# (auth/principal.py, audit.py) rather than refused where they act.
ACTOR_MAX = 255


def check_known(column: str, values: Iterable[str]) -> CheckConstraint:
    """The CHECK `<column>_known`: `column` holds one of `values` (a table's own copy: a
    constraint belongs to one table)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware.

    SQLite has no time zone type, so without this a value read back would be naive and
    compare wrongly with the aware values the API accepts.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database layer")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Row ids are INTEGER (32-bit) on PostgreSQL: a path or query id above this cannot exist,
# and sending it to the database would be an error there rather than "not found".
MAX_ROW_ID = 2**31 - 1
