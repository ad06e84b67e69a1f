"""`hailong demo`: what an operator types and reads."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.cli_runner import cli_for

KEY_LINE = re.compile(r"^\s+(\w+)\s+(hl_\S+)", re.M)


def test_demo_prints_no_kiosk_key_and_a_pairing_code_that_pairs_a_tablet(
    database_url: str, client: TestClient
) -> None:
    output = cli_for(database_url)("demo").output
    assert [role for role, _ in KEY_LINE.findall(output)] == [
        *("issuer", "reader", "manager", "admin")
    ]
    code = re.search(r"pair it with the code (\S+)", output)
    assert code is not None, output
    paired = client.post("/kiosk/api/pair", json={"code": code.group(1)})
    assert paired.status_code == 200, paired.text
