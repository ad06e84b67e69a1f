"""Benchmark the report on a parent agency's children (GET /api/v1/reports/{parent}?period=
&format=docx|pdf) against the rankings read every report row rests on.

For each database (PostgreSQL: a fresh `hailong_bench_report_<pid>_<n>`, dropped at the end;
SQLite: a file in a temporary directory) and each --children size N (default 50 and 300):

1. `hailong db upgrade`, agencies `79` and its N wards, an admin key; then one quarter
   (2025-Q3) per ward, inserted in-process through the tables' metadata: --dossiers-per-child
   dossiers with 5 staff, evaluations of 40 % of them, petitions of 3 % (some handled late,
   some still open past their deadline), E entered for most wards; wards differ in quality
   so that the report has satisfied, unsatisfied and incomplete children. Then
   `hailong scores recompute`.
2. SQL statements per call, counted in-process with a SQLAlchemy `before_cursor_execute`
   listener on an engine of the same database: `gather_for` (the figures of one report; the
   first call cold, then warm) and the rankings handler's reads. Each statement is
   attributed to the function of service/reports/data.py that issued it (and the function
   it called), so that statements growing with N point at their place.
   The same process times `gather_for` and `render` (DOCX, PDF) apart.
3. `hailong serve` (2 workers on PostgreSQL, 1 on SQLite), one keep-alive connection,
   sequential requests: the floor, GET /api/v1/rankings?parent_code=79&period=2025-Q3, then
   the report as DOCX, then as PDF; one first (cold) request of each and --requests timed
   ones. Per request: the wall time, the CPU of the server's processes (/proc), and per
   block the peak RSS growth of each worker (VmHWM reset with /proc/PID/clear_refs before
   the block, against VmRSS then).

It prints the tables and writes bench/results/quarterly_report.md (server logs beside it).
It is a report, not a test: it exits 0 whatever the numbers are.

    .venv/bin/python bench/quarterly_report.py [--children 50 --children 300]
        [--dossiers-per-child 200] [--requests 5] [--db postgresql --db sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
sys.path.insert(0, str(ROOT))  # the repository, for tests.harness and service

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, SQLModel, select  # noqa: E402

import service.models  # noqa: E402, F401  (every table in SQLModel.metadata)
from service.admin.agencies import get_agency_by_code  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.models import Agency  # noqa: E402
from service.periods import Period, parse_period  # noqa: E402
from service.profile import Profile, profile_of  # noqa: E402
from service.reports import service as reports  # noqa: E402
from service.scoring import service as scoring  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.harness.processes import (  # noqa: E402
    DatabaseUnavailable,
    HailongServer,
    cpu_seconds_by_pid,
    fresh_database,
    hailong_env,
    run_hailong,
)

SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
PARENT = "79"
PERIOD = "2025-Q3"
STAFF_PER_CHILD = 5
EVALUATIONS_PER_DOSSIER = 0.4
PETITIONS_PER_DOSSIER = 0.03
E_ENTERED = 0.85  # share of wards with E entered for the quarter
LOCAL = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST
DATA_FILE = str(Path("service") / "reports" / "data.py")
TARGETS = ("rankings (floor)", "report docx", "report pdf")


@dataclass(frozen=True)
class Options:
    children: list[int]
    per_child: int
    requests: int
    databases: list[str]
    seed: int


@dataclass
class Timed:
    """One target's requests on one server: wall ms and server CPU ms per request."""

    target: str
    first_ms: float = 0.0
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss_growth_mb: float | None = None  # the largest of the workers'
    size_kb: float = 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def max(self) -> float:
        return max(self.wall_ms)

    @property
    def cpu_mean(self) -> float:
        """Mean, not median: /proc counts CPU in 10 ms ticks, and a sum of ticks over
        several requests is finer than any one of them."""
        return sum(self.cpu_ms) / len(self.cpu_ms)


@dataclass
class Run:
    db: str
    children: int
    rows: dict[str, int] = field(default_factory=dict)
    seed_s: float = 0.0
    recompute_s: float = 0.0
    groups: dict[str, int] = field(default_factory=dict)
    statements: dict[str, Counter[str]] = field(default_factory=dict)  # call → label → n
    in_process_ms: dict[str, float] = field(default_factory=dict)
    timed: dict[str, Timed] = field(default_factory=dict)
    report_shape: dict[str, int] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)
    idle_cpu: dict[int, float] = field(default_factory=dict)  # CPU s/s per pid, idle


# --- data ---------------------------------------------------------------------------------


def q3_working_days() -> list[date]:
    period = parse_period(PERIOD)
    day, days = period.first_day, []
    while day <= period.last_day:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def local_time(day: date, rng: random.Random) -> datetime:
    minutes = 7 * 60 + 30 + rng.randrange(9 * 60 + 30)
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL) + timedelta(minutes=minutes)


def add_agencies(env: dict[str, str], workdir: Path, children: int) -> None:
    lines = ["code,name,parent_code", f"{PARENT},Thành phố Hồ Chí Minh,"]
    lines += [f"{PARENT}.P{n:03d},Phường {n},{PARENT}" for n in range(1, children + 1)]
    path = workdir / f"agencies-{children}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_hailong(env, workdir, "agencies", "import", str(path))


def seed(url: str, children: int, per_child: int, rng: random.Random) -> dict[str, int]:
    """One quarter of dossiers, evaluations, petitions and inputs for every ward of PARENT."""
    tables = SQLModel.metadata.tables
    days = q3_working_days()
    now = datetime.now(UTC)
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("staff", "dossier", "invitation", "response", "petition")
    }
    rows["period_input"] = []
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            wards = connection.execute(
                sa.text(
                    "SELECT a.id FROM agency a JOIN agency p ON p.id = a.parent_id "
                    "WHERE p.code = :code ORDER BY a.code"
                ),
                {"code": PARENT},
            ).all()
            staff_id = dossier_id = evaluation_id = petition_id = 0
            for (ward_id,) in wards:
                quality = rng.random()  # 1: a model ward; 0: late, unsatisfied, petitioned
                first_staff = staff_id + 1
                for k in range(1, STAFF_PER_CHILD + 1):
                    staff_id += 1
                    rows["staff"].append(
                        {
                            "id": staff_id,
                            "agency_id": ward_id,
                            "code": f"CB{k:02d}",
                            "display_name": f"Cán bộ {k}",
                            "created_at": now,
                        }
                    )
                for n in range(per_child):
                    dossier_id += 1
                    resolved = local_time(rng.choice(days), rng).astimezone(UTC)
                    late = rng.random() < 0.04 + 0.3 * (1 - quality)
                    due = resolved + (
                        -timedelta(hours=1 + rng.random() * 200) if late else timedelta(days=2)
                    )
                    staff = first_staff + rng.randrange(STAFF_PER_CHILD)
                    evaluated = rng.random() < EVALUATIONS_PER_DOSSIER
                    unsatisfied = evaluated and rng.random() < 0.04 + 0.3 * (1 - quality)
                    petitioned = rng.random() < PETITIONS_PER_DOSSIER * (0.5 + 1.5 * (1 - quality))
                    supplements = 0 if rng.random() < 0.8 else 1
                    rows["dossier"].append(
                        {
                            "id": dossier_id,
                            "code": f"HS-{n:05d}",
                            "agency_id": ward_id,
                            "procedure_code": f"1.00{1000 + n % 40}",
                            "procedure_name": f"Thủ tục số {n % 40}",
                            "received_at": resolved - timedelta(days=5),
                            "due_at": due,
                            "resolved_at": resolved,
                            "handed_over_at": resolved + timedelta(hours=2),
                            "supplement_requests": supplements,
                            "channel": "counter",
                            "receiving_staff_id": staff,
                            "handling_staff_id": staff,
                            "returning_staff_id": staff,
                            "counter_id": None,
                            "resolved_day": resolved.astimezone(LOCAL).date(),
                            "is_late": late,
                            "overdue_working_days": max(1, (resolved - due).days) if late else 0,
                            "has_unsatisfied_evaluation": unsatisfied,
                            "has_petition": petitioned,
                            "created_at": resolved,
                            "updated_at": resolved,
                        }
                    )
                    issued = resolved + timedelta(hours=2)
                    if evaluated:
                        evaluation_id += 1
                        answered = issued + timedelta(minutes=10 + rng.randrange(3 * 24 * 60))
                        rows["invitation"].append(
                            {
                                "id": evaluation_id,
                                "public_id": str(uuid.UUID(int=rng.getrandbits(128))),
                                "dossier_id": dossier_id,
                                "token_seed": f"{rng.getrandbits(128):032x}",
                                "token_hash": f"{evaluation_id:064x}",
                                "short_code": f"{evaluation_id:08X}",
                                "language": "vi",
                                "status": "answered",
                                "issued_at": issued,
                                "expires_at": issued + timedelta(days=30),
                                "opened_at": answered - timedelta(minutes=2),
                                "answered_at": answered,
                                "revoked_at": None,
                            }
                        )
                        poor = rng.random() < 0.03 + 0.2 * (1 - quality)
                        rows["response"].append(
                            {
                                "id": evaluation_id,
                                "invitation_id": evaluation_id,
                                "agency_id": ward_id,
                                "client_submission_id": None,
                                "source": "phone",
                                "timeliness": "late" if late else "on_time",
                                "supplement_requests": "once" if supplements else "none",
                                "staff_attitude": "poor" if poor else "good",
                                "overall": "unsatisfied"
                                if unsatisfied
                                else rng.choice(("satisfied", "very_satisfied")),
                                "complaint": "Phải đi lại nhiều lần." if unsatisfied else None,
                                "received_at": answered,
                                "received_day": answered.astimezone(LOCAL).date(),
                            }
                        )
                    if petitioned:
                        petition_id += 1
                        received = resolved + timedelta(hours=1 + rng.randrange(100))
                        deadline = received + timedelta(days=21)
                        draw = rng.random()
                        handled = (
                            None
                            if draw < 0.2  # still open, long past its deadline
                            else received + timedelta(days=25 + rng.randrange(10))
                            if draw < 0.4  # handled late
                            else received + timedelta(days=rng.randrange(1, 20))
                        )
                        rows["petition"].append(
                            {
                                "id": petition_id,
                                "code": f"KN-{n:05d}",
                                "agency_id": ward_id,
                                "dossier_id": dossier_id,
                                "response_id": None,
                                "source": "import",
                                "kind": "petition",
                                "received_at": received,
                                "received_day": received.astimezone(LOCAL).date(),
                                "deadline_at": deadline,
                                "handled_at": handled,
                                "outcome": "Đã giải quyết." if handled else None,
                                "citizen_verdict": None,
                                "result_complaint": False,
                                "within_authority": True,
                                "created_at": received,
                                "updated_at": received,
                            }
                        )
                if rng.random() < E_ENTERED:
                    rows["period_input"].append(
                        {
                            "agency_id": ward_id,
                            "period": PERIOD,
                            "d": None,
                            "e": 1 if rng.random() < 0.8 else 0,
                            "note": None,
                            "set_by": "bench",
                            "set_at": now,
                            "e_set_by": "bench",
                            "e_set_at": now,
                        }
                    )
            for name, values in rows.items():
                for first in range(0, len(values), 5000):
                    connection.execute(tables[name].insert(), values[first : first + 5000])
            if connection.dialect.name == "postgresql":
                for name in ("staff", "dossier", "invitation", "response", "petition"):
                    connection.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                        )
                    )
                connection.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return {name: len(values) for name, values in rows.items()}


# --- statements, in-process ---------------------------------------------------------------


def _label(frame: FrameType | None) -> str:
    """Which function of service/reports/data.py issued the statement, and what it called;
    "(outside data.py)" for the rest."""
    callee: FrameType | None = None
    while frame is not None:
        if frame.f_code.co_filename.endswith(DATA_FILE):
            name = frame.f_code.co_name
            if callee is None or "/service/" not in callee.f_code.co_filename:
                return f"{name} (itself)"
            module = callee.f_code.co_filename.rsplit("/service/", 1)[1].removesuffix(".py")
            return f"{name} → {module.replace('/', '.')}.{callee.f_code.co_name}"
        callee = frame
        frame = frame.f_back
    return "(outside data.py)"


@contextlib.contextmanager
def counting(engine: sa.Engine) -> Iterator[Counter[str]]:
    found: Counter[str] = Counter()

    def listener(*_: Any) -> None:
        found[_label(sys._getframe(1))] += 1

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def rankings_read(session: Session, period: Period, profile: Profile) -> int:
    """What the rankings route reads (service/scoring/router.py, `rankings`), minus auth."""
    parent = get_agency_by_code(session, PARENT)
    assert parent is not None
    children = session.exec(select(Agency).where(Agency.parent_id == parent.id)).all()
    return len(scoring.scores(session, children, period, profile))


def in_process(url: str, run: Run) -> None:
    settings = Settings(database_url=url, secret_key=SECRET_KEY)
    engine = make_engine(settings)
    profile = profile_of(settings)
    period = parse_period(PERIOD)
    try:
        for call in ("report (cold)", "report", "rankings"):
            with counting(engine) as found, Session(engine) as session:
                started = time.perf_counter()
                if call == "rankings":
                    rankings_read(session, period, profile)
                else:
                    report = reports.gather_for(session, PARENT, period, profile)
                run.in_process_ms[f"{call}: read"] = (time.perf_counter() - started) * 1000
            run.statements[call] = found
        for fmt in reports.FORMATS:
            started = time.perf_counter()
            reports.render(report, fmt)
            run.in_process_ms[f"render {fmt}"] = (time.perf_counter() - started) * 1000
        run.report_shape = {
            "rows": len(report.rows),
            "reasons": len(report.reasons),
            "overdue petitions": len(report.overdue),
            "staff below": len(report.staff_below),
            "trend points": len(report.trend),
        }
        groups = Counter(row.score.group for row in report.rows)
        run.groups = dict(sorted(groups.items()))
    finally:
        engine.dispose()


# --- the server ---------------------------------------------------------------------------


def vm_kb(pid: int, name: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def reset_peaks(pids: list[int]) -> dict[int, float]:
    """Reset each process's VmHWM to its VmRSS (Linux ≥ 4.0); VmRSS now, in kB."""
    before = {}
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        rss = vm_kb(pid, "VmRSS")
        if rss is not None:
            before[pid] = rss
    return before


def peak_growth_mb(before: dict[int, float]) -> float | None:
    growths = []
    for pid, rss in before.items():
        peak = vm_kb(pid, "VmHWM")
        if peak is not None:
            growths.append((peak - rss) / 1024)
    return max(growths) if growths else None


IDLE_SECONDS = 3.0


def idle_cpu_rates(pids: list[int]) -> dict[int, float]:
    """CPU seconds per second each server process uses with no request (background
    workers, polling), after a moment for startup to settle."""
    time.sleep(2.0)
    before = cpu_seconds_by_pid(pids)
    started = time.perf_counter()
    time.sleep(IDLE_SECONDS)
    after = cpu_seconds_by_pid(pids)
    elapsed = time.perf_counter() - started
    return {pid: (after.get(pid, 0.0) - before.get(pid, 0.0)) / elapsed for pid in pids}


def timed_get(
    client: httpx.Client, path: str, pids: list[int], idle: dict[int, float]
) -> tuple[float, float, int]:
    """Wall ms, server CPU ms, body bytes. The CPU is the busiest process's (the worker
    that served the request: requests are sequential), less its idle rate over the window;
    the other processes' background work is left out."""
    cpu_before = cpu_seconds_by_pid(pids)
    started = time.perf_counter()
    response = client.get(path)
    wall = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
    time.sleep(0.05)  # let the worker finish its bookkeeping after the last byte
    window = time.perf_counter() - started
    after = cpu_seconds_by_pid(pids)
    used = {
        pid: after.get(pid, 0.0) - cpu_before.get(pid, 0.0) - idle.get(pid, 0.0) * window
        for pid in pids
    }
    return wall, max(0.0, *used.values()) * 1000, len(response.content)


def over_http(url: str, key: str, workers: int, log: Path, requests: int, run: Run) -> None:
    paths = {
        "rankings (floor)": f"/api/v1/rankings?parent_code={PARENT}&period={PERIOD}",
        "report docx": f"/api/v1/reports/{PARENT}?period={PERIOD}&format=docx",
        "report pdf": f"/api/v1/reports/{PARENT}?period={PERIOD}&format=pdf",
    }
    with (
        HailongServer(url, log, secret_key=SECRET_KEY, workers=workers) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=600.0
        ) as client,
    ):
        pids = server.pids()
        workers_pids = server.worker_pids()
        count = client.get(paths["rankings (floor)"]).json().get("count")
        if count != run.children:
            raise RuntimeError(f"rankings count {count}, expected {run.children}")
        run.idle_cpu = idle_cpu_rates(pids)
        for target, path in paths.items():
            timed = Timed(target)
            before = reset_peaks(workers_pids)
            # The first request of each kind (imports, fonts, caches) is shown on its own.
            timed.first_ms, _, _ = timed_get(client, path, pids, run.idle_cpu)
            for _ in range(requests):
                wall, cpu, size = timed_get(client, path, pids, run.idle_cpu)
                timed.wall_ms.append(wall)
                timed.cpu_ms.append(cpu)
                timed.size_kb = size / 1024
            timed.rss_growth_mb = peak_growth_mb(before)
            run.timed[target] = timed
            print(
                f"      {target}: first {timed.first_ms:,.0f} ms, p50 {timed.p50:,.0f} ms, "
                f"max {timed.max:,.0f} ms, CPU {timed.cpu_mean:,.0f} ms",
                flush=True,
            )


# --- one database and size ----------------------------------------------------------------


def bench_one(db: str, children: int, options: Options, workdir: Path) -> Run:
    run = Run(db, children)
    name = f"hailong_bench_report_{os.getpid()}_{children}"

    @contextlib.contextmanager
    def database() -> Iterator[str]:
        if db == "postgresql":
            with fresh_database(name) as url:
                yield url
        else:
            yield f"sqlite:///{workdir / f'{name}.db'}"

    print(f"{db}, {children} children:", flush=True)
    with database() as url:
        env = hailong_env(url, secret_key=SECRET_KEY)
        run_hailong(env, workdir, "db", "upgrade")
        add_agencies(env, workdir, children)
        started = time.perf_counter()
        run.rows = seed(url, children, options.per_child, random.Random(options.seed))
        run.seed_s = time.perf_counter() - started
        started = time.perf_counter()
        run_hailong(env, workdir, "scores", "recompute", timeout=1800)
        run.recompute_s = time.perf_counter() - started
        print(
            f"    seeded {run.rows['dossier']:,} dossiers, {run.rows['response']:,} "
            f"evaluations, {run.rows['petition']:,} petitions in {run.seed_s:.1f} s; "
            f"recompute {run.recompute_s:.1f} s",
            flush=True,
        )
        in_process(url, run)
        print(
            "    statements per call (in-process, warm): report "
            f"{sum(run.statements['report'].values()):,}, rankings "
            f"{sum(run.statements['rankings'].values()):,}",
            flush=True,
        )
        key = run_hailong(env, workdir, "keys", "create", "--role", "admin")
        key = key.strip().splitlines()[-1]
        workers = 2 if db == "postgresql" else 1
        log = RESULTS_DIR / f"server-quarterly-report-{db}-{children}.log"
        log.unlink(missing_ok=True)
        load_before = os.getloadavg()[0]
        over_http(url, key, workers, log, options.requests, run)
        run.load = (load_before, os.getloadavg()[0])
    return run


# --- the tables ---------------------------------------------------------------------------


def main_table(runs: list[Run]) -> list[str]:
    lines = [
        "| db | children | target | requests | first ms | p50 ms | max ms | p50 ÷ floor "
        "| server CPU ms/req (mean) | SQL statements | peak RSS growth MB | size KB |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        floor = run.timed.get("rankings (floor)")
        for target in TARGETS:
            timed = run.timed.get(target)
            if timed is None:
                continue
            call = "rankings" if target.startswith("rankings") else "report"
            statements = sum(run.statements.get(call, Counter()).values())
            ratio = f"{timed.p50 / floor.p50:,.1f}" if floor and timed is not floor else "1"
            growth = f"{timed.rss_growth_mb:,.1f}" if timed.rss_growth_mb is not None else "—"
            lines.append(
                f"| {run.db} | {run.children} | {target} | {len(timed.wall_ms)} "
                f"| {timed.first_ms:,.0f} | {timed.p50:,.0f} | {timed.max:,.0f} | {ratio} "
                f"| {timed.cpu_mean:,.0f} | {statements:,} | {growth} | {timed.size_kb:,.0f} |"
            )
    return lines


def per_child_table(runs: list[Run]) -> list[str]:
    """Warm statements of one report by where data.py issued them, per size, and the growth
    per child between the smallest and largest size of each database."""
    lines: list[str] = []
    for db in dict.fromkeys(r.db for r in runs):
        mine = sorted((r for r in runs if r.db == db), key=lambda r: r.children)
        labels = sorted(
            {label for r in mine for label in r.statements.get("report", Counter())},
            key=lambda label: -max(r.statements["report"][label] for r in mine),
        )
        small, large = mine[0], mine[-1]
        span = large.children - small.children
        head = " | ".join(f"N={r.children}" for r in mine)
        lines += [
            f"{db}:",
            "",
            f"| where (service/reports/data.py → callee) | {head} | per child |",
            "| --- | " + "---: | " * len(mine) + "---: |",
        ]
        for label in [*labels, "total"]:

            def n(r: Run, label: str = label) -> int:
                found = r.statements.get("report", Counter())
                return sum(found.values()) if label == "total" else found[label]

            slope = f"{(n(large) - n(small)) / span:.2f}" if span else "—"
            cells = " | ".join(f"{n(r):,}" for r in mine)
            lines.append(f"| {label} | {cells} | {slope} |")
        cold = " | ".join(f"{sum(r.statements['report (cold)'].values()):,}" for r in mine)
        lines += ["", f"The first (cold) report in a fresh process: {cold} statements.", ""]
    return lines


def in_process_table(runs: list[Run]) -> list[str]:
    lines = [
        "| db | children | rankings read ms | report read ms | render docx ms | render pdf ms "
        "| rows / reasons / overdue / staff below / trend | groups |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in runs:
        ms = run.in_process_ms
        shape = " / ".join(str(v) for v in run.report_shape.values())
        groups = ", ".join(f"{k} {v}" for k, v in run.groups.items())
        lines.append(
            f"| {run.db} | {run.children} | {ms.get('rankings: read', 0):,.0f} "
            f"| {ms.get('report: read', 0):,.0f} | {ms.get('render docx', 0):,.0f} "
            f"| {ms.get('render pdf', 0):,.0f} | {shape} | {groups} |"
        )
    return lines


def write_report(runs: list[Run], options: Options, started: datetime) -> str:
    data = ", ".join(
        f"{r.db} N={r.children}: {r.rows['dossier']:,} dossiers, {r.rows['response']:,} "
        f"evaluations, {r.rows['petition']:,} petitions (seed {r.seed_s:.0f} s, recompute "
        f"{r.recompute_s:.0f} s, load {r.load[0]:.1f}→{r.load[1]:.1f}, server idle CPU "
        f"{sum(r.idle_cpu.values()) * 1000:.0f} ms/s)"
        for r in runs
    )
    parts = [
        "# Quarterly report: GET /api/v1/reports/{parent}",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, `bench/quarterly_report.py`, {os.cpu_count()} cores "
        f"shared by client, server and database. Parent `{PARENT}`, period {PERIOD}, "
        f"{options.per_child} dossiers per child; {options.requests} timed requests per target "
        "after a first one, sequential, one keep-alive connection; PostgreSQL served by 2 "
        "workers, SQLite by 1. The floor is GET /api/v1/rankings for the same parent and "
        "period. Server CPU: from /proc, mean per timed request, of the busiest server process "
        f"(the one serving), less its idle rate (measured over {IDLE_SECONDS:.0f} s before "
        "the requests). "
        "SQL statements: one call in-process (SQLAlchemy before_cursor_execute), warm, "
        "without the API key lookup. Peak RSS growth: per block (first request + timed "
        "ones), the largest worker's VmHWM after it minus its VmRSS before it.",
        "",
        *main_table(runs),
        "",
        "## SQL statements of one report, by where they are issued",
        "",
        *per_child_table(runs),
        "## In-process: reading against drawing",
        "",
        *in_process_table(runs),
        "",
        f"Data: {data}.",
        "",
    ]
    return "\n".join(parts)


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--children", type=int, action="append", help="wards under the parent (default 50, 300)"
    )
    parser.add_argument("--dossiers-per-child", type=int, default=200, help="in the quarter")
    parser.add_argument("--requests", type=int, default=5, help="timed requests per target")
    parser.add_argument(
        "--db", action="append", choices=("postgresql", "sqlite"), help="default both"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.dossiers_per_child < 1:
        parser.error("--requests and --dossiers-per-child must be at least 1")
    return Options(
        sorted(set(args.children or [50, 300])),
        args.dossiers_per_child,
        args.requests,
        args.db or ["postgresql", "sqlite"],
        args.seed,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="hailong-bench-report-") as tmp:
        for db in options.databases:
            for children in options.children:
                try:
                    runs.append(bench_one(db, children, options, Path(tmp)))
                except DatabaseUnavailable as exc:
                    print(f"  skipped: {exc}", flush=True)
                    break
    text = write_report(runs, options, started)
    path = RESULTS_DIR / "quarterly_report.md"
    path.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
