"""What one `serve` worker does with the key file at its start, run in a process of its own
by tests/test_operator_errors.py.

Its own module, importing only the settings: a spawned process imports the module of its
target, and the test module's imports (the app, the CLI, the test client) took ~3.4 s of
CPU in each of the test's twelve processes, where this takes ~0.3 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.settings import Settings


def key_of_a_worker(path: str, barrier: Any, out: Any) -> None:
    settings = Settings(database_url="sqlite://", secret_key_file=Path(path))
    barrier.wait()  # the workers of one `serve` start together
    out.put(settings.signing_key())
