"""Run every benchmark and write one report: bench/results/REPORT.md.

Each benchmark runs as its own process, one after the other (they would only measure each
other if run side by side), with its output kept in bench/results/report-<name>.log:

    handover      bench/handover.py      POST /api/v1/handovers vs a framework-free floor, wrk
    scores        bench/scores.py        recompute, one score and rankings on a province-year
    public_pages  bench/public_pages.py  rankings, agency page, badge and widget
    soak          bench/soak.py          10 minutes of mixed load: latency, memory, errors
    latency       bench/latency.py       kiosk push (stream, Chromium), writer stop, vs floors

Then it reads what each one wrote (bench/results/handover.md, scores.md, public_pages.md,
the JSON of soak.py, latency.md) and makes one table: every figure that has a target, the
target, PASS or FAIL, and the floor measured in the same run where there is one (the
handover benchmark's raw ASGI app; latency.py's own, named beside each). The verdicts are
the benchmarks' own, copied, not re-judged.

    .venv/bin/python bench/report.py            # everything, full size (about an hour)
    .venv/bin/python bench/report.py --quick    # smaller sizes and shorter runs (~10 min)
    .venv/bin/python bench/report.py --only handover --only soak
    .venv/bin/python bench/report.py --reuse scores   # read the last scores.md, run the rest

It exits 1 when a benchmark could not run or wrote no result, 0 otherwise (a FAIL in the
table is a finding of the report, not an error of the command).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
REPORT = RESULTS_DIR / "REPORT.md"
SOAK_JSON = RESULTS_DIR / "soak.json"


@dataclass
class Figure:
    benchmark: str
    figure: str
    db: str
    measured: str
    floor: str = "—"
    target: str = ""
    result: str = ""  # PASS, FAIL, or empty when there is no target


@dataclass
class Outcome:
    name: str
    seconds: float = 0.0
    exit_code: int | None = None
    figures: list[Figure] = field(default_factory=list)
    problem: str = ""  # why there are no figures
    reused: bool = False  # not run: read from an earlier run's result


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    output: Path
    read: Callable[[Path], list[Figure]]


# --- reading the markdown the benchmarks write ------------------------------------------


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every markdown table in `text`, as rows keyed by the (lower-cased) header cells."""
    found: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|\s*:?-", lines[i + 1]):
            header = [c.strip().lower() for c in lines[i].strip().strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(dict(zip(header, cells, strict=False)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def cell(row: dict[str, str], *starts: str) -> str:
    """The first cell whose header starts with one of `starts`."""
    for start in starts:
        for name, value in row.items():
            if name.startswith(start):
                return value
    return ""


def verdict_of(text: str) -> str:
    """PASS, FAIL, or FAIL with what passed when the benchmark says both ("p50 PASS, p99
    FAIL" reads as a FAIL, not a PASS)."""
    upper = text.upper()
    if "FAIL" in upper:
        passed = [part.strip() for part in text.split(",") if "PASS" in part.upper()]
        return f"FAIL ({', '.join(passed)})" if passed else "FAIL"
    return "PASS" if "PASS" in upper else ""


def read_handover(path: Path) -> list[Figure]:
    text = path.read_text(encoding="utf-8")
    rows = [r for t in tables(text) for r in t if "target" in r and "req/s" in r]
    by = {(r["target"], r.get("db", "")): r for r in rows}
    # "Targets on postgresql:" then "- PASS: ours ≥ 0.5 x floor throughput — 0.62"; the
    # target and the verdict are the benchmark's own.
    checks: dict[tuple[str, str], tuple[str, str]] = {}
    db = ""
    for line in text.splitlines():
        heading = re.match(r"^Targets on (\w+)", line)
        if heading:
            db = heading.group(1)
            continue
        bullet = re.match(r"^- (PASS|FAIL): (.*?)(?: — (.*))?$", line)
        if bullet and db:
            what = bullet.group(2)
            key = "ratio" if "floor" in what else "p99" if "p99" in what else "errors"
            info = "" if db == "postgresql" else " (info)"
            checks[(db, key)] = (what + info, bullet.group(1))
    figures = []
    for db in sorted({d for _, d in by}, key=lambda d: d != "postgresql"):
        ours, floor = by.get(("hailong", db)), by.get(("floor", db)) or {}
        if ours is None:
            continue
        ratio = cell(ours, "ours")
        figures += [
            Figure(
                "handover",
                "req/s",
                db,
                f"{ours['req/s']} (÷ floor {ratio})",
                floor.get("req/s", "—"),
                *checks.get((db, "ratio"), ("", "")),
            ),
            Figure("handover", "p50 ms", db, ours.get("p50 ms", ""), floor.get("p50 ms", "—")),
            Figure(
                "handover",
                f"p99 ms ({ours.get('conns', '?')} connections)",
                db,
                ours.get("p99 ms", ""),
                floor.get("p99 ms", "—"),
                *checks.get((db, "p99"), ("", "")),
            ),
            Figure(
                "handover",
                "errors",
                db,
                ours.get("errors", ""),
                floor.get("errors", "—"),
                *checks.get((db, "errors"), ("", "")),
            ),
        ]
    for line in text.splitlines():
        lost = re.match(r"^WARNING: (\w+) on (\w+) answered (\d+) 2xx but stored (\d+)", line)
        if lost:
            what, db, acked, stored = lost.groups()
            figures.append(
                Figure(
                    "handover",
                    f"{what}: rows stored ÷ 2xx answers",
                    db,
                    f"{stored} / {acked}",
                    target="all stored",
                    result="FAIL",
                )
            )
    return figures


def read_scores(path: Path) -> list[Figure]:
    figures = []
    for table in tables(path.read_text(encoding="utf-8")):
        for row in table:
            if not row.get("target") or "metric" not in row:
                continue
            small, large = cell(row, "small"), cell(row, "large")
            figures.append(
                Figure(
                    "scores",
                    row["metric"],
                    "postgresql",
                    f"small {small} · large {large}",
                    target=row["target"],
                    result=verdict_of(row.get("result", "")),
                )
            )
    return figures


def read_public_pages(path: Path) -> list[Figure]:
    figures = []
    for table in tables(path.read_text(encoding="utf-8")):
        for row in table:
            if not row.get("target"):
                continue
            p50, p99 = cell(row, "server p50"), cell(row, "server p99")
            figures.append(
                Figure(
                    "public_pages",
                    f"{row.get('request', '?')}: server time p50 / p99 ms",
                    row.get("db", ""),
                    f"{p50} / {p99}",
                    target=row["target"].replace("server ", ""),
                    result=verdict_of(row.get("result", "")),
                )
            )
    return figures


def read_soak(path: Path) -> list[Figure]:
    runs: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    figures = []
    for run in runs:
        measured = [m for m in run["per_minute"] if m["minute"] > 1]
        if measured:
            worst = max(measured, key=lambda m: m["p99_ms"])
            figures.append(
                Figure(
                    "soak",
                    f"{run['rate']:g} req/s for {run['minutes']:g} min: p50 / worst-minute p99 ms"
                    " after warm-up",
                    run["db"],
                    f"{sorted(m['p50_ms'] for m in measured)[len(measured) // 2]:.1f} / "
                    f"{worst['p99_ms']:.1f} (minute {worst['minute']})",
                )
            )
        for check in run["checks"]:
            figures.append(
                Figure(
                    "soak",
                    check["name"],
                    run["db"],
                    check["value"],
                    target=check["target"],
                    result="PASS" if check["ok"] else "FAIL",
                )
            )
    return figures


def read_latency(path: Path) -> list[Figure]:
    figures = []
    for table in tables(path.read_text(encoding="utf-8")):
        for row in table:
            if not row.get("target") or "figure" not in row:
                continue
            floor = cell(row, "floor p50")
            figures.append(
                Figure(
                    "latency",
                    f"{row['figure']} (ms)",
                    row.get("db", ""),
                    f"p50 {cell(row, 'p50')} · max {cell(row, 'max')}",
                    f"{floor} ({row.get('floor', '')})" if floor not in ("", "—") else "—",
                    target=row["target"],
                    result=verdict_of(row.get("result", "")),
                )
            )
    return figures


BENCHMARKS = [
    Benchmark(
        "handover",
        "handover.py",
        [],
        ["--duration", "8", "--warmup", "2"],
        RESULTS_DIR / "handover.md",
        read_handover,
    ),
    Benchmark(
        "scores",
        "scores.py",
        [],
        [
            "--dossiers",
            "200000",
            "--small",
            "10000",
            "--requests",
            "200",
            "--ranking-requests",
            "50",
        ],
        RESULTS_DIR / "scores.md",
        read_scores,
    ),
    Benchmark(
        "public_pages",
        "public_pages.py",
        [],
        ["--requests", "60", "--warmup", "10"],
        RESULTS_DIR / "public_pages.md",
        read_public_pages,
    ),
    Benchmark(
        "soak",
        "soak.py",
        ["--json", str(SOAK_JSON)],
        ["--json", str(SOAK_JSON), "--minutes", "2"],
        SOAK_JSON,
        read_soak,
    ),
    Benchmark(
        "latency",
        "latency.py",
        [],
        ["--pushes", "10", "--pages", "3", "--stops", "3"],
        RESULTS_DIR / "latency.md",
        read_latency,
    ),
]


# --- running ------------------------------------------------------------------------------


def run(benchmark: Benchmark, quick: bool, extra: list[str]) -> Outcome:
    outcome = Outcome(benchmark.name)
    command = [
        sys.executable,
        str(BENCH_DIR / benchmark.script),
        *(benchmark.quick if quick else benchmark.full),
        *extra,
    ]
    log_path = RESULTS_DIR / f"report-{benchmark.name}.log"
    print(f"== {benchmark.name}: {' '.join(command[1:])} (log: {log_path})", flush=True)
    started_wall = time.time()
    started = time.perf_counter()
    with log_path.open("wb") as log:
        completed = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    outcome.seconds = time.perf_counter() - started
    outcome.exit_code = completed.returncode
    if completed.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        outcome.problem = f"exited {completed.returncode}: {' '.join(tail)[:300]}"
    elif not benchmark.output.exists() or benchmark.output.stat().st_mtime < started_wall:
        outcome.problem = f"wrote no {benchmark.output.name}"
    else:
        try:
            outcome.figures = benchmark.read(benchmark.output)
        except (ValueError, KeyError, OSError) as exc:
            outcome.problem = f"could not read {benchmark.output.name}: {exc}"
        if not outcome.figures and not outcome.problem:
            outcome.problem = f"no figure found in {benchmark.output.name}"
    status = outcome.problem or f"{len(outcome.figures)} figures"
    print(f"   {benchmark.name}: {outcome.seconds:.0f} s, {status}", flush=True)
    return outcome


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def report(
    outcomes: list[Outcome], quick: bool, load: tuple[float, float], reread: bool = False
) -> str:
    figures = [f for o in outcomes for f in o.figures]
    passed = sum(f.result == "PASS" for f in figures)
    failed = [f for f in figures if f.result.startswith("FAIL")]
    broken = [o for o in outcomes if o.problem]
    lines = [
        f"# Benchmark report, {datetime.now():%Y-%m-%d %H:%M}",
        "",
        (
            "`.venv/bin/python bench/report.py --from-results`: nothing run, the results "
            "already in bench/results/ re-read (dated below)"
            if reread
            else f"`.venv/bin/python bench/report.py{' --quick' if quick else ''}"
            + "".join(f" --reuse {o.name}" for o in outcomes if o.reused)
            + f"`, {'quick sizes' if quick else 'full sizes'}"
        )
        + f", at commit {git_commit()}; {os.cpu_count()} CPU cores shared by the load "
        f"generators, the servers, the databases and whatever else ran; load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after.",
        "",
        f"**{passed} PASS, {len(failed)} FAIL** of {passed + len(failed)} figures with a target"
        + (f"; **{len(broken)} benchmark(s) without a result**" if broken else "")
        + ". Targets marked (info) are checked on PostgreSQL and shown for SQLite for "
        "information. The floor is the handover benchmark's framework-free ASGI app (one "
        "INSERT per request) measured in the same run on the same database; the latency "
        "figures name their own floor.",
        "",
        "| benchmark | figure | db | measured | floor (same run) | target | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        lines.append(
            f"| {f.benchmark} | {f.figure} | {f.db} | {f.measured} | {f.floor} | {f.target} "
            f"| {f.result} |"
        )
    lines += ["", "| benchmark | time | details |", "| --- | ---: | --- |"]
    for o in outcomes:
        written = RESULTS_DIR / ("soak.md" if o.name == "soak" else f"{o.name}.md")
        details = o.problem or (
            f"bench/results/{written.name}"
            + (
                f" of {datetime.fromtimestamp(written.stat().st_mtime):%Y-%m-%d %H:%M}"
                if written.exists()
                else ""
            )
        )
        took = "not run: earlier result" if o.reused else f"{o.seconds / 60:.1f} min"
        lines.append(f"| {o.name} | {took} | {details} |")
    if failed:
        lines += ["", "Failed:"] + [
            f"- {f.benchmark} {f.db}: {f.figure} — {f.measured}" for f in failed
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--only", action="append", choices=names, help="run only these")
    parser.add_argument("--skip", action="append", choices=names, default=[], help="skip these")
    parser.add_argument(
        "--soak-minutes", type=float, help="override the soak's duration (default 10, quick 2)"
    )
    parser.add_argument(
        "--reuse",
        action="append",
        choices=names,
        default=[],
        help="do not run this one: read the result it left in bench/results (repeatable)",
    )
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="run nothing: build the report from the results already in bench/results",
    )
    args = parser.parse_args(argv)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHMARKS if (not args.only or b.name in args.only)]
    chosen = [b for b in chosen if b.name not in args.skip]
    load_before = os.getloadavg()[0]
    outcomes = []
    for benchmark in chosen:
        if args.from_results or benchmark.name in args.reuse:
            outcome = Outcome(benchmark.name, reused=True)
            if benchmark.output.exists():
                outcome.figures = benchmark.read(benchmark.output)
            else:
                outcome.problem = f"no {benchmark.output.name} yet"
            outcomes.append(outcome)
            continue
        extra = []
        if benchmark.name == "soak" and args.soak_minutes:
            extra = ["--minutes", f"{args.soak_minutes:g}"]
        outcomes.append(run(benchmark, args.quick, extra))
    text = report(outcomes, args.quick, (load_before, os.getloadavg()[0]), args.from_results)
    REPORT.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written to {REPORT}")
    return 1 if any(o.problem for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
