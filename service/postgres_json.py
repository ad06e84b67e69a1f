"""Many rows in one PostgreSQL statement, sent as one JSON parameter.

Why: an executemany sends every row as a statement of its own. On the hot paths (handover
batches, counter upserts) psycopg's Python work and the server's executor per row cost
more than the rows themselves. `INSERT ... SELECT ... FROM json_to_recordset($1)` is one
statement whatever the number of rows; its text never changes, so psycopg and the server
prepare it once; and orjson builds the parameter, datetimes included, in about 2 µs a row.

Rows are inserted in the order given: callers that lock rows (counters) sort them, so that
concurrent transactions take their locks in one order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Column, String, Table
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from service import db

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def pg_type(column: Column[Any]) -> str:
    """The column's type as json_to_recordset should read it."""
    # Text, not varchar(n): the INSERT into the varchar(n) column then refuses a longer
    # value, with the same error as the other paths. (SQLModel's AutoString wraps String.)
    if isinstance(getattr(column.type, "impl", column.type), String):
        return "text"
    return str(column.type.compile(dialect=_DIALECT))


def recordset(columns: Iterable[tuple[str, str]]) -> str:
    """`json_to_recordset(%s::json) AS r(name type, ...)`: the rows of one parameter."""
    fields = ", ".join(f"{name} {type_}" for name, type_ in columns)
    return f"json_to_recordset(%s::json) AS r({fields})"


def insert_statement(table: Table, columns: Sequence[str], tail: str = "", where: str = "") -> str:
    """INSERT of the given columns from one JSON parameter; `tail` e.g. an ON CONFLICT,
    `where` a condition on the rows (a statement inside WITH uses it to wait for another)."""
    typed = [(name, pg_type(table.c[name])) for name in columns]
    names = ", ".join(columns)
    condition = f" WHERE {where}" if where else ""
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {recordset(typed)}"
        f"{condition} {tail}"
    )


def dumps(rows: Sequence[Mapping[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


def insert(
    session: Session, statement: str, rows: Sequence[Mapping[str, Any]], at_commit: bool
) -> None:
    """Run an `insert_statement` for `rows`, now or with the COMMIT (db.at_commit)."""
    params = (dumps(rows),)
    if at_commit:
        db.at_commit(session, statement, params)
    else:
        session.flush()  # as session.execute would: the rows may name objects just added
        session.connection().exec_driver_sql(statement, params)
