"""Where an answer's time goes: POST /api/v1/responses profiled on PostgreSQL.

Not a benchmark (bench/answers.py is): it serves hailong with 2 workers on a fresh database,
issues surveys as bench/answers.py does, and then

1. counts the statements of single answers: the database logs every statement of its own
   sessions (`ALTER DATABASE ... SET log_statement = 'all'`), the webhook worker is off,
   and 20 answers are posted one at a time between markers;
2. loads it with wrk (32 connections) for `--duration` seconds per scenario while
   - py-spy records one server process (`--gil`: what holds the interpreter) and the other
     one (every thread that is not idle), as collapsed stacks;
   - pg_stat_activity is sampled every 20 ms for this database's backends: what they wait
     for, and, for a lock, which statement waits;
   - pg_stat_database (commits, rollbacks), pg_stat_wal (WAL syncs) and the CPU of the
     server's processes and of the backends (/proc) are read before and after;
3. prints it all as JSON and writes it to bench/results/profile-answers.json (the raw
   py-spy stacks beside it).

    .venv/bin/python bench/profile_answers.py [--duration 20] [--code DIR]
    .venv/bin/python bench/profile_answers.py --cprofile 400 [--code DIR]

`--cprofile N` measures something else, without wrk, py-spy or the log: N answers of each
kind posted one at a time through the app in this process, under cProfile with CPU time
per thread (the event loop and the writer threads apart). Profiled time is inflated, but
its shares hold; the .prof files go to bench/results/.

Needs py-spy (in the dev lock: `make setup` installs it) and read access to
PostgreSQL's log (/var/log/postgresql/postgresql-15-main.log, Debian's default).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

# answers.py puts the repository on sys.path (tests.harness): import it first.
from answers import (
    ANSWER_LUA,
    RESULTS_DIR,
    SECRET_KEY,
    WRK_THREADS,
    Database,
    Tokens,
    answer_once,
    backend_pids,
    cpu_seconds,
    ensure_wrk,
    execute,
    issue,
    load_average,
    prepare,
    scenarios,
    wait_drained,
)
from sqlalchemy import create_engine, text

from tests.harness.processes import HailongServer, fresh_database, hailong_env

PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")
SAMPLE_EVERY_S = 0.02


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--code", type=Path, help="serve the service found in this directory")
    parser.add_argument(
        "--cprofile",
        type=int,
        metavar="N",
        help="instead: N answers of each kind in this process, one at a time, under cProfile "
        "(CPU time per thread: the event loop's and the writer threads'), then exit",
    )
    return parser.parse_args(argv)


# -- statements per answer ---------------------------------------------------------------------
def log_offset() -> int:
    return PG_LOG.stat().st_size if PG_LOG.exists() else 0


def marker(url: str, label: str) -> None:
    execute(url, f"SELECT 'profile-marker-{label}'")


def statements_between(database: Database, start: int, first: str, last: str) -> list[str]:
    """This database's logged statements between two markers."""
    with PG_LOG.open("rb") as log:
        log.seek(start)
        lines = log.read().decode("utf-8", errors="replace").splitlines()
    tag = f"@{database.name} "
    statements: list[str] = []
    inside = False
    for line in lines:
        if tag not in line:
            continue
        if f"profile-marker-{first}" in line:
            inside = True
            continue
        if f"profile-marker-{last}" in line:
            break
        found = re.search(r"LOG:  (?:statement|execute [^:]*): (.*)$", line)
        if inside and found:
            statements.append(found.group(1))
    return statements


def shape(statement: str) -> str:
    """A statement without its values: its verb and table."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1)}" if table and verb not in ("BEGIN", "COMMIT") else verb


def count_statements(
    database: Database, workdir: Path, options: argparse.Namespace, tokens: list[str]
) -> dict[str, Any]:
    """Post answers one at a time, JSON then form, and read back what the database ran."""
    execute(database.url, f"ALTER DATABASE {database.name} SET log_statement = 'all'")
    results: dict[str, Any] = {}
    try:
        with HailongServer(
            database.url,
            RESULTS_DIR / "server-profile.log",
            secret_key=SECRET_KEY,
            workers=1,
            cwd=workdir,
            code_dir=options.code,
            settings={"embedded_worker": "false"},
        ) as server:
            for target, count in (("json", 20), ("form", 10)):
                for _ in range(3):  # caches filled, statements prepared
                    answer_once(server.url, target, tokens.pop(), timeout=10)
                start = log_offset()
                marker(database.url, f"{target}-start")
                for _ in range(count):
                    assert answer_once(server.url, target, tokens.pop(), timeout=10)
                marker(database.url, f"{target}-end")
                time.sleep(1)  # the log is written by another process
                statements = statements_between(database, start, f"{target}-start", f"{target}-end")
                shapes = collections.Counter(shape(s) for s in statements)
                results[target] = {
                    "answers": count,
                    "statements": len(statements),
                    "per_answer": {k: v / count for k, v in shapes.most_common()},
                    "example": statements[: len(statements) // count],
                }
    finally:
        execute(database.url, f"ALTER DATABASE {database.name} RESET log_statement")
    return results


# -- sampling during the load ------------------------------------------------------------------
class ActivitySampler(threading.Thread):
    """pg_stat_activity of this database every 20 ms: state and wait event per backend, and
    for a backend waiting on a lock, its statement and the lock it wants."""

    def __init__(self, database: Database) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stop = threading.Event()
        self.samples = 0
        self.states: collections.Counter[str] = collections.Counter()
        self.lock_waits: collections.Counter[str] = collections.Counter()

    def run(self) -> None:
        engine = create_engine(self.database.url, isolation_level="AUTOCOMMIT")
        query = text(
            "SELECT a.state, a.wait_event_type, a.wait_event, left(a.query, 90), "
            "(SELECT string_agg(DISTINCT l.locktype || coalesce(':' || l.relation::regclass, ''),"
            " ',') FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) "
            "FROM pg_stat_activity a WHERE a.datname = :name AND a.pid <> pg_backend_pid() "
            "AND a.backend_type = 'client backend'"
        )
        with engine.connect() as connection:
            while not self.stop.is_set():
                rows = connection.execute(query, {"name": self.database.name}).all()
                self.samples += 1
                for state, wait_type, wait, query_text, wanted in rows:
                    if state == "active" and wait_type is None:
                        key = "active: on CPU"
                    elif state == "active":
                        key = f"active: waiting {wait_type}/{wait}"
                    else:
                        key = f"{state}" + (f" ({wait_type}/{wait})" if wait_type else "")
                    self.states[key] += 1
                    if wait_type == "Lock":
                        self.lock_waits[f"{wait} on {wanted}: {query_text}"] += 1
                time.sleep(SAMPLE_EVERY_S)
        engine.dispose()


def stats(database: Database) -> dict[str, float]:
    row = execute(
        database.url,
        "SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_bytes, w.wal_sync, "
        "w.wal_write FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = :name",
        {"name": database.name},
    )[0]
    keys = ("commits", "rollbacks", "wal_records", "wal_bytes", "wal_syncs", "wal_writes")
    return {k: float(v) for k, v in zip(keys, row, strict=True)}


def py_spy(pid: int, seconds: int, out: Path, gil: bool) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    command = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
    command += ["--format", "raw", "--output", str(out), "--nonblocking"]
    if gil:
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stacks(path: Path) -> list[tuple[list[str], int]]:
    found = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames:
            found.append((frames.split(";"), int(count)))
    return found


def where(frame: str) -> str:
    """The package a frame belongs to (service modules by their file)."""
    path = "/" + frame[frame.find("(") + 1 : frame.rfind(":")]
    for package in (
        "sqlalchemy", "psycopg", "pydantic", "fastapi", "starlette", "uvicorn", "anyio",
        "jinja2", "sqlmodel", "asyncio", "httptools", "threading", "concurrent",
    ):  # fmt: skip
        if f"/{package}/" in path or path.endswith(f"/{package}.py"):
            return package
    if "/service/" in path:
        return "service/" + path.split("/service/", 1)[1]
    return Path(path).name or frame


# Parts of the answer path, each the share of samples with a frame containing the text.
PARTS = {
    "event loop (uvicorn, Starlette, FastAPI, middleware)": "_main (",
    "  uvicorn's HTTP protocol": "httptools_impl.py",
    "  FastAPI dependencies": "solve_dependencies",
    "unit of work thread (UnitOfWork._run)": "UnitOfWork._run",
    "writer threads (write_pipeline.py)": "_run (service/write_pipeline.py",
    "  throttle count and survey lookup, one statement (Guess.look_counting)": "look_counting (",
    "  the survey's lookup (Core: invitation, dossier, agency, answer)": "_find (service/surveys",
    "  checked_json_answers": "checked_json_answers",
    "  service.store (the answer's writes)": "store (service/surveys/service.py",
    "    _claim_and_insert (claim UPDATE and response INSERT)": "_claim_and_insert (",
    "    events.record_change (counters)": "record_change",
    "    Session.flush (ORM: only comments and contacts)": "Session.flush",
    "  SAVEPOINT and RELEASE (db.part)": "part (service/db.py",
    "  db.commit (counters, markers, events, COMMIT)": "commit (service/db.py",
    "SQLAlchemy compile + cache keys": "compile (",
    "SQLAlchemy ORM loading (rows to objects)": "loading.py",
    "psycopg execute": "_execute_gen",
    "psycopg pipeline": "(psycopg/_pipeline.py",
    "webhook worker": "DeliveryWorker",
}


def breakdown(samples: list[tuple[list[str], int]]) -> dict[str, float]:
    total = sum(n for _, n in samples) or 1
    return {
        label: round(
            100 * sum(n for frames, n in samples if any(mark in f for f in frames)) / total, 1
        )
        for label, mark in PARTS.items()
    }


def top(samples: Iterable[tuple[list[str], int]], limit: int = 25) -> dict[str, Any]:
    """Self time by package, and inclusive time by function, in % of the samples."""
    samples = list(samples)
    total = sum(n for _, n in samples) or 1
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, n in samples:
        own[where(frames[-1])] += n
        for frame in set(frames):
            if "(" in frame:
                inclusive[frame.split(" (")[0] + " " + where(frame)] += n
    return {
        "samples": total,
        "self_by_package": [(k, round(100 * v / total, 1)) for k, v in own.most_common(limit)],
        "inclusive_by_function": [
            (k, round(100 * v / total, 1)) for k, v in inclusive.most_common(limit * 2)
        ],
    }


def load(
    wrk: str,
    database: Database,
    server: HailongServer,
    options: argparse.Namespace,
    prefix: Path,
    label: str,
) -> dict[str, Any]:
    workers = server.worker_pids()
    warm = [
        wrk, "-t", str(WRK_THREADS), "-c", str(options.connections), "-d", "3s",
        "--timeout", "2s", "-s", str(ANSWER_LUA), server.url, "--",
        "json", f"{prefix}-warmup", f"profile-{label}-warmup", str(options.connections),
    ]  # fmt: skip
    subprocess.run(warm, capture_output=True, check=True)  # the pools fill up
    sampler = ActivitySampler(database)
    backends = backend_pids(database)
    cpu_before = cpu_seconds(server.pids()), cpu_seconds(backends)
    before = stats(database)
    spies = [
        py_spy(workers[0], options.duration - 2, RESULTS_DIR / f"pyspy-{label}-gil.txt", True),
        py_spy(workers[-1], options.duration - 2, RESULTS_DIR / f"pyspy-{label}-all.txt", False),
    ]
    sampler.start()
    started = load_average()
    command = [
        wrk, "-t", str(WRK_THREADS), "-c", str(options.connections), "-d",
        f"{options.duration}s", "--timeout", "2s", "-s", str(ANSWER_LUA), server.url, "--",
        "json", str(prefix), f"profile-{label}", str(options.connections),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    sampler.stop.set()
    sampler.join()
    for spy in spies:
        spy.wait(timeout=60)
    after = stats(database)
    cpu_after = cpu_seconds(server.pids()), cpu_seconds(backends)
    raw = json.loads(done.stdout.split("BENCH_RESULT ", 1)[1].splitlines()[0])
    answers = raw["requests"] or 1
    per_answer = {k: (after[k] - before[k]) / answers for k in after}
    samples = sampler.samples or 1
    return {
        "load_average": started,
        "wrk": raw,
        "per_answer": per_answer,
        "server_cpu_ms": 1000 * (cpu_after[0] - cpu_before[0]) / answers,
        "backend_cpu_ms": 1000 * (cpu_after[1] - cpu_before[1]) / answers,
        "backends_by_state": {
            k: round(v / samples, 2) for k, v in sampler.states.most_common()
        },  # mean number of backends in each state
        "lock_waits": {k: round(v / samples, 3) for k, v in sampler.lock_waits.most_common(8)},
        "parts_gil": breakdown(stacks(RESULTS_DIR / f"pyspy-{label}-gil.txt")),
        "profile_gil": top(stacks(RESULTS_DIR / f"pyspy-{label}-gil.txt")),
        "profile_all": top(stacks(RESULTS_DIR / f"pyspy-{label}-all.txt")),
    }


# -- in this process, under cProfile -----------------------------------------------------------
def in_process(answers: int, code: Path | None) -> dict[str, Any]:
    """CPU time (per thread) of `answers` JSON answers and as many form answers (GET, POST,
    thanks), sent one at a time through the app in this process (httpx's ASGI transport):
    the event loop's part and the writer threads' part (WritePipeline._finish) profiled apart,
    written to RESULTS_DIR/cprofile-{loop,writer}-{json,form}.prof, the top functions printed."""
    import asyncio
    import cProfile
    import pstats
    import uuid

    if code is not None:
        sys.path.insert(0, str(code))
    import httpx

    from service import write_pipeline
    from service.admin.agencies import upsert_agency
    from service.admin.keys import create_key
    from service.app import create_app
    from service.db import make_engine, transaction
    from service.migrations import upgrade
    from tests.conftest import handover_body, make_settings

    profiles: dict[str, cProfile.Profile] = {}
    kind = ["warm-up"]
    finish = write_pipeline.WritePipeline._finish

    def profiled_finish(self: Any, items: Any, prepared: Any) -> Any:
        profile = profiles.setdefault(f"writer-{kind[0]}", cProfile.Profile(time.thread_time))
        profile.enable()
        try:
            return finish(self, items, prepared)
        finally:
            profile.disable()

    write_pipeline.WritePipeline._finish = profiled_finish  # type: ignore[method-assign]
    given = {"timeliness": "on_time", "supplement_requests": "none", "staff_attitude": "good"}

    async def run(app: Any, headers: dict[str, str]) -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                tokens = []
                for n in range(2 * answers + 40):
                    body = handover_body(dossier_code=f"G22.39-CPROFILE-{n:06d}")
                    issued = await client.post("/api/v1/handovers", json=body, headers=headers)
                    tokens.append(issued.json()["survey_url"].rsplit("/", 1)[1])

                async def json_answer(token: str, n: int) -> None:
                    overall = "unsatisfied" if n % 5 == 0 else "satisfied"
                    body = {
                        "token": token,
                        "answers": {**given, "overall": overall, "complaint": ""},
                        "source": "api",
                        "client_submission_id": str(uuid.uuid4()),
                    }
                    reply = await client.post("/api/v1/responses", json=body)
                    assert reply.status_code == 201, reply.text

                async def form_answer(token: str, n: int) -> None:
                    assert (await client.get(f"/s/{token}")).status_code == 200
                    overall = "unsatisfied" if n % 5 == 0 else "satisfied"
                    form = {**given, "overall": overall, "lang": "vi"}
                    assert (await client.post(f"/s/{token}", data=form)).status_code == 303
                    assert (await client.get(f"/s/{token}/thanks?lang=vi")).status_code == 200

                for n, token in enumerate(tokens[:20]):
                    await json_answer(token, n)
                for n, token in enumerate(tokens[20:40]):
                    await form_answer(token, n)
                left = tokens[40:]
                for name, answer in (("json", json_answer), ("form", form_answer)):
                    kind[0] = name
                    loop = profiles[f"loop-{name}"] = cProfile.Profile(time.thread_time)
                    loop.enable()
                    for n, token in enumerate(left[:answers]):
                        await answer(token, n)
                    loop.disable()
                    left = left[answers:]

    name = f"hailong_cprofile_{os.getpid()}"
    with fresh_database(name) as url:
        upgrade(url)
        settings = make_settings(url, secret_key=SECRET_KEY)
        engine = make_engine(settings)
        with transaction(engine) as session:
            upsert_agency(session, "79", "Thành phố Hồ Chí Minh", None, actor="bench")
            upsert_agency(session, "G22.39", "UBND Phường Tân Định", "79", actor="bench")
            _, raw = create_key(
                session, role="issuer", name="bench", agency_code=None, actor="bench"
            )
        engine.dispose()
        asyncio.run(run(create_app(settings), {"Authorization": f"Bearer {raw}"}))
    report: dict[str, Any] = {}
    for label in ("writer-json", "loop-json", "writer-form", "loop-form"):
        path = RESULTS_DIR / f"cprofile-{label}.prof"
        profiles[label].dump_stats(path)
        stats = pstats.Stats(str(path))
        report[label] = round(1000 * stats.total_tt / answers, 3)  # type: ignore[attr-defined]
        print(f"== {label}: {report[label]} ms of CPU per answer (profiled)", flush=True)
        stats.sort_stats("cumulative").print_stats(30)
    return report


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.code = options.code.resolve() if options.code else None
    if options.cprofile:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        print(json.dumps(in_process(options.cprofile, options.code), indent=2))
        return 0
    wrk = ensure_wrk()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"when": f"{datetime.now():%Y-%m-%d %H:%M}", "code": str(options.code)}
    name = f"hailong_profile_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="hailong-profile-") as tmp, fresh_database(name) as url:
        workdir = Path(tmp)
        database = Database("postgresql", url, name, workers=2)
        env = hailong_env(url, secret_key=SECRET_KEY, code_dir=options.code)
        key = prepare(env, workdir, url, "postgresql")
        for scenario in scenarios().values():
            plan = workdir / f"plan-{scenario.name}.txt"
            plan.write_text("\n".join(scenario.plan()) + "\n")
            wanted = 1000 * options.duration + 300
            with HailongServer(
                url,
                RESULTS_DIR / "server-profile.log",
                secret_key=SECRET_KEY,
                workers=2,
                cwd=workdir,
                code_dir=options.code,
            ) as server:
                tokens = issue(wrk, server, key, plan, workdir, f"profile-{scenario.name}", wanted)
                wait_drained(url)
            if scenario.name == "spread":
                report["statements"] = count_statements(database, workdir, options, tokens)
            prefix = workdir / f"profile-{scenario.name}"
            warmup = 200 * 3 + 100
            Tokens(tokens[:warmup], tokens[warmup:], []).write(workdir, prefix.name)
            with HailongServer(
                url,
                RESULTS_DIR / "server-profile.log",
                secret_key=SECRET_KEY,
                workers=2,
                cwd=workdir,
                code_dir=options.code,
            ) as server:
                print(f"{scenario.name}: load for {options.duration} s", flush=True)
                report[scenario.name] = load(wrk, database, server, options, prefix, scenario.name)
    out = RESULTS_DIR / "profile-answers.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
