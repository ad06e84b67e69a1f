"""The staff tab's reason for B and C withheld, for officers with enough evaluations but too
few answers to one of B's or C's questions (evaluations imported from an older system that
left a question blank): the page names the figure short of answers and how many it has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from service.app import create_app
from tests.conftest import (
    ONE_BACKEND,
    KeyFactory,
    LiveServer,
    free_port,
    handover_body,
    make_settings,
    serve,
)
from tests.console.conftest import WARD, ConsoleClient, raw_key
from tests.console.test_alerts_browser import go
from tests.console.test_console_browser import sign_in

pytestmark = pytest.mark.usefixtures("agencies")
VN = "+07:00"
SUPPLEMENTS = {"supplement_requests": "none"}
ATTITUDE = {"staff_attitude": "poor"}
# Per returning officer, the answers of their five evaluations (each with timeliness).
PLAN: dict[str, list[dict[str, str]]] = {
    # C rests on one answer: that citizen's "poor".
    "CB003": [{**SUPPLEMENTS, **ATTITUDE}] + [SUPPLEMENTS] * 4,
    # B on two answers, C on one.
    "CB009": [{**SUPPLEMENTS, **ATTITUDE}, SUPPLEMENTS] + [{}] * 3,
}
C_SHORT = "Chưa đủ phiếu trả lời câu hỏi về thái độ (C: 1/5)"
B_SHORT = "Chưa đủ phiếu trả lời câu hỏi về bổ sung hồ sơ (B: 2/5)"


def seed(client: TestClient, make_key: KeyFactory) -> None:
    issuer, admin = make_key("issuer"), make_key("admin")
    for code, plan in PLAN.items():
        for i, answers in enumerate(plan):
            body = handover_body(
                dossier_code=f"{code}-{i}",
                agency_code=WARD,
                received_at=f"2025-09-01T08:00:00{VN}",
                due_at=None,
                resolved_at=f"2025-09-1{i}T09:00:00{VN}",
                handed_over_at=None,
                staff={"receiving": "CB001", "handling": "CB002", "returning": code},
            )
            made = client.post("/api/v1/handovers", json=body, headers=issuer)
            assert made.status_code == 201, made.text
            answer = {
                "token": made.json()["survey_url"].rsplit("/", 1)[1],
                "submitted_at": f"2025-09-20T09:0{i}:00{VN}",
                "answers": {"timeliness": "on_time", **answers},
            }
            stored = client.post("/api/v1/responses", json=answer, headers=admin)
            assert stored.status_code == 201, stored.text


def withheld_reason(html: str, code: str) -> str:
    row = re.search(rf'data-staff="{code}">(.*?)</tr>', html, re.S)
    assert row, html
    cell = re.search(r'class="withheld"[^>]*>(.*?)</td>', row.group(1), re.S)
    assert cell, f"B and C of {code} are not withheld: {row.group(1)}"
    return " ".join(cell.group(1).split())


def test_five_evaluations_one_answering_the_attitude_question_say_c_lacks_answers(
    client: TestClient, make_key: KeyFactory
) -> None:
    """(audit) An officer with five evaluations, one of which answered staff_attitude, read
    "Chưa đủ phiếu (5/5)" — not enough answers, five of five — with nothing saying which
    figure lacks answers; the API gave no count to explain `withheld` beside 5 and 5."""
    seed(client, make_key)
    admin = make_key("admin")
    listed = client.get(f"/api/v1/agencies/{WARD}/staff-scores/2025-09", headers=admin)
    assert listed.status_code == 200, listed.text
    people: dict[str, dict[str, Any]] = {s["staff_code"]: s for s in listed.json()["data"]}
    counts = {
        code: (p["evaluations"], p["b_evaluations"], p["c_evaluations"], p["withheld"], p["c"])
        for code, p in people.items()
        if code in PLAN
    }
    assert counts == {"CB003": (5, 5, 1, True, None), "CB009": (5, 2, 1, True, None)}

    console = ConsoleClient(client)
    signed = console.sign_in(raw_key(make_key("manager", agency=WARD)))
    assert signed.status_code in (200, 303), signed.text
    page = console.get(f"/console/a/{WARD}/staff", params={"period": "2025-09"})
    assert page.status_code == 200, page.text
    assert withheld_reason(page.text, "CB003") == C_SHORT
    assert withheld_reason(page.text, "CB009") == f"{B_SHORT}; {C_SHORT}"
    english = console.get(f"/console/a/{WARD}/staff", params={"period": "2025-09", "lang": "en"})
    assert withheld_reason(english.text, "CB003") == (
        "Not enough answers to the question on staff attitude (C: 1/5)"
    )


@pytest.fixture
def live_server(database_url: str, make_key: KeyFactory) -> Iterator[LiveServer]:
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(settings)) as client:
        seed(client, make_key)
    with serve(settings) as live:
        yield live


@pytest.mark.browser
@ONE_BACKEND
def test_a_manager_reads_which_figure_lacks_answers_in_chromium(
    live_server: LiveServer, make_key: KeyFactory, browser: Browser, artifacts_dir: Path
) -> None:
    """(audit) The same officer in Chromium on a phone: the withheld cell, read under its
    "B, C" label, says C lacks answers and has one of five, not "(5/5)"."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, live_server, raw_key(make_key("manager", agency=WARD)))
        go(page, f"{live_server.url}/console/a/{WARD}/staff?period=2025-09")
        cell = page.locator('tr[data-staff="CB003"] td.withheld')
        expect(cell).to_have_text(C_SHORT)
        expect(cell).to_have_attribute("data-label", "B, C")
        page.screenshot(path=artifacts_dir / "console-staff-short-c.png", full_page=True)
    finally:
        context.close()
