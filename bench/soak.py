"""Soak: a steady mixed load against `hailong serve` for minutes, watching latency and memory.

For each database (PostgreSQL by default; `--db sqlite` too or instead) it creates a fresh
database, seeds two agencies and keys with the `hailong` CLI, subscribes a local webhook
receiver to every event, serves hailong (PostgreSQL: 2 workers; SQLite: the embedded
single process) and sends requests at a fixed rate (an open loop: a request leaves every
1/rate seconds whatever the server does) for `--minutes`:

    40% POST /api/v1/handovers    (a new dossier resolved now: the live period moves)
    30% POST /api/v1/responses    (the answer to a survey issued earlier in the run)
     5% POST /api/v1/petitions    (an import about an earlier dossier)
    15% GET  /api/v1/agencies/{code}/scores/{this month}
     5% GET  /s/{token}           (the citizen's page)
     5% GET  /rankings            (the public scoreboard)

Every minute it records p50/p99/max latency, the requests and errors (any non-2xx, no
answer in 10 s, or not sent because 64 requests were already waiting), and the resident
memory (VmRSS) of each server process. At the end it checks the targets, prints a table
and writes bench/results/soak.md (and `--json PATH`):

- zero errors;
- memory: each server process grows by at most `--rss-growth-mb` (50) MB from the end of
  the first minute (warm-up: imports, pools and caches fill) to the end;
- the rate held: at least 95% of the requested requests were sent and answered;
- no drift: the last minute's p99 at most 2 × the second minute's + 25 ms;
- nothing lost: every acknowledged handover and answer is in the database, and every
  webhook event was delivered by the end (after a grace of 30 s).

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 50] [--db postgresql] [--db sqlite]

A report, not a test: it exits 0 whatever the numbers are.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness

from tests.harness.processes import (  # noqa: E402
    DatabaseUnavailable,
    HailongServer,
    cpu_seconds,
    fresh_database,
    http_server,
    rss_mb,
    run_hailong,
)

RESULTS_DIR = BENCH_DIR / "results"

# Per run: two runs at once must not drop each other's database.
PG_DATABASE = f"hailong_bench_soak_{os.getpid()}"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
# More HAILONG_ settings of the server (and of the CLI that seeds its database).
SETTINGS = {
    "webhook_allow_networks": "127.0.0.0/8",
    "webhook_retry_base_seconds": "1",
    "webhook_retry_max_seconds": "5",
}
AGENCIES = ["79.BTH", "79.SGN"]
LOCAL = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has no daylight saving
REQUEST_TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 64
WEBHOOK_GRACE_S = 30.0
STARTUP_TIMEOUT_S = 60.0

# Targets.
TARGET_ERRORS = 0
TARGET_RATE_SHARE = 0.95
DRIFT_FACTOR, DRIFT_SLACK_MS = 2.0, 25.0

MIX = [  # (kind, weight)
    ("handover", 40),
    ("answer", 30),
    ("petition", 5),
    ("score", 15),
    ("page", 5),
    ("rankings", 5),
]


@dataclass(frozen=True)
class Options:
    minutes: float
    rate: float
    databases: list[str]
    rss_growth_mb: float
    json_path: Path | None
    seed: int


@dataclass
class Minute:
    minute: int
    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    lag_ms: float = 0.0  # how late the generator sent its latest request (its own health)
    rss_mb: list[float] = field(default_factory=list)  # per server process, at the minute's end
    server_cpu: float = 0.0  # CPU seconds of the server processes in the minute ÷ 60
    load: float = 0.0  # the machine's 1-minute load average at the minute's end
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class Check:
    name: str
    value: str
    target: str
    ok: bool


@dataclass
class Run:
    db: str
    workers: int
    minutes: float
    rate: float
    pids: list[int]
    rss_start_mb: list[float]
    per_minute: list[Minute]
    sent: int
    answered: int
    errors: int
    error_samples: list[str]
    error_kinds: dict[str, int]
    acked_handovers: int
    stored_handovers: int
    acked_answers: int
    stored_answers: int
    events: int
    delivered: int
    checks: list[Check]


# --- database and webhook receiver -------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[tuple[str, int]]:
    """A fresh database of that kind (dropped afterwards): its URL and the server's workers."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'soak.db'}", 1
        return
    try:
        with fresh_database(PG_DATABASE) as url:
            yield url, 2
    except DatabaseUnavailable as exc:
        raise SystemExit(str(exc)) from None


def prepare(env: dict[str, str], workdir: Path) -> dict[str, str]:
    run_hailong(env, workdir, "db", "upgrade")
    run_hailong(env, workdir, "agencies", "add", "79", "Thành phố Hồ Chí Minh")
    run_hailong(env, workdir, "agencies", "add", "79.BTH", "Phường Bến Thành", "--parent", "79")
    run_hailong(env, workdir, "agencies", "add", "79.SGN", "Phường Sài Gòn", "--parent", "79")
    keys = {}
    for role in ("issuer", "reader", "admin"):
        out = run_hailong(env, workdir, "keys", "create", "--role", role, "--name", f"soak {role}")
        keys[role] = out.strip().splitlines()[-1]
    return keys


class Receiver:
    """The webhook deliveries' message ids; serve `handler` with the harness's http_server."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.ids.add(self.headers.get("webhook-id", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.handler = Handler


# --- load ---------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Load:
    def __init__(self, base: str, keys: dict[str, str], seed: int) -> None:
        self.base = base
        self.issuer = {"Authorization": f"Bearer {keys['issuer']}"}
        self.reader = {"Authorization": f"Bearer {keys['reader']}"}
        self.random = random.Random(seed)
        self.codes = itertools.count(1)
        self.tokens: deque[tuple[str, str]] = deque(maxlen=5000)  # (token, agency)
        self.dossiers: deque[tuple[str, str]] = deque(maxlen=5000)  # (code, agency)
        self.latencies: list[float] = []
        self.by_kind: dict[str, int] = {}
        self.errors = 0
        self.error_samples: list[str] = []
        self.error_kinds: dict[str, int] = {}
        self.acked_handovers: set[str] = set()
        self.acked_answers: set[int] = set()
        self.answered = 0
        self.skipped = 0  # not sent: MAX_IN_FLIGHT requests were already waiting
        self.cpu_mark = (0.0, 0.0)  # server CPU seconds and the time they were read
        kinds, weights = zip(*MIX, strict=True)
        self.kinds, self.weights = list(kinds), list(weights)

    def _error(self, kind: str, what: str) -> None:
        """Count an error under `kind`; keep the first few of each kind as samples."""
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if self.error_kinds[kind] <= 3:
            self.error_samples.append(f"{kind}: {what[:300]}")

    def _request(self, kind: str) -> tuple[str, str, dict[str, Any] | None, dict[str, str]]:
        now = datetime.now(LOCAL).replace(microsecond=0)
        agency = self.random.choice(AGENCIES)
        if kind == "answer" and self.tokens:
            token, _ = self.tokens.popleft()
            choice = self.random.choice
            answers = {
                "timeliness": choice(["on_time", "on_time", "late"]),
                "supplement_requests": choice(["none", "none", "once", "twice_or_more"]),
                "staff_attitude": choice(["good", "good", "normal", "poor"]),
                "overall": choice(["very_satisfied", "satisfied", "unsatisfied"]),
                "complaint": "Phải chờ lâu" if self.random.random() < 0.05 else "",
            }
            answer: dict[str, Any] = {"token": token, "answers": answers, "source": "phone"}
            return "POST", "/api/v1/responses", answer, {}
        if kind == "petition" and self.dossiers:
            code, agency = self.random.choice(self.dossiers)
            petition: dict[str, Any] = {
                "petition_code": f"SOAK-P-{next(self.codes)}",
                "agency_code": agency,
                "dossier_code": code,
                "received_at": (now - timedelta(minutes=1)).isoformat(),
                "citizen_verdict": self.random.choice(["satisfied", "unsatisfied"]),
            }
            return "POST", "/api/v1/petitions", petition, self.issuer
        if kind == "score":
            return "GET", f"/api/v1/agencies/{agency}/scores/{now:%Y-%m}", None, self.reader
        if kind == "page" and len(self.tokens) > 10:  # the newest: not being answered
            return "GET", f"/s/{self.tokens[-1][0]}", None, {}
        if kind == "rankings":
            return "GET", f"/rankings?period={now:%Y-%m}&parent_code=79", None, {}
        resolved = now - timedelta(minutes=1)
        body: dict[str, Any] = {
            "dossier_code": f"SOAK-{next(self.codes)}",
            "agency_code": agency,
            "procedure_code": "1.001612",
            "procedure_name": "Đăng ký khai sinh",
            "received_at": (resolved - timedelta(days=5)).isoformat(),
            "due_at": (resolved + timedelta(days=self.random.choice([-2, 1, 3]))).isoformat(),
            "resolved_at": resolved.isoformat(),
            "handed_over_at": now.isoformat(),
            "supplement_requests": self.random.choice([0, 0, 0, 1, 2]),
            "channel": "counter",
            "staff": {"receiving": "CB001", "handling": f"CB00{self.random.randint(2, 6)}"},
        }
        return "POST", "/api/v1/handovers", body, self.issuer

    async def one(self, client: httpx.AsyncClient, kind: str) -> None:
        method, path, body, headers = self._request(kind)
        started = time.perf_counter()
        try:
            # httpx's timeout is per step (connect, write, each read): bound the whole request.
            answer = await asyncio.wait_for(
                client.request(method, path, json=body, headers=headers), REQUEST_TIMEOUT_S
            )
        except TimeoutError:
            self._error(f"no answer in {REQUEST_TIMEOUT_S:g} s", f"{method} {path}")
            return
        except httpx.HTTPError as exc:
            self._error(type(exc).__name__, f"{method} {path}: {exc}")
            return
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if not answer.is_success:
            self._error(f"HTTP {answer.status_code}", f"{method} {path}: {answer.text[:200]}")
            return
        self.answered += 1
        if path == "/api/v1/handovers":
            assert body is not None
            data, agency = answer.json(), str(body["agency_code"])
            code = data["dossier_code"]
            self.acked_handovers.add(code)
            self.tokens.append((data["survey_url"].rsplit("/", 1)[1], agency))
            self.dossiers.append((code, agency))
        elif path == "/api/v1/responses":
            self.acked_answers.add(int(answer.json()["response_id"]))

    def take_minute(self, n: int, lag_ms: float, pids: list[int]) -> Minute:
        cpu, now = cpu_seconds(pids), time.perf_counter()
        share = (cpu - self.cpu_mark[0]) / max(1e-9, now - self.cpu_mark[1])
        self.cpu_mark = (cpu, now)
        samples, self.latencies = self.latencies, []
        kinds, self.by_kind = self.by_kind, {}
        minute = Minute(
            minute=n,
            requests=len(samples),
            p50_ms=percentile(samples, 0.5),
            p99_ms=percentile(samples, 0.99),
            max_ms=max(samples, default=math.nan),
            lag_ms=lag_ms,
            rss_mb=[rss_mb(pid) for pid in pids],
            load=os.getloadavg()[0],
            server_cpu=share,
            by_kind=kinds,
        )
        return minute

    async def run(self, minutes: float, rate: float, pids: list[int]) -> tuple[int, list[Minute]]:
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=32)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
        per_minute: list[Minute] = []
        errors_before = 0
        tasks: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=timeout) as client:
            start = time.perf_counter()
            self.cpu_mark = (cpu_seconds(pids), start)
            total = int(minutes * 60 * rate)
            minute_end = start + 60
            lag = 0.0
            for n in range(total):
                due = start + n / rate
                # Always yield, even when behind: the requests in flight must get the loop.
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                lag = max(lag, (time.perf_counter() - due) * 1000)
                if len(tasks) >= MAX_IN_FLIGHT:
                    # The server is not keeping up: count the request as an error rather
                    # than queue it in the client (which would only measure the queue).
                    self.skipped += 1
                    self._error(
                        f"not sent ({MAX_IN_FLIGHT} in flight)", "the server is not keeping up"
                    )
                    continue
                kind = self.random.choices(self.kinds, self.weights)[0]
                task = asyncio.create_task(self.one(client, kind))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                if time.perf_counter() >= minute_end:
                    minute = self.take_minute(len(per_minute) + 1, lag, pids)
                    minute.errors, errors_before = self.errors - errors_before, self.errors
                    per_minute.append(minute)
                    self._print(minute)
                    minute_end += 60
                    lag = 0.0
            if tasks:
                await asyncio.wait(tasks)
            if self.latencies:  # the last (partial) minute
                minute = self.take_minute(len(per_minute) + 1, lag, pids)
                minute.errors = self.errors - errors_before
                per_minute.append(minute)
                self._print(minute)
        return total, per_minute

    @staticmethod
    def _print(m: Minute) -> None:
        rss = " ".join(f"{v:.0f}" for v in m.rss_mb)
        print(
            f"  minute {m.minute}: {m.requests} requests, p50 {m.p50_ms:.1f} ms, "
            f"p99 {m.p99_ms:.1f} ms, max {m.max_ms:.0f} ms, errors {m.errors}, "
            f"server CPU {m.server_cpu:.2f} cores, load {m.load:.1f}, RSS MB {rss}",
            flush=True,
        )


# --- one database -------------------------------------------------------------------------


def column(url: str, sql: str) -> set[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(sa.text(sql)).scalars())
    finally:
        engine.dispose()


def soak(kind: str, options: Options, workdir: Path) -> Run:
    receiver = Receiver()
    with database(kind, workdir) as (url, workers), http_server(receiver.handler) as hooks:
        log_path = RESULTS_DIR / f"server-soak-{kind}.log"
        log_path.unlink(missing_ok=True)  # the harness appends: this run's log only
        server = HailongServer(
            url, log_path, secret_key=SECRET_KEY, workers=workers, cwd=workdir, settings=SETTINGS
        )
        keys = prepare(server.env, workdir)
        print(f"{kind}: {workers} worker(s), {options.rate:g} req/s for {options.minutes:g} min")
        with server:
            server.wait_for(
                lambda: len(server.worker_pids()) >= workers,
                STARTUP_TIMEOUT_S,
                "every worker process",
            )
            base = server.url
            subscribed = httpx.post(
                f"{base}/api/v1/webhooks",
                json={
                    "url": f"{hooks}/hooks",
                    "events": [
                        "invitation.issued",
                        "response.submitted",
                        "petition.created",
                        "petition.updated",
                        "score.updated",
                    ],
                },
                headers={"Authorization": f"Bearer {keys['admin']}"},
                timeout=10,
            )
            subscribed.raise_for_status()
            pids = server.worker_pids()
            rss_start = [rss_mb(pid) for pid in pids]
            load = Load(base, keys, options.seed)
            sent, per_minute = asyncio.run(load.run(options.minutes, options.rate, pids))
            # Outbox events (score.updated is coalesced and has none) must all arrive.
            events = column(url, "SELECT msg_id FROM outbox_event")
            deadline = time.monotonic() + WEBHOOK_GRACE_S
            while time.monotonic() < deadline:
                with receiver.lock:
                    if events <= receiver.ids:
                        break
                time.sleep(0.5)
            with receiver.lock:
                delivered = len(events & receiver.ids)
        stored_handovers = len(load.acked_handovers & column(url, "SELECT code FROM dossier"))
        stored_answers = len(load.acked_answers & column(url, "SELECT id FROM response"))
    run = Run(
        db=kind,
        workers=workers,
        minutes=options.minutes,
        rate=options.rate,
        pids=pids,
        rss_start_mb=rss_start,
        per_minute=per_minute,
        sent=sent,
        answered=load.answered,
        errors=load.errors,
        error_samples=load.error_samples,
        error_kinds=load.error_kinds,
        acked_handovers=len(load.acked_handovers),
        stored_handovers=stored_handovers,
        acked_answers=len(load.acked_answers),
        stored_answers=stored_answers,
        events=len(events),
        delivered=delivered,
        checks=[],
    )
    run.checks = checks(run, options)
    return run


def checks(run: Run, options: Options) -> list[Check]:
    found = [
        Check(
            "errors",
            f"{run.errors}"
            + (
                " (" + ", ".join(f"{k}: {n}" for k, n in sorted(run.error_kinds.items())) + ")"
                if run.error_kinds
                else ""
            ),
            f"= {TARGET_ERRORS}",
            run.errors == TARGET_ERRORS,
        ),
    ]
    minutes = run.per_minute
    if len(minutes) >= 2:
        warm, end = minutes[0].rss_mb, minutes[-1].rss_mb
        growth = [b - a for a, b in zip(warm, end, strict=True)]
        worst = max(growth)
        found.append(
            Check(
                "RSS growth after warm-up (MB, worst process)",
                " / ".join(f"{a:.0f}→{b:.0f}" for a, b in zip(warm, end, strict=True))
                + f" (+{worst:.1f})",
                f"≤ {options.rss_growth_mb:g}",
                worst <= options.rss_growth_mb,
            )
        )
    share = run.answered / run.sent if run.sent else 0.0
    found.append(
        Check(
            "requests answered 2xx ÷ sent",
            f"{run.answered:,} / {run.sent:,} = {share:.3f}",
            f"≥ {TARGET_RATE_SHARE}",
            share >= TARGET_RATE_SHARE,
        )
    )
    full = [m for m in minutes if m.requests >= 0.5 * 60 * run.rate]
    if len(full) >= 3:
        first, last = full[1].p99_ms, full[-1].p99_ms
        bound = DRIFT_FACTOR * first + DRIFT_SLACK_MS
        found.append(
            Check(
                "p99 drift, minute 2 → last (ms)",
                f"{first:.1f} → {last:.1f}",
                f"≤ {DRIFT_FACTOR:g} × minute 2 + {DRIFT_SLACK_MS:g} = {bound:.1f}",
                last <= bound,
            )
        )
    found.append(
        Check(
            "acknowledged handovers / answers stored",
            f"{run.stored_handovers:,}/{run.acked_handovers:,} · "
            f"{run.stored_answers:,}/{run.acked_answers:,}",
            "all",
            run.stored_handovers == run.acked_handovers and run.stored_answers == run.acked_answers,
        )
    )
    found.append(
        Check(
            f"webhook events delivered (within {WEBHOOK_GRACE_S:.0f} s of the end)",
            f"{run.delivered:,} / {run.events:,}",
            "all",
            run.delivered == run.events,
        )
    )
    return found


# --- report -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(runs: list[Run], options: Options) -> str:
    lines = [
        f"# Soak, {datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"`.venv/bin/python bench/soak.py --minutes {options.minutes:g} --rate {options.rate:g}`"
        f": an open-loop mixed load ({', '.join(f'{k} {w}%' for k, w in MIX)}) at "
        f"{options.rate:g} req/s for {options.minutes:g} minutes per database; a local "
        f"webhook receiver subscribed to every event. {os.cpu_count()} CPU cores shared by the "
        "load generator, the server, the database and whatever else runs on the machine "
        f"(load average now: {os.getloadavg()[0]:.1f}).",
    ]
    for run in runs:
        processes = len(run.pids)
        lines += [
            "",
            f"## {run.db}: `hailong serve --workers {run.workers}`",
            "",
            "| minute | requests | p50 ms | p99 ms | max ms | errors | generator lag ms | "
            "server CPU (cores) | load avg | "
            + " | ".join(f"RSS MB proc {i + 1}" for i in range(processes))
            + " |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            + " ---: |" * processes,
            "| start | | | | | | | | | " + " | ".join(f"{v:.0f}" for v in run.rss_start_mb) + " |",
        ]
        for m in run.per_minute:
            label = f"{m.minute} (warm-up)" if m.minute == 1 else str(m.minute)
            lines.append(
                f"| {label} | {m.requests:,} | {m.p50_ms:.1f} | {m.p99_ms:.1f} | "
                f"{m.max_ms:.0f} | {m.errors} | {m.lag_ms:.0f} | {m.server_cpu:.2f} | "
                f"{m.load:.1f} | " + " | ".join(f"{v:.0f}" for v in m.rss_mb) + " |"
            )
        lines += ["", "| check | value | target | result |", "| --- | --- | --- | --- |"]
        lines += [f"| {c.name} | {c.value} | {c.target} | {verdict(c.ok)} |" for c in run.checks]
        if run.error_samples:
            lines += ["", "First errors of each kind:", ""]
            lines += [f"- `{e}`" for e in run.error_samples]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10, help="load duration per database")
    parser.add_argument("--rate", type=float, default=50, help="requests per second")
    parser.add_argument(
        "--db",
        action="append",
        choices=["postgresql", "sqlite"],
        help="database (repeatable; default: postgresql)",
    )
    parser.add_argument(
        "--rss-growth-mb", type=float, default=50, help="allowed RSS growth after warm-up"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0:
        parser.error("--minutes and --rate must be positive")
    return Options(
        args.minutes, args.rate, args.db or ["postgresql"], args.rss_growth_mb, args.json, args.seed
    )


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds: servers stopped, databases dropped


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)  # also when started in the background
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="hailong-soak-") as tmp:
        for kind in options.databases:
            runs.append(soak(kind, options, Path(tmp)))
    text = report(runs, options)
    (RESULTS_DIR / "soak.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written to {RESULTS_DIR / 'soak.md'}")
    if options.json_path:
        options.json_path.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
