"""Benchmark answering surveys, the JSON way and the phone's form, against a floor, with wrk.

Two targets, each answering surveys issued beforehand, one fresh survey per answer:
- `json`: POST /api/v1/responses (token, answers, client_submission_id; no key, as API.md
  says: the token is the credential);
- `form`: the citizen's phone, GET /s/{token} (the page), POST /s/{token} (its fields,
  url-encoded, as a browser sends them; answered 303) and GET /s/{token}/thanks (where the
  303 sends the browser): one answer is the three, timed as a whole.
The floor (bench/floor_app.py) parses the same JSON and does one INSERT into a table whose
unique token column stands for the one response per invitation.

For each database (PostgreSQL with 2 workers, then SQLite with 1) and each scenario
(`spread`: 50 agencies, resolution days over four months, 5 staff each; `one-day`: one
agency, one day, one staff, the worst case for shared counter rows) it runs rounds. A round
issues the surveys it will answer (POST /api/v1/handovers through wrk, on a server of its
own, then waits until the webhook worker has nothing left; none of this is measured), then
measures json, floor and form, each on a freshly started server: warm-up, measured run,
a check that it still answers. Which goes first alternates; the floor is always next to
json, so that their ratio comes from two runs seconds apart. It prints the tables, writes
them to bench/results/answers.md and exits 0 whatever the numbers.

    .venv/bin/python bench/answers.py [--rounds 3] [--duration 10] [--db postgresql]
        [--scenario spread] [--code DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness

from floor_app import RESPONSE_TABLE, RESPONSE_TABLE_DDL  # noqa: E402
from handover import ensure_wrk  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.harness.processes import (  # noqa: E402
    HOST,
    DatabaseUnavailable,
    HailongServer,
    Process,
    free_port,
    fresh_database,
    hailong_env,
    run_hailong,
)

RESULTS_DIR = BENCH_DIR / "results"
ANSWER_LUA = BENCH_DIR / "answers.lua"
ISSUE_LUA = BENCH_DIR / "issue.lua"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
WRK_THREADS = 2
WRK_TIMEOUT = "2s"  # a slower answer counts as a wrk timeout error
SETTLE_TIMEOUT_S = 60.0
STALL_TIMEOUT_S = 2.0
DRAIN_TIMEOUT_S = 300.0
ISSUE_TIMEOUT_S = 600.0
TOKEN_BYTES = 44  # a survey token (43 characters of base64url) and its newline

AGENCIES = 50
DAYS = 120
STAFF_PER_AGENCY = 5
# Surveys to issue per run: the best rate seen so far (first guesses below) times the
# run's length, times this margin. A thread that runs out answers its list again (409s),
# which the results flag.
MARGIN = 1.5
FIRST_GUESS = {"json": 1500.0, "form": 800.0, "floor": 12000.0}  # answers per second

# The targets from the issue, checked on PostgreSQL.
TARGET_FLOOR_SHARE = 0.25
TARGET_JSON_RATE = 700.0
TARGET_FORM_RATE = 300.0
TARGET_P99_MS = 100.0
TARGET_CONNECTIONS = 32


@dataclass(frozen=True)
class Options:
    rounds: int
    duration: int
    warmup: int
    connections: int
    databases: list[str]
    scenarios: list[str]
    code_dir: Path | None


@dataclass(frozen=True)
class Database:
    kind: str  # "postgresql" or "sqlite"
    url: str
    name: str  # PostgreSQL's database name (its backends are found by it)
    workers: int


@dataclass(frozen=True)
class Scenario:
    name: str
    agencies: list[str]
    days: list[date]
    staff: int

    def plan(self, size: int = 12_000) -> list[str]:
        """Handovers to issue, "agency|day|staff" lines in a random order."""
        rng = random.Random(f"plan-{self.name}")
        return [
            f"{rng.choice(self.agencies)}|{rng.choice(self.days).isoformat()}|"
            f"CB{rng.randrange(self.staff) + 1:02d}"
            for _ in range(size)
        ]


def scenarios() -> dict[str, Scenario]:
    yesterday = date.today() - timedelta(days=1)
    agencies = [f"79.A{n:02d}" for n in range(1, AGENCIES + 1)]
    return {
        "spread": Scenario(
            "spread",
            agencies,
            [yesterday - timedelta(days=n) for n in range(DAYS)],
            STAFF_PER_AGENCY,
        ),
        "one-day": Scenario("one-day", agencies[:1], [yesterday], 1),
    }


@dataclass
class Result:
    target: str  # "json", "form" or "floor"
    db: str
    scenario: str
    workers: int
    connections: int
    requests: int  # wrk's responses (form: two per answer)
    answers_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    stalled: bool
    exhausted: int  # times a wrk thread ran out of surveys (its answers then got 409)
    answered_2xx: int  # answers wrk saw succeed
    stored: int  # rows of this run found in the database afterwards
    server_cpu_ms: float  # per answer, the server's processes (from /proc)
    db_cpu_ms: float | None  # per answer, PostgreSQL's backends of this database
    load: str  # the machine's load average when the run started


# -- setup -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of json, floor, form")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--db",
        action="append",
        choices=["postgresql", "sqlite"],
        help="database to run on (repeatable; default: both)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=["spread", "one-day"],
        help="which surveys are answered (repeatable; default: both)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        help="serve the service found in this directory (e.g. a `git archive` of another "
        "commit) instead of the installed one",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.connections < WRK_THREADS:
        parser.error(f"--connections must be at least {WRK_THREADS} (one per wrk thread)")
    if args.code is not None and not (args.code / "service" / "app.py").exists():
        parser.error(f"--code {args.code}: no service/app.py there")
    return Options(
        args.rounds,
        args.duration,
        args.warmup,
        args.connections,
        args.db or ["postgresql", "sqlite"],
        args.scenario or ["spread", "one-day"],
        args.code.resolve() if args.code else None,
    )


@contextmanager
def open_database(kind: str, workdir: Path) -> Iterator[Database]:
    if kind == "sqlite":
        yield Database("sqlite", f"sqlite:///{workdir / 'bench.db'}", "", workers=1)
        return
    # Per run: two runs at once (two sessions on one machine) must not drop each other's.
    name = f"hailong_bench_answers_{os.getpid()}"
    try:
        with fresh_database(name) as url:
            yield Database("postgresql", url, name, workers=2)
    except DatabaseUnavailable as exc:
        raise SystemExit(f"{exc}\nStart PostgreSQL, or run with --db sqlite") from None


def execute(url: str, statement: str, params: dict[str, Any] | None = None) -> Any:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params or {})
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def scalar(url: str, statement: str, params: dict[str, Any] | None = None) -> int:
    return int(execute(url, statement, params)[0][0])


def prepare(env: dict[str, str], workdir: Path, url: str, kind: str) -> str:
    """Migrate, add province 79 and its 50 agencies, create the floor's table; the issuer
    key."""
    run_hailong(env, workdir, "db", "upgrade")
    agencies = workdir / "agencies.csv"
    with agencies.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "name", "parent_code"])
        writer.writerow(["79", "Thành phố Hồ Chí Minh", ""])
        for n in range(1, AGENCIES + 1):
            writer.writerow([f"79.A{n:02d}", f"Phường số {n}", "79"])
    run_hailong(env, workdir, "agencies", "import", str(agencies))
    execute(url, RESPONSE_TABLE_DDL[kind])
    return run_hailong(env, workdir, "keys", "create", "--role", "issuer").strip().splitlines()[-1]


# -- issuing (not measured) ----------------------------------------------------------------
def issue(
    wrk: str, server: HailongServer, key: str, plan: Path, out: Path, tag: str, needed: int
) -> list[str]:
    """Issue at least `needed` surveys through wrk and issue.lua; their tokens."""
    prefix = out / f"issued-{tag}"
    command = [
        wrk, "-t", str(WRK_THREADS), "-c", "32", "-d", f"{int(ISSUE_TIMEOUT_S)}s",
        "--timeout", "10s", "-s", str(ISSUE_LUA), server.url, "--", key, str(plan),
        str(prefix), tag,
    ]  # fmt: skip
    files = [Path(f"{prefix}-T{n}.txt") for n in range(1, WRK_THREADS + 1)]
    for file in files:
        file.unlink(missing_ok=True)  # issue.lua appends: no token of an earlier database
    log = (RESULTS_DIR / f"wrk-issue-{tag}.txt").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + ISSUE_TIMEOUT_S
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if sum(f.stat().st_size for f in files if f.exists()) // TOKEN_BYTES >= needed:
                break
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # wrk prints its summary and exits
        process.wait(timeout=30)
        log.close()
    tokens = [t for f in files if f.exists() for t in f.read_text().split()]
    if len(tokens) < needed:
        print(f"  WARNING: issued {len(tokens)} surveys of the {needed} wanted", flush=True)
    return tokens


def wait_drained(url: str) -> None:
    """Until the webhook worker has dispatched every event and score marker the issuing
    made: otherwise it would work through them during the measured runs."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        left = scalar(
            url,
            "SELECT (SELECT count(*) FROM outbox_event WHERE dispatched_at IS NULL)"
            " + (SELECT count(*) FROM score_dirty)",
        )
        if left == 0:
            return
        time.sleep(0.5)
    print(f"  WARNING: the worker still had work after {DRAIN_TIMEOUT_S:.0f} s", flush=True)


@dataclass
class Tokens:
    """One run's surveys: per wrk thread for the warm-up and the measured run, and a few
    for the probes (settle, stall check)."""

    warmup: list[str]
    measured: list[str]
    probes: list[str]

    def write(self, directory: Path, tag: str) -> tuple[Path, Path]:
        prefixes = (directory / f"{tag}-warmup", directory / tag)
        for prefix, tokens in zip(prefixes, (self.warmup, self.measured), strict=True):
            for n in range(WRK_THREADS):
                lines = tokens[n::WRK_THREADS]
                Path(f"{prefix}-T{n + 1}.txt").write_text("\n".join(lines) + "\n")
        return prefixes


def sizes(rate: float, options: Options) -> tuple[int, int]:
    """Surveys for the warm-up and for the measured run at `rate` answers per second."""
    spare = options.connections * 2
    return (
        math.ceil(rate * options.warmup * MARGIN) + spare,
        math.ceil(rate * options.duration * MARGIN) + spare,
    )


def split(tokens: list[str], warmup: int, measured: int, probes: int = 20) -> Tokens:
    return Tokens(
        tokens[:warmup], tokens[warmup : warmup + measured], tokens[warmup + measured :][:probes]
    )


# -- probes --------------------------------------------------------------------------------
def answer_once(base: str, target: str, token: str, timeout: float) -> bool:
    """Answer one survey as wrk does; True when every step was answered 2xx in time."""
    answers = {
        "timeliness": "on_time",
        "supplement_requests": "none",
        "staff_attitude": "good",
        "overall": "satisfied",
    }
    try:
        if target == "form":
            with urllib.request.urlopen(f"{base}/s/{token}", timeout=timeout):
                pass
            body = urllib.parse.urlencode({"lang": "vi", **answers, "complaint": ""}).encode()
            request = urllib.request.Request(f"{base}/s/{token}", body)
        else:
            payload = {
                "token": token,
                "answers": answers,
                "source": "phone",
                "client_submission_id": f"probe-{secrets.token_hex(8)}",
            }
            request = urllib.request.Request(
                f"{base}/api/v1/responses",
                json.dumps(payload).encode(),
                {"Content-Type": "application/json"},
            )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return 200 <= status < 300
    except OSError:  # refused, timed out, or answered non-2xx (HTTPError)
        return False


def settle(base: str, target: str, probes: list[str]) -> None:
    """Wait until the server answers a new survey after the warm-up (wrk leaves a request in
    flight on every connection: measuring on top of them would start with twice the load)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while probes and time.monotonic() < deadline:
        if answer_once(base, target, probes.pop(), timeout=5.0):
            return
        time.sleep(0.5)
    print(f"  WARNING: no answer within {SETTLE_TIMEOUT_S:.0f} s after the warm-up", flush=True)


# -- CPU from /proc ----------------------------------------------------------------------------
def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def backend_pids(database: Database) -> list[int]:
    if database.kind != "postgresql":
        return []
    rows = execute(
        database.url,
        "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()",
        {"name": database.name},
    )
    return [int(r[0]) for r in rows]


# -- one run -------------------------------------------------------------------------------
def run_wrk(
    wrk: str, base: str, mode: str, prefix: Path, tag: str, seconds: int, connections: int
) -> dict[str, Any]:
    command = [
        wrk, "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s",
        "--timeout", WRK_TIMEOUT, "-s", str(ANSWER_LUA), base, "--", mode, str(prefix), tag,
        str(connections),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    (RESULTS_DIR / f"wrk-{tag}.txt").write_text(completed.stdout + completed.stderr)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            numbers: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            # answers.lua undoes wrk's latency correction to redo it per answer: one
            # latency per completed answer (give or take those in flight at the end), or
            # it took the wrong interval and its percentiles mean nothing.
            if abs(numbers["latencies"] - numbers["answers_completed"]) > connections:
                raise RuntimeError(
                    f"answers.lua recovered {numbers['latencies']} latencies for "
                    f"{numbers['answers_completed']} answers: its p50/p99 cannot be trusted"
                )
            return numbers
    raise RuntimeError(f"wrk printed no BENCH_RESULT line:\n{completed.stdout}{completed.stderr}")


def stored_rows(database: Database, target: str, tag: str, tokens: list[str]) -> int:
    if target == "floor":
        return scalar(
            database.url,
            f"SELECT count(*) FROM {RESPONSE_TABLE} WHERE client_submission_id LIKE :p",
            {"p": f"bench-{tag}-T%"},
        )
    # The responses to this run's surveys, found by their token hashes, as hailong does.
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    found = 0
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        marks = ", ".join(f":h{n}" for n in range(len(chunk)))
        found += scalar(
            database.url,
            "SELECT count(*) FROM response r JOIN invitation i ON i.id = r.invitation_id "
            f"WHERE i.token_hash IN ({marks})",
            {f"h{n}": h for n, h in enumerate(chunk)},
        )
    return found


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Rig:
    """What every run of one database needs."""

    wrk: str
    database: Database
    options: Options
    workdir: Path
    env: dict[str, str]
    rates: dict[str, float] = field(default_factory=lambda: dict(FIRST_GUESS))

    def server(self, target: str) -> tuple[Process, str]:
        """The server to measure (not started yet) and its base URL."""
        name = "floor" if target == "floor" else "hailong"
        log = RESULTS_DIR / f"server-{name}-{self.database.kind}.log"
        if target != "floor":
            server = HailongServer(
                self.database.url,
                log,
                secret_key=SECRET_KEY,
                workers=self.database.workers,
                cwd=self.workdir,
                code_dir=self.options.code_dir,
            )
            return server, server.url
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "floor_app:app", "--app-dir", str(BENCH_DIR),
            "--host", HOST, "--port", str(port), "--workers", str(self.database.workers),
            "--lifespan", "on", "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        env = {**os.environ, "FLOOR_DATABASE_URL": self.database.url}
        base = f"http://{HOST}:{port}"
        return Process(command, env=env, log_path=log, cwd=self.workdir, ready_url=base), base

    def measure(self, target: str, scenario: str, number: int, tokens: Tokens) -> Result:
        options, database = self.options, self.database
        tag = f"{target}-{database.kind}-{scenario}-r{number}"
        warmup_prefix, measured_prefix = tokens.write(self.workdir, tag)
        mode = "form" if target == "form" else "json"
        server, base = self.server(target)
        with server:
            load = load_average()
            print(f"  {tag}: warm-up {options.warmup} s, then {options.duration} s", flush=True)
            run_wrk(
                self.wrk,
                base,
                mode,
                warmup_prefix,
                f"{tag}-warmup",
                options.warmup,
                options.connections,
            )
            settle(base, target, tokens.probes)
            pids = server.pids()
            backends = backend_pids(database)
            cpu_before = cpu_seconds(pids), cpu_seconds(backends)
            raw = run_wrk(
                self.wrk, base, mode, measured_prefix, tag, options.duration, options.connections
            )
            cpu_after = cpu_seconds(pids), cpu_seconds(backends)
            probe = tokens.probes.pop() if tokens.probes else secrets.token_urlsafe(32)
            stalled = not answer_once(base, target, probe, timeout=STALL_TIMEOUT_S)
        # answers.lua says how many requests make an answer: divided by two while it sent
        # three, the form's rates from 7f515ca to the fifteenth look were 1.5 times too high.
        answers = raw["requests"] / raw["requests_per_answer"]
        answered = raw["thank_you_pages"] if target == "form" else raw["requests"] - raw["errors"]
        rate = answers / raw["duration_s"] if raw["duration_s"] else 0.0
        # Real surveys cost an issuing each, so their estimate follows the rounds; the
        # floor's are made up for free and never go below the first guess.
        keep = number > 1 or target == "floor"
        self.rates[target] = max(self.rates[target] if keep else 0.0, rate)
        return Result(
            target=target,
            db=database.kind,
            scenario=scenario,
            workers=database.workers,
            connections=options.connections,
            requests=raw["requests"],
            answers_per_s=rate,
            p50_ms=raw["p50_ms"],
            p99_ms=raw["p99_ms"],
            errors=raw["errors"],
            stalled=stalled,
            exhausted=raw["exhausted"],
            answered_2xx=answered,
            stored=stored_rows(database, target, tag, tokens.measured),
            server_cpu_ms=1000 * (cpu_after[0] - cpu_before[0]) / answers if answers else 0.0,
            db_cpu_ms=(
                1000 * (cpu_after[1] - cpu_before[1]) / answers
                if answers and database.kind == "postgresql"
                else None
            ),
            load=load,
        )


@dataclass(frozen=True)
class Round:
    number: int
    results: dict[str, Result]

    @property
    def ratio(self) -> float:
        floor = self.results.get("floor")
        json_ = self.results.get("json")
        return json_.answers_per_s / floor.answers_per_s if json_ and floor else 0.0


def issue_round(
    rig: Rig, scenario: Scenario, plan: Path, key: str, number: int
) -> dict[str, Tokens]:
    """Issue the surveys of one round's json and form runs on a server of its own, then wait
    until its webhook worker is idle; the floor gets made-up tokens."""
    wanted = {t: sizes(rig.rates[t], rig.options) for t in ("json", "form", "floor")}
    needed = sum(w + m + 20 for t, (w, m) in wanted.items() if t != "floor")
    tag = f"{rig.database.kind}-{scenario.name}-r{number}"
    print(f"  issuing {needed:,} surveys ({scenario.name})", flush=True)
    started = time.monotonic()
    log = RESULTS_DIR / f"server-issuing-{rig.database.kind}.log"
    with HailongServer(
        rig.database.url,
        log,
        secret_key=SECRET_KEY,
        workers=rig.database.workers,
        cwd=rig.workdir,
        code_dir=rig.options.code_dir,
    ) as server:
        tokens = issue(rig.wrk, server, key, plan, rig.workdir, tag, needed)
        wait_drained(rig.database.url)
    print(f"  issued {len(tokens):,} in {time.monotonic() - started:.0f} s", flush=True)
    random.Random(tag).shuffle(tokens)
    w, m = wanted["json"]
    json_tokens = split(tokens, w, m)
    rest = tokens[w + m + 20 :]
    w, m = wanted["form"]
    form_tokens = split(rest, w, m)
    w, m = wanted["floor"]
    made_up = [secrets.token_urlsafe(32) for _ in range(w + m + 20)]
    return {"json": json_tokens, "form": form_tokens, "floor": split(made_up, w, m)}


def bench_scenario(rig: Rig, scenario: Scenario, key: str) -> list[Round]:
    plan = rig.workdir / f"plan-{scenario.name}.txt"
    plan.write_text("\n".join(scenario.plan()) + "\n")
    rounds = []
    for number in range(1, rig.options.rounds + 1):
        tokens = issue_round(rig, scenario, plan, key, number)
        # The floor sits between json and form, so that json ÷ floor comes from two runs
        # seconds apart; the order alternates so that a drifting machine favours nobody.
        order = ["json", "floor", "form"] if number % 2 else ["form", "floor", "json"]
        results = {t: rig.measure(t, scenario.name, number, tokens[t]) for t in order}
        rounds.append(Round(number, results))
        print(
            f"  round {number}: json {results['json'].answers_per_s:,.0f}/s, form "
            f"{results['form'].answers_per_s:,.0f}/s, floor {results['floor'].answers_per_s:,.0f}"
            f"/s, json ÷ floor {rounds[-1].ratio:.2f}",
            flush=True,
        )
    return rounds


@dataclass(frozen=True)
class ScenarioRun:
    db: str
    scenario: str
    rounds: list[Round]

    def summary(self, target: str) -> Result:
        """Median throughput and p50, the worst round's p99; errors and rows of all rounds."""
        results = [r.results[target] for r in self.rounds]
        first = results[0]
        return Result(
            target=target,
            db=first.db,
            scenario=first.scenario,
            workers=first.workers,
            connections=first.connections,
            requests=sum(r.requests for r in results),
            answers_per_s=statistics.median(r.answers_per_s for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=max(r.p99_ms for r in results),
            errors=sum(r.errors for r in results),
            stalled=any(r.stalled for r in results),
            exhausted=sum(r.exhausted for r in results),
            answered_2xx=sum(r.answered_2xx for r in results),
            stored=sum(r.stored for r in results),
            server_cpu_ms=statistics.median(r.server_cpu_ms for r in results),
            db_cpu_ms=(
                statistics.median(r.db_cpu_ms for r in results if r.db_cpu_ms is not None)
                if first.db_cpu_ms is not None
                else None
            ),
            load=" / ".join(r.load.split()[0] for r in results),
        )

    @property
    def ratio(self) -> float:
        return statistics.median(r.ratio for r in self.rounds)


def bench_database(
    wrk: str, database: Database, options: Options, workdir: Path
) -> list[ScenarioRun]:
    print(f"{database.kind}: {database.workers} worker(s), {options.rounds} round(s)", flush=True)
    env = hailong_env(database.url, secret_key=SECRET_KEY, code_dir=options.code_dir)
    key = prepare(env, workdir, database.url, database.kind)
    for name in ("hailong", "floor", "issuing"):
        (RESULTS_DIR / f"server-{name}-{database.kind}.log").unlink(missing_ok=True)
    rig = Rig(wrk, database, options, workdir, env)
    every = scenarios()
    return [
        ScenarioRun(database.kind, name, bench_scenario(rig, every[name], key))
        for name in options.scenarios
    ]


# -- report --------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(runs: list[ScenarioRun]) -> list[str]:
    lines = [
        "| scenario | target | db | workers | conns | answers/s | p50 ms | p99 ms | errors "
        "| 2xx / stored | json ÷ floor | server CPU ms/answer | PG CPU ms/answer | load |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for run in runs:
        for target in ("json", "form", "floor"):
            r = run.summary(target)
            flags = (" (stalled)" if r.stalled else "") + (
                f" (ran out ×{r.exhausted})" if r.exhausted else ""
            )
            ratio = f"{run.ratio:.2f}" if target == "json" else "—"
            lines.append(
                f"| {r.scenario} | {r.target} | {r.db} | {r.workers} | {r.connections} | "
                f"{r.answers_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors}{flags} | "
                f"{r.answered_2xx:,} / {r.stored:,} | {ratio} | {_ms(r.server_cpu_ms)} | "
                f"{_ms(r.db_cpu_ms)} | {r.load} |"
            )
    return lines


def rounds_table(runs: list[ScenarioRun]) -> list[str]:
    lines = [
        "| db | scenario | round | json /s | floor /s | ratio | form answers/s | json p99 ms "
        "| form p99 ms | floor p99 ms | load at json |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        for r in run.rounds:
            j, f, fl = r.results["json"], r.results["form"], r.results["floor"]
            lines.append(
                f"| {run.db} | {run.scenario} | {r.number} | {j.answers_per_s:,.0f} | "
                f"{fl.answers_per_s:,.0f} | {r.ratio:.2f} | {f.answers_per_s:,.0f} | "
                f"{j.p99_ms:.1f} | {f.p99_ms:.1f} | {fl.p99_ms:.1f} | {j.load} |"
            )
    return lines


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def target_checks(runs: list[ScenarioRun]) -> list[str]:
    lines = []
    for run in runs:
        informational = (
            "" if run.db == "postgresql" else " (informational: targets are for PostgreSQL)"
        )
        lines.append(f"Targets on {run.db}, {run.scenario}{informational}:")
        json_, form = run.summary("json"), run.summary("form")
        lines.append(
            f"- {verdict(run.ratio >= TARGET_FLOOR_SHARE)}: json ≥ {TARGET_FLOOR_SHARE} × floor "
            f"(median of {len(run.rounds)} rounds' ratios) — {run.ratio:.2f}"
        )
        lines.append(
            f"- {verdict(json_.answers_per_s >= TARGET_JSON_RATE)}: json ≥ "
            f"{TARGET_JSON_RATE:.0f} answers/s — {json_.answers_per_s:,.0f}"
        )
        lines.append(
            f"- {verdict(form.answers_per_s >= TARGET_FORM_RATE)}: form ≥ "
            f"{TARGET_FORM_RATE:.0f} answers/s (GET, POST, thanks) — {form.answers_per_s:,.0f}"
        )
        for r in (json_, form):
            at = "" if r.connections == TARGET_CONNECTIONS else f" (measured at {r.connections})"
            lines.append(
                f"- {verdict(r.p99_ms <= TARGET_P99_MS)}: {r.target} p99 ≤ {TARGET_P99_MS:.0f} ms "
                f"at {TARGET_CONNECTIONS} connections{at}, worst round — {r.p99_ms:.1f} ms"
            )
            stalled = ", and it stopped answering" if r.stalled else ""
            lines.append(
                f"- {verdict(r.errors == 0 and not r.stalled)}: {r.target} zero errors — "
                f"{r.errors}{stalled}"
            )
    return lines


def storage_checks(runs: list[ScenarioRun]) -> list[str]:
    """Every answer wrk saw succeed is stored. The database may hold a few more (answers in
    flight when the run ended, which the server still completed), never fewer."""
    lines = []
    for run in runs:
        for round_ in run.rounds:
            for r in round_.results.values():
                if r.stored < r.answered_2xx:
                    lines.append(
                        f"WARNING: {r.target} on {r.db}, {r.scenario}, round {round_.number}: "
                        f"{r.answered_2xx} answers succeeded but {r.stored} rows are stored"
                    )
                if r.exhausted:
                    lines.append(
                        f"WARNING: {r.target} on {r.db}, {r.scenario}, round {round_.number}: "
                        f"wrk ran out of surveys {r.exhausted} times (raise FIRST_GUESS)"
                    )
    if not lines:
        lines.append("Stored rows: every answer answered 2xx is in the database (all runs).")
    return lines


def report(runs: list[ScenarioRun], options: Options) -> str:
    code = f", service from {options.code_dir}" if options.code_dir else ""
    header = (
        f"# Answer benchmark, {datetime.now():%Y-%m-%d %H:%M}{code}\n\n"
        f"json: POST /api/v1/responses; form: GET /s/{{token}}, POST it (303), GET its thanks "
        f"(one answer, timed as the three); floor: bench/floor_app.py, one INSERT. "
        f"wrk {WRK_THREADS} threads, "
        f"{options.connections} connections, {options.rounds} round(s) of {options.duration} s "
        f"measured after {options.warmup} s of warm-up per target, every answer to a survey "
        f"of its own. {os.cpu_count()} CPU cores shared by wrk, the server and the database. "
        "answers/s, p50 and CPU: the median round; p99: the worst round; errors, 2xx and "
        "stored: all rounds; json ÷ floor: the median of the rounds' ratios; load: the "
        "1-minute load average as each round's run started.\n"
    )
    body = [
        *table(runs),
        "",
        "Rounds:",
        "",
        *rounds_table(runs),
        "",
        *target_checks(runs),
        "",
        *storage_checks(runs),
    ]
    return header + "\n" + "\n".join(body) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    wrk = ensure_wrk()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    runs: list[ScenarioRun] = []
    with tempfile.TemporaryDirectory(prefix="hailong-answers-") as tmp:
        for kind in options.databases:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            with open_database(kind, workdir) as database:
                runs.extend(bench_database(wrk, database, options, workdir))
    text_report = report(runs, options)
    (RESULTS_DIR / "answers.md").write_text(text_report)
    print("\n" + text_report)
    print(f"written to {RESULTS_DIR / 'answers.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
