"""Benchmark the public score pages on a province-year of day counters, PostgreSQL and SQLite.

For each database it creates a fresh one, migrates it, and loads with one INSERT ... SELECT:
province 79 with 300 children (40 departments, 260 wards), a year (2025) of day counters for
each child on every weekday (~78,000 rows), and D/E inputs for 2025's quarters (no E yet
for Q4 and a few agencies, so some show "not enough data"). There are no dossiers, answers
or petitions at all: the pages can only be reading the counters.

Then `hailong serve --workers 1` answers sequential requests on one keep-alive connection
(after a warm-up). Every request reads the database's change marker; while it is unchanged
the 300 scored siblings and the rendered page are reused (service/scoring/siblings.py,
service/portal/memo.py), otherwise the counters are summed again in one grouped query and
only the agencies whose figures changed are computed again. One case changes every
agency's counters before each request to show the cost with nothing remembered. On
PostgreSQL the marker is the cluster's snapshot: a commit in ANY database of the cluster
(other benchmarks, test suites) makes the next request sum the counters again, so on a
shared machine the figures depend on the neighbours. The table gives p50/p99 of
- server time: the handler's own `Server-Timing: app;dur=` (read the counters, compute 300
  scores, render, gzip), the figure the target is about;
- wall time: as the client saw it (plus HTTP and the framework).

    .venv/bin/python bench/public_pages.py                 # both databases
    .venv/bin/python bench/public_pages.py --db sqlite --requests 300

It prints the table and writes it to bench/results/public_pages.md. A report, not a test:
it exits 0 whatever the numbers are. Target (issue #7): the ranking of 300 agencies under
50 ms server time.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness and service

from tests.harness.processes import (  # noqa: E402
    DatabaseUnavailable,
    HailongServer,
    cpu_seconds_by_pid,
    migrated_database,
)

# Per run: two runs at once must not drop each other's database.
PG_DATABASE = f"hailong_bench_public_{os.getpid()}"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
PROVINCE = "79"
DEPARTMENTS, WARDS = 40, 260
TARGET_MS = 50.0
COUNTER_COLUMNS = (
    "agency_id, day, resolved, a_on_time, a_late_grace, a_late_over, c_bad_dossiers, "
    "evaluations, b_answered, b_points, c_answered, c_points, petitions, "
    "petitions_in_authority, petitions_in_authority_on_time, petitions_bad"
)
# Per agency and weekday: 20-59 dossiers, 0-3 very late, 0-2 a little late, 8-27 evaluations,
# a petition one day in ten. Derived columns keep the counters consistent with each other.
DERIVED = """
INSERT INTO agency_day_counter ({columns})
SELECT agency_id, day, resolved, resolved - late - grace, grace, late, late + bad_c,
       ev, ev, ev - bad_b, ev, ev - bad_c, pet, pet, pet * (1 - late_pet), pet * late_pet
FROM base
"""
POSTGRES_SEED = (
    """
WITH base AS (
  SELECT a.id AS agency_id, d::date AS day,
         20 + floor(random() * 40)::int AS resolved, floor(random() * 4)::int AS late,
         floor(random() * 3)::int AS grace, 8 + floor(random() * 20)::int AS ev,
         floor(random() * 3)::int AS bad_b, floor(random() * 4)::int AS bad_c,
         (random() < 0.1)::int AS pet, (random() < 0.2)::int AS late_pet
  FROM agency a
  CROSS JOIN generate_series(DATE '2025-01-01', DATE '2025-12-31', INTERVAL '1 day') AS d
  WHERE a.parent_id IS NOT NULL AND extract(isodow FROM d) < 6
)"""
    + DERIVED
)
SQLITE_SEED = (
    """
WITH RECURSIVE days(d) AS (
  SELECT '2025-01-01' UNION ALL SELECT date(d, '+1 day') FROM days WHERE d < '2025-12-31'
), base AS (
  SELECT a.id AS agency_id, d AS day,
         20 + abs(random()) % 40 AS resolved, abs(random()) % 4 AS late,
         abs(random()) % 3 AS grace, 8 + abs(random()) % 20 AS ev,
         abs(random()) % 3 AS bad_b, abs(random()) % 4 AS bad_c,
         abs(random()) % 10 = 0 AS pet, abs(random()) % 5 = 0 AS late_pet
  FROM agency a CROSS JOIN days
  WHERE a.parent_id IS NOT NULL AND strftime('%w', d) NOT IN ('0', '6')
)"""
    + DERIVED
)


@dataclass(frozen=True)
class Case:
    label: str
    path: str
    revalidate: bool = False  # send the ETag back: the 304 a browser or proxy gets
    ranking: bool = False  # the target applies
    touch_all: bool = False  # before each request, change every agency's Q3 counters


# Before each request of a `touch_all` case: one more evaluation for every agency on a day of
# Q3, so that no remembered arithmetic applies (all 300 scores are computed afresh).
TOUCH = (
    "UPDATE agency_day_counter SET evaluations = evaluations + 1, b_answered = b_answered + 1, "
    "b_points = b_points + 1, c_answered = c_answered + 1, c_points = c_points + 1 "
    "WHERE day = (SELECT min(day) FROM agency_day_counter WHERE day >= '2025-08-01')"
)


CASES = [
    Case("rankings, quarter (300)", "/rankings?period=2025-Q3&parent_code=79", ranking=True),
    Case("rankings, year (300)", "/rankings?period=2025&parent_code=79", ranking=True),
    Case("rankings, month (300)", "/rankings?period=2025-08&parent_code=79", ranking=True),
    Case(
        "rankings, quarter, all 300 changed",
        "/rankings?period=2025-Q3&parent_code=79",
        ranking=True,
        touch_all=True,
    ),
    Case("rankings, English, by name", "/rankings?period=2025-Q3&sort=name&lang=en"),
    Case("rankings, 304 revalidation", "/rankings?period=2025-Q3&parent_code=79", True),
    Case("agency page + 8-quarter trend", "/agencies/79.P001?period=2025-Q3"),
    Case("badge (SVG)", "/badge/79.P001.svg?period=2025-Q3"),
    Case("widget (iframe)", "/embed/agencies/79.P001?period=2025-Q3"),
]


@dataclass
class Row:
    db: str
    case: Case
    wall: list[float]
    server: list[float]
    parts: dict[str, list[float]]  # Server-Timing's parts: db (the unit of work), render
    cpu_ms: float  # CPU per request, server process + database backends
    kilobytes: float
    status: int


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


# --- data ------------------------------------------------------------------------------------


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database of that kind; dropped afterwards."""
    try:
        with migrated_database(kind, PG_DATABASE) as url:
            yield url
    except DatabaseUnavailable as exc:
        raise SystemExit(f"{exc}\nStart PostgreSQL, or run with --db sqlite") from None


def seed(url: str, kind: str) -> tuple[int, float]:
    """Agencies, a year of counters and the period inputs. Returns (counter rows, seconds)."""
    started = time.perf_counter()
    engine = sa.create_engine(url)
    now = datetime(2025, 1, 1)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO agency (code, name, parent_id, level, path, created_at) "
                "VALUES ('79', 'Thành phố Hồ Chí Minh', NULL, 0, '/79/', :now)"
            ),
            {"now": now},
        )
        province = connection.execute(sa.text("SELECT id FROM agency WHERE code = '79'")).one()[0]
        children = [(f"79.S{i:02d}", f"Sở số {i}") for i in range(1, DEPARTMENTS + 1)]
        children += [(f"79.P{i:03d}", f"Phường số {i}") for i in range(1, WARDS + 1)]
        connection.execute(
            sa.text(
                "INSERT INTO agency (code, name, parent_id, level, path, created_at) "
                "VALUES (:code, :name, :parent, 1, :path, :now)"
            ),
            [
                {"code": c, "name": n, "parent": province, "path": f"/79/{c}/", "now": now}
                for c, n in children
            ],
        )
        connection.execute(
            sa.text((POSTGRES_SEED if kind == "postgresql" else SQLITE_SEED).format(
                columns=COUNTER_COLUMNS
            ))
        )  # fmt: skip
        ids = [r[0] for r in connection.execute(sa.text("SELECT id FROM agency WHERE level = 1"))]
        inputs = [
            {"agency": agency_id, "period": period, "d": 15 + agency_id % 4, "e": e, "now": now}
            for agency_id in ids
            for period, e in (("2025-Q1", 1), ("2025-Q2", 1), ("2025-Q3", 1), ("2025", 1))
            if agency_id % 25 or period != "2025-Q3"  # a few without E for Q3
        ]
        connection.execute(
            sa.text(
                "INSERT INTO period_input (agency_id, period, d, e, set_by, set_at) "
                "VALUES (:agency, :period, :d, :e, 'bench', :now)"
            ),
            inputs,
        )
        rows = connection.execute(sa.text("SELECT count(*) FROM agency_day_counter")).one()[0]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE" if kind == "postgresql" else "ANALYZE"))
    engine.dispose()
    return int(rows), time.perf_counter() - started


# --- serving and measuring -------------------------------------------------------------------


class CpuMeter:
    """CPU seconds used by the server process and, on PostgreSQL, by the database backends
    serving it: unlike latency, this does not grow when other work shares the cores."""

    def __init__(self, server_pid: int, url: str, kind: str) -> None:
        self.server_pid = server_pid
        self.probe = sa.create_engine(url, connect_args=app_name("bench-probe", kind))
        self.kind = kind

    def pids(self) -> list[int]:
        if self.kind != "postgresql":
            return [self.server_pid]
        with self.probe.connect() as connection:
            backends = connection.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name NOT LIKE 'bench-%' AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return [self.server_pid, *backends]

    def seconds(self) -> dict[int, float]:
        return cpu_seconds_by_pid(self.pids())

    def close(self) -> None:
        self.probe.dispose()


def app_name(name: str, kind: str) -> dict[str, str]:
    return {"application_name": name} if kind == "postgresql" else {}


SERVER_TIMING = re.compile(r"(\w+);dur=([\d.]+)")


def measure(
    client: httpx.Client,
    writer: sa.Engine,
    cpu: CpuMeter,
    db: str,
    case: Case,
    requests: int,
    warmup: int,
) -> Row:
    first = client.get(case.path)
    headers = {"If-None-Match": first.headers["etag"]} if case.revalidate else {}
    wall: list[float] = []
    server: list[float] = []
    parts: dict[str, list[float]] = {"db": [], "render": []}
    status, size = first.status_code, 0
    before: dict[int, float] = {}
    for index in range(warmup + requests):
        if index == warmup:
            before = cpu.seconds()
        if case.touch_all:
            with writer.begin() as connection:
                connection.execute(sa.text(TOUCH))
        started = time.perf_counter()
        response = client.get(case.path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        status, size = response.status_code, response.num_bytes_downloaded
        if index < warmup:
            continue
        wall.append(elapsed)
        timings = dict(SERVER_TIMING.findall(response.headers.get("server-timing", "")))
        if "app" in timings:
            server.append(float(timings["app"]))
        for name, samples in parts.items():
            if name in timings:
                samples.append(float(timings[name]))
    after = cpu.seconds()
    used = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return Row(db, case, wall, server, parts, used * 1000 / requests, size / 1024, status)


def run(kind: str, requests: int, warmup: int) -> list[Row]:
    print(f"{kind}: creating and loading the database ...", flush=True)
    with database(kind) as url:
        rows, seconds = seed(url, kind)
        print(f"{kind}: {rows:,} counter rows for 300 agencies in {seconds:.1f} s", flush=True)
        RESULTS_DIR.mkdir(exist_ok=True)
        log_path = RESULTS_DIR / f"server-public-pages-{kind}.log"
        log_path.unlink(missing_ok=True)  # the harness appends: this run's log only
        server = HailongServer(
            url, log_path, secret_key=SECRET_KEY, settings={"embedded_worker": "false"}
        )
        writer = sa.create_engine(url, connect_args=app_name("bench-writer", kind))
        try:
            with server, httpx.Client(base_url=server.url, timeout=30) as client:
                cpu = CpuMeter(server.pid, url, kind)
                results = []
                for case in CASES:
                    results.append(measure(client, writer, cpu, kind, case, requests, warmup))
                    print(f"  {case.label}: done", flush=True)
                cpu.close()
                return results
        finally:
            writer.dispose()


def table(rows: list[Row], requests: int, warmup: int) -> str:
    lines = [
        f"# Public pages benchmark, {datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"300 agencies under province 79, a year of day counters each (weekdays of 2025), "
        f"no dossiers. `hailong serve --workers 1`; {requests} sequential requests on one "
        f"keep-alive connection after {warmup} warm-up requests, gzip accepted. Server time "
        f"is the handler's `Server-Timing`; wall time is the client's. Load average before: "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores.",
        "",
        "| db | request | status | server p50 ms | server p99 ms | of which db / render p50 "
        "| CPU ms/req | wall p50 ms | wall p99 ms | KB sent | target | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        p50, p99 = percentile(row.server, 0.5), percentile(row.server, 0.99)
        target, result = "", ""
        if row.case.ranking:
            target = f"server < {TARGET_MS:g} ms"
            result = (
                "PASS" if p99 < TARGET_MS else ("p50 PASS, p99 FAIL" if p50 < TARGET_MS else "FAIL")
            )
        server50 = f"{p50:.1f}" if row.server else "—"
        server99 = f"{p99:.1f}" if row.server else "—"
        split = " / ".join(
            f"{percentile(samples, 0.5):.1f}" if samples else "—" for samples in row.parts.values()
        )
        lines.append(
            f"| {row.db} | {row.case.label} | {row.status} | {server50} | {server99} | {split} "
            f"| {row.cpu_ms:.1f} "
            f"| {percentile(row.wall, 0.5):.1f} | {percentile(row.wall, 0.99):.1f} "
            f"| {row.kilobytes:.1f} | {target} | {result} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", choices=["postgresql", "sqlite"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for kind in args.db or ["postgresql", "sqlite"]:
        rows += run(kind, args.requests, args.warmup)
    report = table(rows, args.requests, args.warmup)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "public_pages.md").write_text(report, encoding="utf-8")
    print()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
