"""The order in which rows were committed, for a list that a reader follows page by page.

On PostgreSQL two answers commit in any order: the one given first (the lower id) may
commit after one given later. A reader that had paged up to the later one's id went on
from there and never saw the first (audit). Each such row records the transaction that
wrote it, filled by the database itself (`WritingTransaction`); a page is read in
(transaction, id) order and holds back every row of a transaction that one still open may
precede (`SETTLED_BELOW`): once that one ends, the rows come in order, none skipped and
none read twice. The pattern is PostgreSQL's own snapshot arithmetic (pg_current_xact_id,
pg_snapshot_xmin), not a lock: writers never wait for readers.

On SQLite one writer holds the database from its first write to its commit, so ids are
drawn in commit order: the transaction is 0 and every row settled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Connection, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# `Column.info` of a column the database fills on INSERT: rows written by hand (a Core
# INSERT, a COPY) leave it out, and db.check_row does not ask for it.
FILLED_BY_DATABASE = {"filled_by_database": True}


def written_columns(table: Any) -> list[Any]:
    """The table's columns an INSERT names: all but those the database fills."""
    return [c for c in table.columns if not c.info.get("filled_by_database")]


class WritingTransaction(FunctionElement[int]):
    """SQL: the id of the transaction running the statement (a column's default)."""

    type = BigInteger()
    inherit_cache = True


class SettledBelow(FunctionElement[int]):
    """SQL: every transaction with a lower id has ended (committed or rolled back)."""

    type = BigInteger()
    inherit_cache = True


class NextTransaction(FunctionElement[int]):
    """SQL: the id the next transaction to begin will get (above every one so far)."""

    type = BigInteger()
    inherit_cache = True


SETTLED_BELOW = SettledBelow()
NEXT_TRANSACTION = NextTransaction()


def put_first_rows_from_another_server(connection: Connection, table: Any) -> int:
    """Rows whose transaction is ahead of this server's counter came from another server
    (pg_dump and restore, logical replication): held back until the counter caught up,
    billions of ids on a busy old cluster, and every new answer sorted before them, so a
    portal past them skipped it (review). They go first, with the rows stored before the
    column existed (0, in id order): a portal may read some again, it misses none. Run at
    each start; one index range when there are none. The rows it moved."""
    column = table.c.write_xact
    moved = connection.execute(update(table).where(column >= NEXT_TRANSACTION).values(write_xact=0))
    return int(moved.rowcount)


@compiles(WritingTransaction, "postgresql")
def _pg_writing(element: WritingTransaction, compiler: SQLCompiler, **kw: Any) -> str:
    return "(pg_current_xact_id()::text::bigint)"


@compiles(WritingTransaction)
def _one_writer(element: WritingTransaction, compiler: SQLCompiler, **kw: Any) -> str:
    return "0"


# The oldest transaction open when the statement's snapshot was taken (the snapshot the
# rows are read with), leaving out those a backend of another database runs: transaction
# ids are the cluster's, and a long transaction of another application (or of the test
# suite's other worker) must not hold this service's pages back. An id is left out only
# when pg_stat_activity names it for another database (a backend's transaction id is
# compared on its low 32 bits, as pg_stat_activity shows it): one that ended meanwhile, or
# that the role may not see, stays in, which only holds a page back. None open: every row
# the snapshot sees is settled (its xmax is the next id to be given).
# A hot standby lists the primary's open transactions apart from its snapshot's (they are
# all "subtransactions" there): its horizon is then the snapshot's oldest open one, others'
# databases included (review).
_PG_SETTLED_BELOW = """(CASE WHEN pg_is_in_recovery()
    THEN pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ELSE (SELECT coalesce(min(open_xact::text::bigint),
            pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
        FROM pg_snapshot_xip(pg_current_snapshot()) AS open_xact
        WHERE mod(open_xact::text::bigint, 4294967296) NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))
    END)"""


@compiles(NextTransaction, "postgresql")
def _pg_next(element: NextTransaction, compiler: SQLCompiler, **kw: Any) -> str:
    return "(pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"


@compiles(NextTransaction)
def _one_writer_next(element: NextTransaction, compiler: SQLCompiler, **kw: Any) -> str:
    return "9223372036854775807"


@compiles(SettledBelow, "postgresql")
def _pg_settled(element: SettledBelow, compiler: SQLCompiler, **kw: Any) -> str:
    return _PG_SETTLED_BELOW


@compiles(SettledBelow)
def _all_settled(element: SettledBelow, compiler: SQLCompiler, **kw: Any) -> str:
    return "9223372036854775807"
