"""A HAILONG_ variable that names no setting stops the start, naming it (README promises it):
a misspelt setting must not silently keep its default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import unknown_settings

HAILONG = Path(sys.executable).parent / "hailong"


@pytest.mark.servers  # runs `hailong` in a subprocess
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["db", "upgrade"], ["keys", "list"]])
def test_a_misspelt_setting_stops_the_start_with_its_name(
    tmp_path: Path, command: list[str]
) -> None:
    """Exit code 2, what was configured, as for a value out of range: it was 1, which README
    gives the database alone, and a supervisor went looking for a database fault (audit)."""
    env = {
        **os.environ,
        "HAILONG_DATABASE_URL": f"sqlite:///{tmp_path}/h.db",
        "HAILONG_DB_POOL_SIZ": "5",
    }
    started = subprocess.run(
        [str(HAILONG), *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2, started.stderr
    assert "Unknown setting(s): HAILONG_DB_POOL_SIZ." in started.stderr
    assert not (tmp_path / "h.db").exists()  # stopped before touching anything


def test_the_client_and_test_switches_are_not_settings_typos() -> None:
    environ = {
        "HAILONG_DATABASE_URL": "sqlite://",
        "HAILONG_URL": "https://hailong.example.gov.vn",
        "HAILONG_KEY": "hl_x",
        "HAILONG_TEST_BACKENDS": "sqlite",
        "HAILONG_FUZZ_EXAMPLES": "50",
        "HAILONG_WORKERS": "2",  # docker/entrypoint.sh's, set by the Dockerfile and compose
        "hailong_guess_limt": "3",
        "PATH": "/usr/bin",
        # Names that begin like the switches are typos still (ops audit: taken as switches,
        # HAILONG_KEY_FILE for HAILONG_SECRET_KEY_FILE kept the default silently).
        "HAILONG_KEY_FILE": "/run/secrets/key",
        "HAILONG_WORKERS_POLL_SECONDS": "5",
        "HAILONG_URL_BASE": "https://x",
    }
    assert unknown_settings(environ) == [
        "HAILONG_KEY_FILE",
        "HAILONG_URL_BASE",
        "HAILONG_WORKERS_POLL_SECONDS",
        "hailong_guess_limt",
    ]
