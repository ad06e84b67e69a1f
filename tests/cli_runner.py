"""Run the `hailong` CLI in-process against a test database."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner, Result

from service.cli import app
from service.settings import get_settings
from tests.conftest import TEST_SECRET


def cli_for(database_url: str) -> Callable[..., Result]:
    runner = CliRunner()
    env = {
        "HAILONG_DATABASE_URL": database_url,
        "HAILONG_SECRET_KEY": TEST_SECRET,
        "HAILONG_BASE_URL": "http://testserver",
        "HAILONG_LOG_REQUESTS": "false",
    }

    def run(*args: str) -> Result:
        get_settings.cache_clear()  # settings are read from the environment once per process
        try:
            return runner.invoke(app, list(args), env=env, catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    return run
