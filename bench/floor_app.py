"""The framework-free floor: a raw ASGI app that stores one row per handover or answer.

It reads the JSON body, does ONE INSERT and answers 201 with a small JSON, with no
framework, no validation beyond the fields it stores, no auth and no ORM. Served by
uvicorn with the same workers and loaded by the same wrk script as hailong, its throughput
is the most the endpoint could reach on this machine and database, so the ratio
ours ÷ floor says what everything else (FastAPI, pydantic, SQLAlchemy, auth, tokens) costs.

`POST /api/v1/responses` (bench/answers.py) stores the answer in `floor_response`, whose
UNIQUE token column stands for hailong's one response per invitation: a second answer with
the same token is refused by the index, answered 409. Any other POST is a handover
(bench/handover.py), stored in `floor_handover`.

Configuration (environment): FLOOR_DATABASE_URL, in hailong's form
(`postgresql+psycopg://...` or `sqlite:////abs/path.db`), and FLOOR_POOL_SIZE
(PostgreSQL connections per worker process, default 8). The table must exist (see
`TABLE_DDL`, `RESPONSE_TABLE_DDL`); the benchmarks create them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import psycopg

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TABLE = "floor_handover"
# The unique code mirrors hailong's dossier.code, so the floor pays for the same index check.
TABLE_DDL = {
    "postgresql": f"""CREATE TABLE {TABLE} (
        id bigserial PRIMARY KEY,
        dossier_code varchar(64) NOT NULL UNIQUE,
        agency_code varchar(64) NOT NULL,
        procedure_code varchar(64),
        resolved_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())""",
    "sqlite": f"""CREATE TABLE {TABLE} (
        id INTEGER PRIMARY KEY,
        dossier_code VARCHAR(64) NOT NULL UNIQUE,
        agency_code VARCHAR(64) NOT NULL,
        procedure_code VARCHAR(64),
        resolved_at TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
}
INSERT_PG = (
    f"INSERT INTO {TABLE} (dossier_code, agency_code, procedure_code, resolved_at) "
    "VALUES (%s, %s, %s, %s)"
)
INSERT_SQLITE = (
    f"INSERT INTO {TABLE} (dossier_code, agency_code, procedure_code, resolved_at) "
    "VALUES (?, ?, ?, ?)"
)

RESPONSE_TABLE = "floor_response"
RESPONSE_TABLE_DDL = {
    "postgresql": f"""CREATE TABLE {RESPONSE_TABLE} (
        id bigserial PRIMARY KEY,
        invitation_token varchar(128) NOT NULL UNIQUE,
        client_submission_id varchar(64),
        source varchar(16) NOT NULL,
        timeliness varchar(32),
        supplement_requests varchar(32),
        staff_attitude varchar(32),
        overall varchar(32),
        complaint text,
        received_at timestamptz NOT NULL DEFAULT now())""",
    "sqlite": f"""CREATE TABLE {RESPONSE_TABLE} (
        id INTEGER PRIMARY KEY,
        invitation_token VARCHAR(128) NOT NULL UNIQUE,
        client_submission_id VARCHAR(64),
        source VARCHAR(16) NOT NULL,
        timeliness VARCHAR(32),
        supplement_requests VARCHAR(32),
        staff_attitude VARCHAR(32),
        overall VARCHAR(32),
        complaint TEXT,
        received_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
}
_RESPONSE_COLUMNS = (
    "invitation_token, client_submission_id, source, timeliness, supplement_requests, "
    "staff_attitude, overall, complaint"
)
INSERT_RESPONSE_PG = (
    f"INSERT INTO {RESPONSE_TABLE} ({_RESPONSE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
INSERT_RESPONSE_SQLITE = (
    f"INSERT INTO {RESPONSE_TABLE} ({_RESPONSE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[str, str, str | None, str]
# token, client_submission_id, source, the four answers, the complaint
ResponseRow = tuple[
    str, str | None, str, str | None, str | None, str | None, str | None, str | None
]


class Duplicate(Exception):
    """The unique index refused the row (a second answer to one invitation)."""


class Store(Protocol):
    async def insert(self, row: Row) -> None: ...

    async def insert_response(self, row: ResponseRow) -> None: ...

    async def close(self) -> None: ...


class PostgresStore:
    """A fixed set of autocommit connections handed out through a queue.

    psycopg_pool is not a dependency; a queue of connections is all a single INSERT needs.
    """

    def __init__(self, connections: list[psycopg.AsyncConnection[Any]]) -> None:
        self._all = connections
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        for connection in connections:
            self._idle.put_nowait(connection)

    @classmethod
    async def open(cls, conninfo: str, size: int) -> PostgresStore:
        connections = [
            await psycopg.AsyncConnection.connect(conninfo, autocommit=True) for _ in range(size)
        ]
        return cls(connections)

    async def insert(self, row: Row) -> None:
        connection = await self._idle.get()
        try:
            await connection.execute(INSERT_PG, row)
        finally:
            self._idle.put_nowait(connection)

    async def insert_response(self, row: ResponseRow) -> None:
        connection = await self._idle.get()
        try:
            await connection.execute(INSERT_RESPONSE_PG, row)
        except psycopg.errors.UniqueViolation:
            raise Duplicate from None
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()


class SqliteStore:
    """One connection per worker process, used directly on the event loop.

    An INSERT into a WAL database takes microseconds and SQLite has a single writer anyway,
    so a thread hop would only add cost. Pragmas match hailong's (service/db.py).
    """

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA busy_timeout=10000")

    async def insert(self, row: Row) -> None:
        self._connection.execute(INSERT_SQLITE, row)

    async def insert_response(self, row: ResponseRow) -> None:
        try:
            self._connection.execute(INSERT_RESPONSE_SQLITE, row)
        except sqlite3.IntegrityError:
            raise Duplicate from None

    async def close(self) -> None:
        self._connection.close()


async def open_store() -> Store:
    url = os.environ["FLOOR_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return await PostgresStore.open(conninfo, int(os.environ.get("FLOOR_POOL_SIZE", "8")))


_store: Store | None = None


async def _lifespan(receive: Receive, send: Send) -> None:
    global _store
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _store = await open_store()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _store is not None:
                await _store.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _row_from(body: bytes) -> Row | None:
    try:
        data = json.loads(body)
        return (
            str(data["dossier_code"]),
            str(data["agency_code"]),
            data.get("procedure_code"),
            str(data["resolved_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _response_row_from(body: bytes) -> ResponseRow | None:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    try:
        data = json.loads(body)
        answers = data["answers"]
        return (
            str(data["token"]),
            text(data.get("client_submission_id")),
            str(data.get("source", "api")),
            text(answers.get("timeliness")),
            text(answers.get("supplement_requests")),
            text(answers.get("staff_attitude")),
            text(answers.get("overall")),
            text(answers.get("complaint")) or None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def _answer(receive: Receive, send: Send) -> None:
    row = _response_row_from(await _read_body(receive))
    if row is None:
        await _respond(send, 422, {"error": "invalid_input"})
        return
    assert _store is not None, "lifespan startup did not run"
    try:
        await _store.insert_response(row)
    except Duplicate:
        await _respond(send, 409, {"error": "already_answered"})
        return
    await _respond(send, 201, {"status": "answered"})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] != "POST":
        await _respond(send, 405, {"error": "method_not_allowed"})
        return
    if scope["path"] == "/api/v1/responses":
        await _answer(receive, send)
        return
    row = _row_from(await _read_body(receive))
    if row is None:
        await _respond(send, 422, {"error": "invalid_input"})
        return
    assert _store is not None, "lifespan startup did not run"
    await _store.insert(row)
    await _respond(send, 201, {"dossier_code": row[0], "status": "issued"})
