"""The client README's examples run as written, against the real app.

Every ```python block of clients/python/README.md is executed here, with HAILONG_URL,
HAILONG_KEY (and HOOK_URL) set the way the README says; a block this file does not know
fails the test, so a new example cannot go untested.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from hailong_client import HailongClient

from tests.clients.conftest import HailongServer, Receiver

README = Path(__file__).resolve().parents[2] / "clients" / "python" / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _examples() -> dict[str, str]:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    named = {
        "one-stop": [b for b in blocks if "issue_survey(" in b],
        "portal": [b for b in blocks if "create_webhook(" in b],
        "async": [b for b in blocks if "AsyncHailongClient(" in b],
    }
    assert all(len(found) == 1 for found in named.values()), named
    assert sorted(b for found in named.values() for b in found) == sorted(blocks)
    return {name: found[0] for name, found in named.items()}


def _run(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)
    return namespace


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, hailong_server: HailongServer) -> pytest.MonkeyPatch:
    monkeypatch.setenv("HAILONG_URL", hailong_server.url)
    return monkeypatch


def test_one_stop_example(
    hailong_server: HailongServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = _examples()["one-stop"]
    env.setenv("HAILONG_KEY", hailong_server.key("issuer"))
    _run(example)  # no agency G22.39 yet: the InvalidInput branch
    assert capsys.readouterr().out.startswith("agency_code ")

    hailong_server.add_agencies()
    _run(example)
    _run(example)  # repeating is safe: the same survey
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    slip_url = lines[0].split()[3]
    assert slip_url.startswith(f"{hailong_server.url}/") and "slip" in slip_url
    assert httpx.get(slip_url).status_code == 200  # the slip needs no key


def test_portal_example_and_its_receiver(
    hailong_server: HailongServer,
    env: pytest.MonkeyPatch,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hailong_server.add_agencies()
    env.setenv("HAILONG_KEY", hailong_server.key("reader"))
    env.setenv("HOOK_URL", receiver.url)
    namespace = _run(_examples()["portal"])
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 4 and any("Phường Bến Thành" in line for line in printed)

    with HailongClient(hailong_server.url, hailong_server.key("admin")) as admin:
        admin.set_inputs("79.BTH", "2025-Q3", d=17.5, e=1)
    hailong_server.deliver()
    assert receiver.received
    receive = namespace["receive"]
    for delivery in receiver.received:
        assert receive(delivery.body, delivery.headers) == 204
    assert "score.updated 79.BTH" in capsys.readouterr().out
    first = receiver.received[0]
    assert receive(first.body.replace(b"79.BTH", b"79.SGN"), first.headers) == 400
    assert receive(first.body, {**first.headers, "webhook-signature": "v1,AAAA"}) == 400


def test_async_example(
    hailong_server: HailongServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hailong_server.add_agencies()
    env.setenv("HAILONG_KEY", hailong_server.key("reader"))
    _run(_examples()["async"])
    assert "'79.BTH':" in capsys.readouterr().out
