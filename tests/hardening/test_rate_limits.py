"""The wrong-token throttle (service/throttle.py) holds across server processes.

On PostgreSQL: two `hailong serve --workers 2` on two ports against one database, so four
processes with nothing in common but the database. On SQLite: the one embedded process,
with concurrent requests. Wrong survey tokens and short codes, on every route that looks
one up (the JSON API and the citizen's page, GET and POST), are sprayed at all of them:
exactly `guess_limit` wrong attempts are answered 404, every other one 429 with a
Retry-After that points at the end of the window.
"""

from __future__ import annotations

import itertools
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, Backend
from tests.harness.processes import HailongServer

LIMIT = 12  # HAILONG_GUESS_LIMIT
WINDOW = 86_400  # HAILONG_GUESS_WINDOW_SECONDS: windows start at 00:00 UTC
ATTEMPTS = 100
CLIENT_THREADS = 8
ROUTES = ["api token", "api short code", "page GET", "page POST"]


@dataclass(frozen=True)
class Attempt:
    server: int
    route: str
    status: int
    retry_after: str | None


def wrong_attempt(client: httpx.Client, server: int, route: str) -> Attempt:
    token = secrets.token_urlsafe(32)  # a well-formed token that was never issued
    answers = {"timeliness": "on_time", "staff_attitude": "good", "overall": "satisfied"}
    if route == "api token":
        answer = client.post("/api/v1/responses", json={"token": token, "answers": answers})
    elif route == "api short code":
        code = "".join(secrets.choice("ACDEFGHJKMNPQRTUVWXY3479") for _ in range(8))
        answer = client.post("/api/v1/responses", json={"short_code": code, "answers": answers})
    elif route == "page GET":
        answer = client.get(f"/s/{token}")
    else:
        answer = client.post(f"/s/{token}", data=answers)
    return Attempt(server, route, answer.status_code, answer.headers.get("retry-after"))


def outside_a_window_change() -> None:
    """The count starts again with each window: keep the test inside one (a wait only when
    it runs in the two minutes before 00:00 UTC)."""
    left = WINDOW - time.time() % WINDOW
    if left < 120:
        time.sleep(left + 1)


pytestmark = pytest.mark.servers


def servers_for(backend: Backend, database_url: str, log_dir: Path) -> list[HailongServer]:
    settings = {"guess_limit": str(LIMIT), "guess_window_seconds": str(WINDOW)}
    workers, count = (2, 2) if backend.name == "postgresql" else (1, 1)
    return [
        HailongServer(
            database_url,
            log_dir / f"server-{n}.log",
            secret_key=TEST_SECRET,
            workers=workers,
            settings=settings,
        )
        for n in range(1, count + 1)
    ]


def test_wrong_tokens_are_limited_across_processes(
    backend: Backend, database_url: str, tmp_path: Path
) -> None:
    servers = servers_for(backend, database_url, tmp_path)
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        processes = sum(len(s.worker_pids()) for s in servers)
        assert processes == (4 if backend.name == "postgresql" else 1)
        outside_a_window_change()
        # Spread over the servers and routes; each call a new connection (so, on several
        # workers, a different process each time as the kernel hands them out).
        plan = list(
            zip(
                itertools.islice(itertools.cycle(range(len(servers))), ATTEMPTS),
                itertools.islice(itertools.cycle(ROUTES), ATTEMPTS),
                strict=True,
            )
        )

        def run(step: tuple[int, str]) -> Attempt:
            server, route = step
            with httpx.Client(base_url=servers[server].url, timeout=30) as client:
                return wrong_attempt(client, server, route)

        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            attempts = list(pool.map(run, plan))

        statuses = sorted({a.status for a in attempts})
        assert set(statuses) <= {404, 429}, statuses
        accepted = [a for a in attempts if a.status == 404]
        limited = [a for a in attempts if a.status == 429]
        assert len(accepted) == LIMIT, (
            f"{len(accepted)} wrong attempts answered 404 across {processes} processes; "
            f"the limit is {LIMIT}"
        )
        assert len(limited) == ATTEMPTS - LIMIT
        left = WINDOW - time.time() % WINDOW
        for attempt in limited:
            assert attempt.retry_after is not None and attempt.retry_after.isdigit(), attempt
            assert left - 60 <= int(attempt.retry_after) <= WINDOW, (attempt, left)
        # Every server and every route was refused: the count is shared, not per process.
        assert {a.server for a in limited} == set(range(len(servers)))
        assert {a.route for a in limited} == set(ROUTES)

        # Sequentially now, one more on each server: still refused.
        for n, server in enumerate(servers):
            with httpx.Client(base_url=server.url, timeout=30) as client:
                assert wrong_attempt(client, n, "api token").status == 429
        split = [sum(a.server == n for a in accepted) for n in range(len(servers))]
        print(
            f"\n{backend.name}: {processes} processes, limit {LIMIT}: {len(accepted)} "
            f"accepted (per server: {split}), {len(limited)} refused with 429"
        )
    finally:
        for server in servers:
            server.stop()
