"""New dossiers, their invitations, events, counters and score markers: ONE PostgreSQL
statement.

Why: written as an executemany per table, every row is a statement of its own — in
psycopg's pipeline (a Python generator step per row and per result) and in the server
(an executor start and end per row). That cost more than the rows: one statement per batch
took it away (bench/README.md, 2026-11-24). SQLite keeps the executemany per table: its
statements cost microseconds, and it has no INSERT inside WITH.

    WITH v AS (SELECT * FROM json_to_recordset($1) AS r(d_code text, ..., e_msg_id text, ...)),
         d AS (INSERT INTO dossier (...) SELECT d_... FROM v RETURNING id, code),
         i AS (INSERT INTO invitation (dossier_id, ...) SELECT d.id, i_... FROM v JOIN d
               ON d.agency_id = v.d_agency_id AND d.code = v.d_code)
         e AS (INSERT INTO outbox_event (...) SELECT e_... FROM v ...),
         a AS (INSERT INTO agency_day_counter ... ON CONFLICT ... DO UPDATE ...),
         s AS (INSERT INTO staff_day_counter ... ON CONFLICT ... DO UPDATE ...)
    INSERT INTO score_dirty ... ON CONFLICT DO NOTHING

One statement is a transaction by itself: the handover writer runs it on an autocommit
connection, with no BEGIN or COMMIT round trip (batching.py).

The rows travel as one JSON parameter (service/postgres_json.py). The invitation finds its
dossier's new id through the RETURNING of the same statement. Rows go in the order given
(the caller sorts them by dossier code, see batching.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table

from service import db, postgres_json
from service.models import AgencyDayCounter, Dossier, Invitation, OutboxEvent, StaffDayCounter
from service.scoring import counters
from service.scoring.contributions import Delta
from service.webhooks import outbox


@lru_cache(maxsize=1)
def _columns() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, PostgreSQL type) of what each table is given: every column but the ids (and
    the invitation's dossier_id, which comes from the dossier's RETURNING)."""

    def given(table: Table, leave_out: set[str]) -> list[tuple[str, str]]:
        return [
            (c.name, postgres_json.pg_type(c)) for c in table.columns if c.name not in leave_out
        ]

    return (
        given(Dossier.__table__, {"id"}),  # type: ignore[attr-defined]
        given(Invitation.__table__, {"id", "dossier_id"}),  # type: ignore[attr-defined]
        given(OutboxEvent.__table__, {"id"}),  # type: ignore[attr-defined]
    )


# Each counter statement waits for the one before it (its WHERE counts the other's rows):
# a batch then locks its rows in the order of every other writer (counters.apply): the
# dossiers' codes, the agency counters, the staff counters, the score markers. Without it
# PostgreSQL may run the statements of a WITH in any order.
_AFTER_ROWS = "(SELECT count(*) FROM i) + (SELECT count(*) FROM e) >= 0"
_AFTER_AGENCIES = "(SELECT count(*) FROM a) >= 0"
_AFTER_STAFF = "(SELECT count(*) FROM s) >= 0"


@lru_cache(maxsize=1)
def _statement() -> db.RawSQL:
    dossier, invitation, event = _columns()
    values = [("d_" + n, t) for n, t in dossier]
    values += [("i_" + n, t) for n, t in invitation]
    values += [("e_" + n, t) for n, t in event]
    agencies = counters.postgres_upsert(AgencyDayCounter, "agency_id", _AFTER_ROWS)
    staff = counters.postgres_upsert(StaffDayCounter, "staff_id", _AFTER_AGENCIES)
    return db.RawSQL.from_format(
        f"WITH v AS (SELECT * FROM {postgres_json.recordset(values)}),\n"
        f" d AS (INSERT INTO dossier ({', '.join(n for n, _ in dossier)})"
        f" SELECT {', '.join('d_' + n for n, _ in dossier)} FROM v"
        f" RETURNING id, agency_id, code),\n"
        f" i AS (INSERT INTO invitation (dossier_id, {', '.join(n for n, _ in invitation)})"
        f" SELECT d.id, {', '.join('v.i_' + n for n, _ in invitation)}"
        f" FROM v JOIN d ON d.agency_id = v.d_agency_id AND d.code = v.d_code RETURNING 1),\n"
        f" e AS (INSERT INTO outbox_event ({', '.join(n for n, _ in event)})"
        f" SELECT {', '.join('e_' + n for n, _ in event)} FROM v RETURNING 1),\n"
        f" a AS ({agencies} RETURNING 1),\n"
        f" s AS ({staff} RETURNING 1)\n"
        f"{outbox.postgres_dirty_statement(_AFTER_STAFF)}"
    )


def insert_all(
    dossiers: Sequence[Mapping[str, Any]],
    invitations: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    change: Delta,
    now: datetime,
) -> tuple[db.RawSQL, tuple[str, str, str, str]]:
    """The statement and its parameters: the rows, the agency and staff counter changes
    and the score markers, each as JSON. The i-th invitation and event belong to the i-th
    dossier (an invitation names it by `dossier_code`)."""
    dossier_columns, invitation_columns, event_columns = _columns()
    rows = []
    for dossier, invitation, event in zip(dossiers, invitations, events, strict=True):
        assert invitation["dossier_code"] == dossier["code"]
        assert invitation["dossier_agency_id"] == dossier["agency_id"]
        row = {"d_" + name: dossier[name] for name, _ in dossier_columns}
        row.update(("i_" + name, invitation[name]) for name, _ in invitation_columns)
        row.update(("e_" + name, event[name]) for name, _ in event_columns)
        rows.append(row)
    change = change.compact()
    markers = outbox.dirty_rows(outbox.dirty_periods(change.agency), now)
    return _statement(), (
        postgres_json.dumps(rows),
        postgres_json.dumps(counters.rows_of("agency_id", change.agency)),
        postgres_json.dumps(counters.rows_of("staff_id", change.staff)),
        postgres_json.dumps(markers),
    )
