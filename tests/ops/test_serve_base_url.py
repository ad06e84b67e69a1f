"""`hailong serve --port P` without HAILONG_BASE_URL issues links on P (before, every link,
QR code and slip pointed at port 8000 whatever the port served)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, KeyFactory, free_port, handover_body
from tests.harness.processes import HailongServer

pytestmark = [pytest.mark.servers, pytest.mark.usefixtures("agencies")]


def test_links_follow_the_port_served(
    database_url: str, make_key: KeyFactory, tmp_path: Path
) -> None:
    server = HailongServer(database_url, tmp_path / "serve.log", secret_key=TEST_SECRET)
    del server.env["HAILONG_BASE_URL"]  # as a newcomer runs it: no base URL set
    assert server.port != 8000
    with server:
        issued = httpx.post(
            f"{server.url}/api/v1/handovers",
            json=handover_body(agency_code="79.BTH"),
            headers=make_key("issuer"),
        )
        assert issued.status_code == 201, issued.text
        body = issued.json()
        for link in ("survey_url", "qr_svg_url", "qr_png_url", "slip_url"):
            assert body[link].startswith(f"http://127.0.0.1:{server.port}/"), body[link]
        assert httpx.get(body["survey_url"]).status_code == 200  # and it opens
    assert f"links point at http://127.0.0.1:{server.port}" in server.log_path.read_text()


def test_serve_refuses_messages_set_up_without_a_base_url(
    database_url: str, tmp_path: Path
) -> None:
    """(reach audit) With SMTP (or SMS, Zalo) set up, the base URL serve derives from its
    port is this machine's: every message's link would open nothing on a citizen's phone.
    The start is refused, naming the setting, before anything listens."""
    env = {
        **os.environ,
        "HAILONG_DATABASE_URL": database_url,
        "HAILONG_SECRET_KEY": TEST_SECRET,
        "HAILONG_SMTP_HOST": "smtp.phuong.gov.vn",
    }
    env.pop("HAILONG_BASE_URL", None)
    hailong = Path(sys.executable).parent / "hailong"
    done = subprocess.run(
        [str(hailong), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "HAILONG_SMTP_HOST set" in done.stderr and "HAILONG_BASE_URL is not set" in done.stderr
    assert "serving" not in done.stdout
