"""Behind a reverse proxy, the guess limit counts each citizen, not the proxy.

A real `hailong serve`, reached from 127.0.0.2 as a proxy on another host would reach it,
each request naming its client in X-Forwarded-For. Unless the proxy is listed in
HAILONG_TRUSTED_PROXIES, every citizen has the proxy's address: a few wrong codes from one
stopped everyone else (ops walkthrough).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.harness.processes import HailongServer

pytestmark = pytest.mark.servers

LIMIT = 3  # HAILONG_GUESS_LIMIT
PROXY = "127.0.0.2"  # the proxy's own address, as the server sees it


def wrong_code(client: httpx.Client, citizen: str) -> int:
    """A short code nobody was given, from `citizen` (the address the proxy forwards)."""
    code = "".join(secrets.choice("ACDEFGHJKMNPQRTUVWXY3479") for _ in range(8))
    answers = {"timeliness": "on_time", "staff_attitude": "good", "overall": "satisfied"}
    response = client.post(
        "/api/v1/responses",
        json={"short_code": code, "answers": answers},
        headers={"X-Forwarded-For": citizen},
    )
    return response.status_code


def statuses(database_url: str, log: Path, settings: dict[str, str]) -> dict[str, list[int]]:
    """What one citizen's LIMIT + 1 wrong codes get, then what another's first one gets."""
    with HailongServer(
        database_url,
        log,
        secret_key=TEST_SECRET,
        settings={"guess_limit": str(LIMIT), "guess_window_seconds": "86400", **settings},
    ) as server:
        transport = httpx.HTTPTransport(local_address=PROXY)
        with httpx.Client(base_url=server.url, transport=transport, timeout=30) as proxy:
            first = [wrong_code(proxy, "198.51.100.7") for _ in range(LIMIT + 1)]
            other = [wrong_code(proxy, "203.0.113.9")]
    return {"first": first, "other": other}


def test_a_listed_proxy_s_citizens_are_each_counted_as_themselves(
    database_url: str, tmp_path: Path
) -> None:
    seen = statuses(database_url, tmp_path / "listed.log", {"trusted_proxies": f"{PROXY}/32"})
    assert seen == {"first": [404] * LIMIT + [429], "other": [404]}


def test_an_unlisted_proxy_is_one_client_whatever_it_forwards(
    database_url: str, tmp_path: Path
) -> None:
    """The default trusts only this host: a proxy elsewhere must be listed, else its
    forwarded addresses are not believed (anyone could name any address)."""
    seen = statuses(database_url, tmp_path / "unlisted.log", {})
    assert seen == {"first": [404] * LIMIT + [429], "other": [429]}
