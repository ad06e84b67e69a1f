"""The harness's readings of what processes use: CPU seconds and resident memory."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

from tests.harness.processes import cpu_seconds, cpu_seconds_by_pid, rss_mb


def _gone_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_cpu_seconds_grow_with_work() -> None:
    me = os.getpid()
    before = cpu_seconds([me])
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn 0.2 s of CPU
        pass
    after = cpu_seconds([me])
    assert after - before >= 0.1
    assert set(cpu_seconds_by_pid([me])) == {me}


def test_cpu_seconds_by_pid_leaves_out_a_process_that_is_gone() -> None:
    me, gone = os.getpid(), _gone_pid()
    used = cpu_seconds_by_pid([me, gone])
    assert set(used) == {me}
    assert used[me] > 0
    assert cpu_seconds([gone]) == 0.0
    assert cpu_seconds([]) == 0.0


def test_rss_mb_of_a_live_process_and_of_one_gone() -> None:
    assert 1 < rss_mb(os.getpid()) < 100_000
    assert math.isnan(rss_mb(_gone_pid()))
