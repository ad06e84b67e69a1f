"""Real `hailong serve` processes for the hardening tests: started in a session of their
own, so that a SIGKILL of the process group takes uvicorn's supervisor and every worker
process at once, as a crash or an OOM kill of the whole service would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx
import pytest

from tests.conftest import TEST_SECRET, free_port

LOG_TAIL = 4000
STARTUP_SECONDS = 60  # two workers importing the app on a busy 2-core machine


def hailong_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("hailong")  # the installed console script
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from service.cli import main; main()", *args]


def server_env(database_url: str, port: int, **settings: str) -> dict[str, str]:
    """The environment of a server process: the caller's HAILONG_* variables are dropped, so
    a developer's shell cannot change what is tested."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update(
        HAILONG_DATABASE_URL=database_url,
        HAILONG_SECRET_KEY=TEST_SECRET,  # keys and webhook secrets made by the test match
        HAILONG_BASE_URL=f"http://127.0.0.1:{port}",
        HAILONG_LOG_REQUESTS="false",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"HAILONG_{name.upper()}": value for name, value in settings.items()})
    return env


class Server:
    """One `hailong serve` process group on 127.0.0.1."""

    def __init__(
        self, database_url: str, log_path: Path, workers: int = 1, **settings: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        self.env = server_env(database_url, self.port, **settings)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Server:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        """Start the process without waiting for it (several servers start side by side)."""
        self._log = self.log_path.open("ab")
        command = hailong_command("serve", "--port", str(self.port), "--workers", str(self.workers))
        self.process = subprocess.Popen(
            command,
            env=self.env,
            cwd=self.log_path.parent,  # nothing it might write lands in the repository
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill reaches every worker
        )

    def wait_ready(self) -> None:
        """Until /readyz answers 200 from every worker (a few requests, new connections)."""
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        answered = 0
        while answered < 2 * self.workers:
            if self.process.poll() is not None:
                pytest.fail(f"hailong serve exited ({self.process.returncode})\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"hailong serve not ready after {STARTUP_SECONDS} s\n{self.output()}")
            try:
                ok = httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                ok = False
            answered = answered + 1 if ok else 0
            time.sleep(0.05 if ok else 0.2)

    def pids(self) -> list[int]:
        """The supervisor and its worker processes (Linux /proc: members of the group)."""
        assert self.process is not None
        group = self.process.pid
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.getpgid(int(entry)) == group:
                        found.append(int(entry))
                except ProcessLookupError:
                    continue
        return sorted(found)

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's spawned workers, or the one process."""
        if self.workers == 1:
            return self.pids()
        found = []
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if b"spawn_main" in cmdline.read():
                        found.append(pid)
            except OSError:
                continue
        return found

    def kill(self) -> list[int]:
        """SIGKILL the whole process group at once; returns the pids that were killed."""
        assert self.process is not None
        pids = self.pids()
        os.killpg(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL
        wait_until(lambda: not self.pids(), 10, "the killed workers to be gone")
        return pids

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self.process is not None:
            # A worker outliving its supervisor would hold the test database open.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self) -> str:
        if self._log is not None:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL:]

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)
