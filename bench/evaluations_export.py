"""Benchmark the raw evaluation export (GET /api/v1/evaluations.csv) on PostgreSQL against
PostgreSQL's own COPY of the same rows, and measure the serving worker's memory.

For each --rows size: a fresh database, migrated with `hailong db upgrade`; a province and
its 20 wards; then N dossiers, invitations and evaluations seeded with set-based SQL
(INSERT ... SELECT generate_series, not through the API). It serves hailong with one worker
(`hailong serve --workers 1`: the serving process is the one measured), streams the whole
CSV export through it and counts rows and bytes, while reading the worker's VmHWM (peak
resident memory) from /proc before and after. The floor is `COPY (the export's own SELECT)
TO STDOUT (FORMAT csv)` through psycopg: the rows with no Python, no HTTP and no formatting.
It prints a table. It is a report, not a test: it exits 0 whatever the numbers are.

    .venv/bin/python bench/evaluations_export.py [--rows 1000000] [--rows 200000 ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness and service

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from service.evaluations.query import Selection, evaluations_statement  # noqa: E402
from service.profile import load_profile  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.harness.processes import (  # noqa: E402
    DatabaseUnavailable,
    HailongServer,
    fresh_database,
    hailong_env,
    run_hailong,
)

SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
WARDS = 20
# The target (issue 21): constant memory, the worker's peak RSS growing < 100 MB for a
# million rows and not growing with the number of rows.
TARGET_GROWTH_MB = 100.0

SEED = [
    # staff and counters: 5 staff and 2 counters per ward
    """INSERT INTO staff (agency_id, code, created_at)
       SELECT a.id, 'CB' || lpad(s::text, 3, '0'), now()
       FROM agency a CROSS JOIN generate_series(1, 5) s WHERE a.parent_id IS NOT NULL""",
    """INSERT INTO counter (agency_id, code, created_at)
       SELECT a.id, 'Q' || lpad(s::text, 2, '0'), now()
       FROM agency a CROSS JOIN generate_series(1, 2) s WHERE a.parent_id IS NOT NULL""",
    # dossiers spread over the wards and over 2025, a tenth of them late
    """CREATE TEMP TABLE ward AS
       SELECT row_number() OVER (ORDER BY a.id) - 1 AS n, a.id,
           (SELECT min(id) FROM staff WHERE agency_id = a.id) AS staff_id,
           (SELECT min(id) FROM counter WHERE agency_id = a.id) AS counter_id
       FROM agency a WHERE a.parent_id IS NOT NULL""",
    """INSERT INTO dossier (code, agency_id, procedure_code, procedure_name, received_at,
           due_at, resolved_at, handed_over_at, supplement_requests, channel,
           receiving_staff_id, handling_staff_id, returning_staff_id, counter_id,
           resolved_day, is_late, overdue_working_days, has_unsatisfied_evaluation,
           has_petition, created_at, updated_at)
       SELECT 'HS-' || g, w.id, '1.00' || (g % 900 + 100), 'Thủ tục số ' || (g % 900),
           t - interval '5 days', t + CASE WHEN g % 10 = 0 THEN interval '-1 day'
                                         ELSE interval '1 day' END,
           t, t + interval '4 hours', g % 3, 'counter',
           w.staff_id, w.staff_id + 1, w.staff_id + 2 + g % 3, w.counter_id,
           (t AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, g % 10 = 0, CASE WHEN g % 10 = 0
           THEN 1 ELSE 0 END, g % 7 = 0, false, now(), now()
       FROM generate_series(1, :rows) g
       CROSS JOIN LATERAL (SELECT timestamptz '2025-01-01 01:00+00'
                           + (g % 360) * interval '1 day' + (g % 600) * interval '1 minute') m(t)
       JOIN ward w ON w.n = g % :wards""",
    """INSERT INTO invitation (public_id, dossier_id, token_seed, token_hash, short_code,
           language, status, issued_at, expires_at, answered_at)
       SELECT md5('p' || d.id), d.id, md5('s' || d.id), md5('h' || d.id),
           upper(lpad(to_hex(d.id), 8, '0')), 'vi', 'answered', d.handed_over_at,
           d.handed_over_at + interval '30 days', d.handed_over_at + interval '1 hour'
       FROM dossier d""",
    """INSERT INTO response (invitation_id, agency_id, source, timeliness,
           supplement_requests, staff_attitude, overall, complaint, received_at, received_day)
       SELECT i.id, d.agency_id, (ARRAY['phone', 'kiosk', 'api'])[d.id % 3 + 1],
           'on_time', 'none', CASE WHEN d.id % 7 = 0 THEN 'poor' ELSE 'good' END,
           CASE WHEN d.id % 7 = 0 THEN 'unsatisfied' ELSE 'satisfied' END,
           CASE WHEN d.id % 7 = 0 THEN 'Góp ý riêng của công dân' END,
           i.answered_at, (i.answered_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
       FROM invitation i JOIN dossier d ON d.id = i.dossier_id""",
    "ANALYZE",
]


@dataclass(frozen=True)
class Run:
    what: str  # "hailong" or "floor (COPY)"
    rows: int
    seconds: float
    megabytes: float
    rss_before_mb: float | None = None
    rss_peak_mb: float | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def growth_mb(self) -> float | None:
        if self.rss_before_mb is None or self.rss_peak_mb is None:
            return None
        return self.rss_peak_mb - self.rss_before_mb


def vm_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def seed(url: str, env: dict[str, str], workdir: Path, rows: int) -> tuple[str, float]:
    """Migrate, add the agencies, seed `rows` evaluations; a reader key and the seconds."""
    run_hailong(env, workdir, "db", "upgrade")
    agencies = workdir / "agencies.csv"
    lines = ["code,name,parent_code", "79,Thành phố Hồ Chí Minh,"]
    lines += [f"79.W{n:02d},Phường số {n},79" for n in range(1, WARDS + 1)]
    agencies.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_hailong(env, workdir, "agencies", "import", str(agencies))
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in SEED:
                connection.execute(text(statement), {"rows": rows, "wards": WARDS})
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    key = run_hailong(env, workdir, "keys", "create", "--role", "reader")
    return key.strip().splitlines()[-1], seconds


def export_select() -> str:
    """The export's own statement (every evaluation, no filter), with its values inlined."""
    profile = load_profile(Settings().scoring_profile)
    statement = evaluations_statement(Selection(), profile).order_by(text("1"))
    compiled = statement.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    return str(compiled)


def floor(url: str) -> Run:
    """COPY of the same rows to the client, counted and dropped."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    rows = size = 0
    started = time.perf_counter()
    statement = f"COPY ({export_select()}) TO STDOUT (FORMAT csv)"
    with (
        psycopg.connect(conninfo) as connection,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for block in copy:
            size += len(block)
            rows += bytes(block).count(b"\n")
    seconds = time.perf_counter() - started
    return Run("floor (COPY)", rows, seconds, size / 1e6)


def through_hailong(server: HailongServer, key: str) -> Run:
    (pid,) = server.worker_pids()
    headers = {"Authorization": f"Bearer {key}"}
    # One small page first, so that what a first request imports is in the baseline.
    request = urllib.request.Request(f"{server.url}/api/v1/evaluations?limit=500", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    before = vm_kb(pid, "VmHWM")
    rows = size = 0
    started = time.perf_counter()
    request = urllib.request.Request(f"{server.url}/api/v1/evaluations.csv", headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        while block := response.read(256 * 1024):
            size += len(block)
            rows += block.count(b"\n")
    seconds = time.perf_counter() - started
    peak = vm_kb(pid, "VmHWM")
    # Minus the header line (the floor's COPY has none).
    return Run("hailong", rows - 1, seconds, size / 1e6, before / 1024, peak / 1024)


def bench_size(rows: int, workdir: Path) -> tuple[float, list[Run]]:
    name = f"hailong_bench_export_{os.getpid()}"
    try:
        with fresh_database(name) as url:
            env = hailong_env(url, secret_key=SECRET_KEY)
            key, seed_seconds = seed(url, env, workdir, rows)
            print(f"  seeded {rows:,} evaluations in {seed_seconds:.1f} s", flush=True)
            floor_run = floor(url)
            log = workdir / f"serve-{rows}.log"
            with HailongServer(url, log, secret_key=SECRET_KEY, workers=1) as server:
                ours = through_hailong(server, key)
            return seed_seconds, [ours, floor_run]
    except DatabaseUnavailable as exc:
        raise SystemExit(f"{exc}\nThis benchmark needs PostgreSQL.") from None


def table(results: list[tuple[int, list[Run]]]) -> list[str]:
    lines = [
        "| rows | target | time s | rows/s | MB sent | ours ÷ floor | RSS before MB "
        "| RSS peak MB | peak growth MB |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, (ours, base) in results:
        for run in (ours, base):
            ratio = f"{run.rows_per_s / base.rows_per_s:.2f}" if run is ours else ""
            rss = [
                f"{v:.0f}" if v is not None else ""
                for v in (run.rss_before_mb, run.rss_peak_mb, run.growth_mb)
            ]
            lines.append(
                f"| {size:,} | {run.what} | {run.seconds:.1f} | {run.rows_per_s:,.0f} | "
                f"{run.megabytes:.0f} | {ratio} | {' | '.join(rss)} |"
            )
    return lines


def checks(results: list[tuple[int, list[Run]]]) -> list[str]:
    out = []
    for size, (ours, base) in results:
        same = ours.rows == base.rows == size
        out.append(
            f"{'PASS' if same else 'FAIL'} {size:,} rows: every row exported once "
            f"(hailong {ours.rows:,}, COPY {base.rows:,})"
        )
        growth = ours.growth_mb or 0.0
        out.append(
            f"{'PASS' if growth < TARGET_GROWTH_MB else 'FAIL'} {size:,} rows: peak RSS "
            f"growth {growth:.0f} MB < {TARGET_GROWTH_MB:.0f} MB"
        )
    if len(results) > 1:
        growths = [ours.growth_mb or 0.0 for _, (ours, _) in results]
        flat = max(growths) - min(growths) < 25
        out.append(
            f"{'PASS' if flat else 'FAIL'} peak RSS growth does not follow the rows: "
            f"{', '.join(f'{g:.0f}' for g in growths)} MB (within 25 MB of each other)"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="evaluations to seed and export (repeatable; default 1,000,000)",
    )
    args = parser.parse_args(argv)
    sizes = args.rows or [1_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="hailong-bench-export-") as tmp:
        for size in sizes:
            print(f"{size:,} evaluations:", flush=True)
            _, runs = bench_size(size, Path(tmp))
            results.append((size, runs))
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(checks(results)))


if __name__ == "__main__":
    main()
