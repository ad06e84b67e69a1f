"""How soon things happen: the latency promises that used to be timed assertions in tests.

The tests check that each thing happens (tests/kiosk/test_events.py,
tests/kiosk/test_kiosk_browser.py, tests/handovers/test_batching.py); this measures how
soon, on a real `hailong serve` (one process) and a fresh database, each figure beside a
floor measured in the same run:

    kiosk push   POST /api/v1/handovers for counter Q -> the survey event on Q's tablet
                 stream (GET /kiosk/api/events). Target: median <= 1 s ("within a
                 second"), slowest <= 2 s. Floor: the POST's own round trip (the event
                 cannot exist before the handover has committed).
    kiosk page   the same, to the dossier code visible on the kiosk page in Chromium.
                 Target: each <= 2 s. Floor: the POST's round trip in those rounds.
    writer stop  HandoverWriter.stop() after a batch failed because the database is down.
                 Target: each <= 5 s. Floor: stop() of an idle writer whose database is up.

It prints a table and writes it to bench/results/latency.md. It is a report, not a test:
it exits 0 whatever the numbers are.

    .venv/bin/python bench/latency.py [--db sqlite] [--pushes 20] [--pages 5] [--stops 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # the repository, for tests.harness and service

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from service.auth.principal import Principal  # noqa: E402
from service.handovers.batching import HandoverWriter  # noqa: E402
from service.handovers.schemas import HandoverCreate  # noqa: E402
from service.profile import profile_of  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.harness.processes import (  # noqa: E402
    DatabaseUnavailable,
    HailongServer,
    fresh_database,
    hailong_env,
    run_hailong,
)

RESULTS_DIR = BENCH_DIR / "results"
PG_DATABASE = f"hailong_bench_latency_{os.getpid()}"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
AGENCY = "G22.39"
CHROMIUM = Path("/usr/bin/chromium")
WAIT_S = 10.0  # how long to wait for something before calling it lost

# The targets the tests used to assert.
PUSH_MEDIAN_S, PUSH_MAX_S = 1.0, 2.0
PAGE_MAX_S = 2.0
STOP_MAX_S = 5.0


@dataclass(frozen=True)
class Row:
    figure: str
    db: str
    values: list[float]  # seconds, one per run
    floor: list[float]  # seconds, the floor's runs
    floor_is: str
    target: str
    ok: bool | None  # None: not measured
    note: str = ""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f}" if seconds < 0.01 else f"{seconds * 1000:,.1f}"


# --- a database and a server ------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'latency.db'}"
    else:
        with fresh_database(PG_DATABASE) as url:
            yield url


def prepare(url: str, workdir: Path) -> tuple[str, str]:
    """Migrate, add the agency, and make an admin and an issuer key."""
    env = hailong_env(url, secret_key=SECRET_KEY)
    run_hailong(env, workdir, "db", "upgrade")
    run_hailong(env, workdir, "agencies", "add", "79", "Thành phố Hồ Chí Minh")
    run_hailong(env, workdir, "agencies", "add", AGENCY, "UBND Phường Tân Định", "--parent", "79")
    keys = [
        run_hailong(env, workdir, "keys", "create", "--role", role).strip().splitlines()[-1]
        for role in ("admin", "issuer")
    ]
    return keys[0], keys[1]


def handover(code: str, counter: str) -> dict[str, object]:
    """API.md's example handover, for another dossier and counter."""
    return {
        "dossier_code": code,
        "agency_code": AGENCY,
        "procedure_code": "1.001612",
        "procedure_name": "Đăng ký khai sinh",
        "received_at": "2025-09-10T08:30:00+07:00",
        "due_at": "2025-09-15T17:00:00+07:00",
        "resolved_at": "2025-09-15T10:00:00+07:00",
        "handed_over_at": "2025-09-15T14:00:00+07:00",
        "supplement_requests": 0,
        "channel": "counter",
        "staff": {"receiving": "CB001", "handling": "CB002", "returning": "CB003"},
        "counter_code": counter,
        "language": "vi",
    }


@dataclass
class Office:
    """The server and the keys of one database."""

    url: str
    admin: str
    issuer: str

    def pairing_code(self, counter: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/kiosk/pairings",
            json={"agency_code": AGENCY, "counter_code": counter},
            headers={"Authorization": f"Bearer {self.admin}"},
        )
        response.raise_for_status()
        code: str = response.json()["code"]
        return code

    def hand_over(self, client: httpx.Client, code: str, counter: str) -> float:
        """Posts the handover; the time its 201 arrived (time.perf_counter)."""
        response = client.post(
            "/api/v1/handovers",
            json=handover(code, counter),
            headers={"Authorization": f"Bearer {self.issuer}"},
        )
        answered = time.perf_counter()
        if response.status_code != 201:
            raise RuntimeError(f"handover {code}: {response.status_code} {response.text}")
        return answered


# --- kiosk push: the event stream ----------------------------------------------------------


class Stream:
    """A paired tablet's event stream, read in a thread: when each survey arrived."""

    def __init__(self, office: Office, counter: str) -> None:
        self.client = httpx.Client(base_url=office.url)
        paired = self.client.post("/kiosk/api/pair", json={"code": office.pairing_code(counter)})
        paired.raise_for_status()  # the client keeps the device cookie
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.ready.wait(WAIT_S):
            raise RuntimeError("the tablet's event stream did not open")

    def _read(self) -> None:
        kind = ""
        with (
            contextlib.suppress(httpx.HTTPError),  # closed by close()
            self.client.stream("GET", "/kiosk/api/events", timeout=None) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    if kind == "ready":
                        self.ready.set()
                    elif kind == "survey":
                        code = json.loads(line[6:])["dossier_code"]
                        self.arrived.setdefault(code, time.perf_counter())

    def wait_for(self, code: str) -> float:
        deadline = time.monotonic() + WAIT_S
        while code not in self.arrived:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{code} never reached the tablet's stream")
            time.sleep(0.002)
        return self.arrived[code]

    def close(self) -> None:
        self.client.close()
        self._thread.join(timeout=5)


def measure_push(office: Office, db: str, runs: int, rng: random.Random) -> Row:
    stream = Stream(office, "Q-PUSH")
    delays, floor = [], []
    try:
        with httpx.Client(base_url=office.url) as issuer:
            for n in range(runs):
                # Posts land anywhere in the feed's polling cycle, as a counter's would.
                time.sleep(rng.uniform(0.1, 0.6))
                code = f"PUSH-{db}-{n}"
                posted = time.perf_counter()
                answered = office.hand_over(issuer, code, "Q-PUSH")
                delays.append(stream.wait_for(code) - posted)
                floor.append(answered - posted)
    finally:
        stream.close()
    ok = statistics.median(delays) <= PUSH_MEDIAN_S and max(delays) <= PUSH_MAX_S
    return Row(
        "kiosk push: handover → survey on its tablet's event stream",
        db,
        delays,
        floor,
        "the handover POST's round trip",
        f"median ≤ {PUSH_MEDIAN_S * 1000:,.0f} ms, max ≤ {PUSH_MAX_S * 1000:,.0f} ms",
        ok,
    )


# --- kiosk page: Chromium ------------------------------------------------------------------


def measure_page(office: Office, db: str, runs: int) -> Row:
    figure = "kiosk page: handover → dossier shown in Chromium"
    target = f"each ≤ {PAGE_MAX_S * 1000:,.0f} ms"
    floor_is = "the handover POST's round trip"
    if not CHROMIUM.exists():
        return Row(figure, db, [], [], floor_is, target, None, f"not run: no {CHROMIUM}")
    from playwright.sync_api import sync_playwright  # only this part needs a browser

    delays, floor = [], []
    with sync_playwright() as playwright, httpx.Client(base_url=office.url) as issuer:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for n in range(runs):
                counter = f"Q-PAGE-{n}"  # a tablet of its own each round, freshly paired
                context = browser.new_context(
                    viewport={"width": 800, "height": 1280},
                    has_touch=True,
                    locale="vi-VN",
                    base_url=office.url,
                )
                context.set_default_timeout(WAIT_S * 1000)
                page = context.new_page()
                page.goto("/kiosk")
                page.get_by_label("Mã ghép nối").fill(office.pairing_code(counter))
                page.get_by_role("button", name="Ghép nối").tap()
                page.get_by_role("heading", name="Kính chào ông/bà").wait_for()
                time.sleep(1.0)  # the page's event stream is open: measure the steady state
                code = f"PAGE-{db}-{n}"
                posted = time.perf_counter()
                answered = office.hand_over(issuer, code, counter)
                page.get_by_text(code).wait_for(state="visible")
                delays.append(time.perf_counter() - posted)
                floor.append(answered - posted)
                context.close()
        finally:
            browser.close()
    return Row(figure, db, delays, floor, floor_is, target, max(delays) <= PAGE_MAX_S)


# --- the handover writer's stop() ------------------------------------------------------------


def timed_stop(engine: sa.Engine, settings: Settings, fail_first: bool) -> float:
    writer = HandoverWriter(engine, settings, profile_of(settings))
    writer.start()
    try:
        if fail_first:
            principal = Principal(
                key_id=1, name="bench", role="issuer", scope_agency_id=None, scope_path=None
            )
            payload = HandoverCreate.model_validate(handover("DOWN-1", "Q01"))
            logging.disable(logging.ERROR)  # the writer logs the failed batch: expected here
            try:
                with contextlib.suppress(OperationalError):
                    asyncio.run(writer.issue(principal, payload))
            finally:
                logging.disable(logging.NOTSET)
    finally:
        started = time.perf_counter()
        writer.stop()
        took = time.perf_counter() - started
    engine.dispose()
    return took


def measure_stop(url: str, db: str, runs: int) -> Row:
    settings = Settings(
        database_url=url, secret_key=SECRET_KEY, log_requests=False, embedded_worker=False
    )
    down = (
        "sqlite:////nonexistent-directory/hailong.db"
        if db == "sqlite"
        else "postgresql+psycopg://postgres@127.0.0.1:1/hailong"
    )
    stops, floor = [], []
    for _ in range(runs):
        stops.append(timed_stop(sa.create_engine(down), settings, fail_first=True))
        floor.append(timed_stop(sa.create_engine(url), settings, fail_first=False))
    return Row(
        "writer stop(): after a batch failed, database down",
        db,
        stops,
        floor,
        "stop() of an idle writer, database up",
        f"each ≤ {STOP_MAX_S * 1000:,.0f} ms",
        max(stops) <= STOP_MAX_S,
    )


# --- the run ------------------------------------------------------------------------------


def run_database(kind: str, options: argparse.Namespace, rng: random.Random) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hailong-latency-") as tmp:
        workdir = Path(tmp)
        with database(kind, workdir) as url:
            admin, issuer = prepare(url, workdir)
            log = RESULTS_DIR / f"server-latency-{kind}.log"
            log.unlink(missing_ok=True)
            print(f"{kind}: hailong serve (1 process); server log {log}", flush=True)
            with HailongServer(url, log, secret_key=SECRET_KEY, workers=1, cwd=workdir) as server:
                office = Office(server.url, admin, issuer)
                steps: list[Callable[[], Row]] = [
                    lambda: measure_push(office, kind, options.pushes, rng),
                    lambda: measure_page(office, kind, options.pages),
                ]
                rows = []
                for step in steps:
                    rows.append(step())
                    print(f"  {rows[-1].figure}: {summary(rows[-1])}", flush=True)
            rows.append(measure_stop(url, kind, options.stops))
            print(f"  {rows[-1].figure}: {summary(rows[-1])}", flush=True)
            return rows


def summary(row: Row) -> str:
    if not row.values:
        return row.note
    return f"p50 {ms(statistics.median(row.values))} ms, max {ms(max(row.values))} ms"


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | db | runs | p50 ms | max ms | floor p50 ms | floor | target | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for row in rows:
        if row.values:
            measured = f"{ms(statistics.median(row.values))} | {ms(max(row.values))}"
            floor = ms(statistics.median(row.floor)) if row.floor else "—"
        else:
            measured, floor = "— | —", "—"
        result = "PASS" if row.ok else "FAIL" if row.ok is False else row.note
        lines.append(
            f"| {row.figure} | {row.db} | {len(row.values)} | {measured} | {floor} "
            f"| {row.floor_is} | {row.target} | {result} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        action="append",
        choices=["sqlite", "postgresql"],
        help="database to run on (repeatable; default: both)",
    )
    parser.add_argument("--pushes", type=int, default=20, help="handovers timed on the stream")
    parser.add_argument("--pages", type=int, default=5, help="handovers timed in Chromium")
    parser.add_argument("--stops", type=int, default=5, help="writer stops timed")
    parser.add_argument("--seed", type=int, default=1, help="for the pauses between posts")
    options = parser.parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(options.seed)
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    for kind in options.db or ["sqlite", "postgresql"]:
        try:
            rows += run_database(kind, options, rng)
        except DatabaseUnavailable as exc:
            print(f"{kind}: skipped, {exc}", flush=True)
    text = (
        f"# Latency, {datetime.now():%Y-%m-%d %H:%M}\n\n"
        f"`.venv/bin/python bench/latency.py`, {os.cpu_count()} CPU cores shared with whatever "
        f"else ran; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.\n\n"
        + table(rows)
        + "\n"
    )
    (RESULTS_DIR / "latency.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written to {RESULTS_DIR / 'latency.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
