"""What a process pool's worker runs in tests/clients/test_client_errors.py.

Its own module, importing only the client: a spawned worker imports the module of the
function it runs, and the test module's (its conftest, the service's harness) cost seconds.
"""

from __future__ import annotations

from hailong_client import HailongClient


def missing_score(url: str, key: str) -> str:
    """A client call answered 404."""
    with HailongClient(url, key) as hailong:
        return repr(hailong.score("NO-SUCH-AGENCY", "2025-Q3"))
