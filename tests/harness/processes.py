"""Real processes for tests and benchmarks: `hailong serve`, `hailong worker`, uvicorn apps.

- `free_port()`: a port nobody listens on, on 127.0.0.1.
- `Process`: a command started in a session of its own (so that a signal reaches uvicorn's
  supervisor and every worker it spawned), its output appended to a log file; `start()`
  waits until it answers HTTP, `stop()` sends SIGTERM to the group, then SIGKILL.
- `HailongServer`: `hailong serve` with a clean environment (`hailong_env`), ready when
  /readyz answers 200 from every worker.
- `fresh_database()`: a throwaway PostgreSQL database, dropped afterwards.
- `http_server()`: a stdlib HTTP server in a thread (webhook receivers).
- `cpu_seconds()`, `cpu_seconds_by_pid()`, `rss_mb()`: what processes used (Linux /proc),
  for benchmarks that report a server's CPU and memory.

Failures raise `ProcessFailed` (with the tail of the log), which fails a test and stops a
benchmark alike; nothing here imports pytest or the service.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO

import sqlalchemy as sa

HOST = "127.0.0.1"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STARTUP_SECONDS = 60.0  # two workers importing the app on a busy 2-core machine
STOP_GRACE_SECONDS = 15.0  # SIGTERM, then this long before SIGKILL
LOG_TAIL = 4000


class ProcessFailed(RuntimeError):
    """A process exited, or did not answer, when it should have."""


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of a GET, or None when nothing answered (refused, reset, timed out)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


# -- hailong's command and environment --------------------------------------------------------
def hailong_command(*args: str) -> list[str]:
    """`hailong ARGS`: the installed console script, or the module when it is missing."""
    script = Path(sys.executable).with_name("hailong")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from service.cli import main; main()", *args]


def hailong_env(
    database_url: str,
    *,
    secret_key: str,
    port: int | None = None,
    code_dir: Path | None = None,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a hailong process. The caller's HAILONG_* variables are dropped,
    so that a developer's shell cannot change what is tested or measured.

    `settings`: more HAILONG_ settings by field name (`{"guess_limit": "12"}`). `code_dir`: run
    the service found there (e.g. a `git archive` of another commit) instead of the
    installed one: it goes first on PYTHONPATH, ahead of the editable install.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update(
        HAILONG_DATABASE_URL=database_url,
        HAILONG_SECRET_KEY=secret_key,
        HAILONG_LOG_REQUESTS="false",
        PYTHONUNBUFFERED="1",
    )
    if port is not None:
        env["HAILONG_BASE_URL"] = f"http://{HOST}:{port}"
    env.update({f"HAILONG_{name.upper()}": value for name, value in (settings or {}).items()})
    if code_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(code_dir), env.get("PYTHONPATH", "")) if p
        )
    return env


def run_hailong(env: Mapping[str, str], cwd: Path, *args: str, timeout: float = 300) -> str:
    """Run one `hailong` CLI command to its end; its standard output."""
    done = subprocess.run(
        hailong_command(*args),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise ProcessFailed(f"hailong {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


# -- processes ---------------------------------------------------------------------------------
class Process:
    """One command in a process group of its own, output appended to `log_path`.

    `ready_url`: `start()` waits until a GET of it gets any HTTP answer. `cwd` defaults to the
    log's directory, so that nothing the process writes lands in the repository.
    """

    def __init__(
        self,
        command: list[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
        ready_url: str | None = None,
    ) -> None:
        self.command = command
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd or log_path.parent
        self.ready_url = ready_url
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # starting
    def launch(self) -> None:
        """Start it without waiting (several processes can start side by side)."""
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a signal reaches every worker
        )

    def start(self, timeout: float = STARTUP_SECONDS) -> Process:
        self.launch()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        if self.ready_url is not None:
            url = self.ready_url
            self.wait_for(lambda: http_status(url) is not None, timeout, f"an answer at {url}")

    def wait_for(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Until `condition()`; fails early, with the log, if the process exits."""
        deadline = time.monotonic() + seconds
        while not condition():
            code = self.poll()
            if code is not None:
                raise ProcessFailed(f"{self.name} exited ({code}) before {what}\n{self.output()}")
            if time.monotonic() > deadline:
                raise ProcessFailed(
                    f"{self.name}: timed out after {seconds} s waiting for {what}\n{self.output()}"
                )
            time.sleep(0.1)

    # state
    @property
    def name(self) -> str:
        return Path(self.command[0]).name + (f" {self.command[1]}" if len(self.command) > 1 else "")

    @property
    def pid(self) -> int:
        assert self.popen is not None, "not launched"
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll() if self.popen is not None else None

    def wait(self, timeout: float) -> int:
        assert self.popen is not None, "not launched"
        return self.popen.wait(timeout=timeout)

    def pids(self) -> list[int]:
        """Every live member of its process group (Linux /proc): a supervisor and its workers."""
        if self.popen is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if os.getpgid(int(entry)) == self.popen.pid:
                        found.append(int(entry))
        return sorted(found)

    def output(self, tail: int = LOG_TAIL) -> str:
        if self._log is not None:
            self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text[-tail:]

    # stopping
    def kill(self) -> list[int]:
        """SIGKILL the whole group at once, as a crash or an OOM kill would; the pids killed."""
        assert self.popen is not None, "not launched"
        pids = self.pids()
        os.killpg(self.popen.pid, signal.SIGKILL)
        code = self.popen.wait(timeout=10)
        if code != -signal.SIGKILL:
            raise ProcessFailed(f"{self.name} had exited ({code}) before the kill")
        wait_until(lambda: not self.pids(), 10, f"the killed {self.name} processes to be gone")
        return pids

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the group, SIGKILL it after `grace` seconds; idempotent."""
        if self.popen is not None:
            if self.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.popen.pid, signal.SIGKILL)
                    self.popen.wait(timeout=10)
            # A worker outliving its supervisor would hold the database (and the port) open.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Process:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class HailongServer(Process):
    """`hailong serve` on 127.0.0.1 and a port of its own, in the environment `hailong_env`
    builds (`settings`: more HAILONG_ settings by field name)."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        secret_key: str,
        workers: int = 1,
        port: int | None = None,
        cwd: Path | None = None,
        code_dir: Path | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.workers = workers
        command = hailong_command(
            "serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers)
        )
        env = hailong_env(
            database_url,
            secret_key=secret_key,
            port=self.port,
            code_dir=code_dir,
            settings=settings,
        )
        super().__init__(command, env=env, log_path=log_path, cwd=cwd)

    def start(self, timeout: float = STARTUP_SECONDS) -> HailongServer:
        super().start(timeout)
        return self

    def __enter__(self) -> HailongServer:
        return self.start()

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> None:
        """Until /readyz answers 200 to 2 × workers requests in a row, each on a new
        connection (so, most likely, from every worker)."""
        in_a_row = 0

        def ready() -> bool:
            nonlocal in_a_row
            ok = http_status(f"{self.url}/readyz") == 200
            in_a_row = in_a_row + 1 if ok else 0
            return in_a_row >= 2 * self.workers

        self.wait_for(ready, timeout, "/readyz to answer 200 from every worker")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's spawned workers, or the one process."""
        if self.workers == 1:
            return self.pids()
        found = []
        for pid in self.pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"spawn_main" in cmdline.read():
                    found.append(pid)
        return found


# -- PostgreSQL ----------------------------------------------------------------------------
class DatabaseUnavailable(RuntimeError):
    """PostgreSQL did not answer at the admin URL."""


def _admin_engine(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")


def create_database(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> str:
    """A new, empty database `name` (one left over by a crashed run is dropped first); its
    URL."""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        raise DatabaseUnavailable(f"PostgreSQL is not reachable at {admin_url}: {exc}") from exc
    finally:
        engine.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> None:
    """Drop `name`, disconnecting whoever still uses it."""
    engine = _admin_engine(admin_url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextmanager
def fresh_database(name: str, admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """A new database for the block, dropped afterwards even if the block fails."""
    url = create_database(name, admin_url)
    try:
        yield url
    finally:
        drop_database(name, admin_url)


@contextmanager
def migrated_database(kind: str, pg_name: str) -> Iterator[str]:
    """A fresh database of that kind ("sqlite": a file in a temporary folder; "postgresql":
    `pg_name`, dropped afterwards) upgraded to the latest migration."""
    import tempfile

    from service.migrations import upgrade

    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="hailong-bench-") as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            yield url
        return
    with fresh_database(pg_name) as url:
        upgrade(url)
        yield url


# -- a server in a thread (webhook receivers) ----------------------------------------------
@contextmanager
def http_server(
    handler: type[BaseHTTPRequestHandler], port: int | None = None, host: str = HOST
) -> Iterator[str]:
    """Serve `handler` on `host` (127.0.0.1; another loopback address is another machine
    to the webhook worker) from a thread for the block; yields its base URL."""
    server = ThreadingHTTPServer((host, port or free_port(host)), handler)
    # Polled every 50 ms, not the default 500: shutdown() waits for the next poll, and
    # every test with a receiver paid that half second at its end.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- what processes use (Linux /proc) ------------------------------------------------------
def cpu_seconds_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far; a process already gone is
    left out (so a difference of two readings should take a missing pid as 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()  # the name may hold spaces
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return used


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds the processes have used so far, together."""
    return sum(cpu_seconds_by_pid(pids).values())


def rss_mb(pid: int) -> float:
    """The resident memory (VmRSS) of a process in MiB; NaN when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan
