"""Bulk import of the past: `hailong import` of N dossiers with their evaluations into a
fresh PostgreSQL database, against the floor of PostgreSQL's own COPY of the same CSV into
a plain table (bench/README.md, "Bulk import").

    .venv/bin/python bench/bulk_import.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.processes import (  # noqa: E402
    create_database,
    drop_database,
    hailong_command,
    hailong_env,
    run_hailong,
)

SECRET = "bench-signing-key-not-for-production-0123456789"
WARDS = [f"79.W{i:02d}" for i in range(20)]
HEADER = [
    "dossier_code", "agency_code", "procedure_code", "received_at", "due_at", "resolved_at",
    "handed_over_at", "supplement_requests", "channel", "staff.receiving", "staff.handling",
    "counter_code", "submitted_at", "answers.timeliness", "answers.supplement_requests",
    "answers.staff_attitude", "answers.overall",
]  # fmt: skip
VN = timezone(timedelta(hours=7))


def generate(path: Path, rows: int) -> None:
    """Dossiers of 2025 across 20 wards, each with its evaluation, some late."""
    rng = random.Random(7)
    start = datetime(2025, 1, 2, 8, 0, tzinfo=VN)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for n in range(rows):
            ward = WARDS[n % len(WARDS)]
            received = start + timedelta(minutes=(n * 7) % (360 * 24 * 60))
            due = received + timedelta(days=5)
            resolved = due + timedelta(days=rng.choice((-3, -1, -1, 0, 2)))
            answered = resolved + timedelta(days=1)
            out.writerow(
                [
                    f"{ward}-{n:08d}", ward, "1.001612", received.isoformat(),
                    due.isoformat(), resolved.isoformat(), resolved.isoformat(),
                    rng.choice((0, 0, 0, 1)), "counter", f"CB{n % 40:03d}",
                    f"CB{(n + 1) % 40:03d}", f"Q{n % 5}", answered.isoformat(),
                    rng.choice(("on_time", "late")), rng.choice(("none", "once", "twice_or_more")),
                    rng.choice(("good", "good", "poor")),
                    rng.choice(("satisfied", "satisfied", "unsatisfied")),
                ]
            )  # fmt: skip


def timed_child(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and stderr's tail of one child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        err.seek(0)
        tail = err.read()[-1500:]
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{tail}")
    return seconds, usage.ru_maxrss // 1024, tail


def copy_floor(url: str, path: Path) -> float:
    """PostgreSQL COPY of the same file into a plain table of text columns."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    columns = ", ".join(f'"{c}" text' for c in HEADER)
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE floor_copy ({columns})")
        statement = "COPY floor_copy FROM STDIN (FORMAT csv, HEADER true)"
        with cursor.copy(statement) as copy, path.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        connection.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    name = f"hailong_bench_import_{os.getpid()}"
    url = create_database(name)
    try:
        env = hailong_env(url, secret_key=SECRET)
        run_hailong(env, ROOT, "db", "upgrade")
        run_hailong(env, ROOT, "agencies", "add", "79", "Thành phố Hồ Chí Minh")
        for ward in WARDS:
            run_hailong(env, ROOT, "agencies", "add", ward, f"Phường {ward}", "--parent", "79")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "past.csv"
            started = time.perf_counter()
            generate(path, args.rows)
            generated = time.perf_counter() - started
            size = path.stat().st_size / 1e6
            seconds, rss, tail = timed_child(hailong_command("import", str(path)), env)
            floor = copy_floor(url, path)
        summary = [line for line in tail.splitlines() if "imported" in line or "recomputed" in line]
        table = [
            "| target | rows | file MB | seconds | rows/s | peak RSS MB | ÷ floor |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| hailong import (check + write + recompute) | {args.rows:,} | {size:.0f} | "
            f"{seconds:.1f} | {args.rows / seconds:,.0f} | {rss} | {seconds / floor:.1f}× |",
            f"| floor: COPY into a plain table | {args.rows:,} | {size:.0f} | {floor:.1f} | "
            f"{args.rows / floor:,.0f} | - | 1× |",
        ]
        text = "\n".join(table)
        print(text)
        print(f"(CSV generated in {generated:.1f} s; the import's summary: {' '.join(summary)})")
        results = ROOT / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / f"bulk_import_{args.rows}.md").write_text(text + "\n", encoding="utf-8")
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
