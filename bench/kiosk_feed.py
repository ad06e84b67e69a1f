"""The kiosk feed's poll: what one server pays four times a second while any tablet is
connected (service/kiosk/feed.py).

    .venv/bin/python bench/kiosk_feed.py            # both databases; --db sqlite|postgresql

Per database: a fresh migrated database, `--handovers` surveys handed over at `--counters`
counters through the API (the real path), then the feed's own read, `--polls` times, with
tablets listening at `--listening` of the counters, against a floor: the bare id range
query (`SELECT id FROM invitation WHERE id > :x`) over the same window, the least a poll
that re-reads the window could cost. It prints a table (ms per poll, p50 and p99, and the
ratio to the floor) and writes it to bench/results/kiosk_feed.md. A report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness and service

from tests.harness.processes import DatabaseUnavailable, migrated_database  # noqa: E402

PG_DATABASE = f"hailong_bench_feed_{os.getpid()}"


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database of that kind; dropped afterwards."""
    try:
        with migrated_database(kind, PG_DATABASE) as url:
            yield url
    except DatabaseUnavailable as exc:
        raise SystemExit(f"{exc}\nStart PostgreSQL, or run with --db sqlite") from None


def seed(url: str, handovers: int, counters: int) -> None:
    """Handovers through the API, as a one-stop system would post them."""
    from fastapi.testclient import TestClient

    from service.admin.agencies import upsert_agency
    from service.admin.keys import create_key
    from service.app import create_app
    from service.db import make_engine, transaction
    from service.settings import Settings

    settings = Settings(
        database_url=url,
        base_url="http://bench",
        secret_key="bench-secret-key-of-at-least-32-characters",
        log_requests=False,
        embedded_worker=False,
    )
    engine = make_engine(settings)
    with transaction(engine) as session:
        upsert_agency(session, "79", "Thành phố Hồ Chí Minh", None, actor="bench")
        upsert_agency(session, "79.BTH", "Phường Bến Thành", "79", actor="bench")
        _, key = create_key(session, role="issuer", name="bench", agency_code=None, actor="bench")
    engine.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        for n in range(handovers):
            body = {
                "dossier_code": f"FEED-{n:06d}",
                "agency_code": "79.BTH",
                "procedure_name": "Đăng ký khai sinh",
                "resolved_at": "2025-09-15T10:00:00+07:00",
                "counter_code": f"Q{n % counters:02d}",
                "staff": {"returning": "CB003"},
            }
            answer = client.post("/api/v1/handovers", json=body, headers=headers)
            assert answer.status_code == 201, answer.text


def timed(polls: int, once: Callable[[], object]) -> list[float]:
    once()  # warm
    samples = []
    for _ in range(polls):
        started = time.perf_counter()
        once()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure(url: str, polls: int, listening: int) -> dict[str, list[float]]:
    from service.kiosk.feed import LOOKBACK, PresentationFeed
    from service.models import Counter

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    feed = PresentationFeed(engine, window_minutes=24 * 60)  # every seeded card is news
    with engine.connect() as connection:
        ids = connection.execute(sa.select(Counter.id).order_by(Counter.id)).scalars().all()  # type: ignore[arg-type]
    listened = frozenset(ids[:listening])  # the counters with a tablet connected
    for counter_id in listened:
        feed._queues[counter_id] = {asyncio.Queue()}
    feed._read(listened)  # the starting point: the newest invitation, the window before it
    low = max(0, (feed._cursor or 0) - LOOKBACK)
    floor = sa.text("SELECT id FROM invitation WHERE id > :low ORDER BY id LIMIT 5000")

    def bare() -> object:
        with engine.connect() as connection:
            return connection.execute(floor, {"low": low}).all()

    # A poll with nothing new: what the feed does most of the time.
    result = {"feed": timed(polls, lambda: feed._read(listened)), "floor": timed(polls, bare)}
    engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--handovers", type=int, default=1200)
    parser.add_argument("--counters", type=int, default=20)
    parser.add_argument("--listening", type=int, default=5)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args(argv)
    lines = [
        "| db | what | ms per poll p50 | p99 | × floor (p50) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for kind in args.db or ["sqlite", "postgresql"]:
        with database(kind) as url:
            print(f"{kind}: {args.handovers} handovers at {args.counters} counters", flush=True)
            seed(url, args.handovers, args.counters)
            found = measure(url, args.polls, args.listening)
        floor = percentile(found["floor"], 0.5)
        for what, samples in found.items():
            p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
            lines.append(f"| {kind} | {what} | {p50:.2f} | {p99:.2f} | {p50 / floor:.1f} |")
    table = "\n".join(lines)
    heading = (
        f"{args.handovers} handovers, {args.counters} counters, tablets at {args.listening}, "
        f"{args.polls} polls\n\n"
    )
    print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "kiosk_feed.md").write_text(heading + table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
