"""The console's kiosk tab: a manager makes a pairing code, a tablet pairs with it, the
manager sees the tablet and unpairs it; other agencies' managers cannot."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from service.models import Counter
from tests.conftest import DbFactory, KeyFactory
from tests.console.conftest import (
    OTHER_WARD,
    WARD,
    ConsoleClient,
    Office,
    autofocused_alert,
    raw_key,
)

PAIRING_CODE = re.compile(r'id="pairing-code">([A-Z0-9]{4}-[A-Z0-9]{4})<')


def test_a_manager_pairs_a_counter_tablet_and_unpairs_it(
    office: Office, console: ConsoleClient, make_key: KeyFactory, client: TestClient
) -> None:
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get(f"/console/a/{WARD}/kiosks")
    assert page.status_code == 200
    assert "Chưa có máy nào được ghép nối." in page.text

    bad = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": "Q" * 65})
    assert bad.status_code == 422
    assert "Mã quầy gồm 1 đến 64 ký tự" in bad.text
    # A zero-width space is refused as at handover, and the sentence names it (it spoke of
    # control characters only: review).
    hidden = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": "Q05\u200b"})
    assert hidden.status_code == 422 and "ký tự không độ rộng" in hidden.text

    made = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": "Q05"})
    assert made.status_code == 201
    found = PAIRING_CODE.search(made.text)
    assert found, made.text
    assert "http://testserver/kiosk" in made.text

    tablet = TestClient(client.app)
    state = tablet.post("/kiosk/api/pair", json={"code": found.group(1)})
    assert state.status_code == 200
    assert (state.json()["agency_code"], state.json()["counter_code"]) == (WARD, "Q05")

    listed = console.get(f"/console/a/{WARD}/kiosks")
    device = re.search(r'data-device="(\d+)"', listed.text)
    assert device, listed.text
    # The code is shown once: the list does not show it again.
    assert found.group(1) not in listed.text

    action = f"/console/a/{WARD}/kiosks/{device.group(1)}/unpair"
    # One tap asks first, naming the counter: the tablet still works (console audit).
    asked = console.submit(action, {})
    assert asked.status_code == 200
    assert "Hủy ghép nối máy tại quầy Q05?" in asked.text
    assert tablet.get("/kiosk/api/state").status_code == 200
    assert 'name="confirm" value="1"' in asked.text
    unpaired = console.submit(action, {})  # the confirmation's form, as the page shows it
    assert unpaired.status_code == 200  # after the redirect
    assert unpaired.url.path == f"/console/a/{WARD}/kiosks"
    assert tablet.get("/kiosk/api/state").status_code == 401
    after = unpaired
    assert "Đã hủy ghép nối" in after.text
    assert 'data-device="' not in after.text
    # The button pressed twice (the same form sent again): said as it is. The page said
    # "the citizen has judged this petition" to every 409 (console audit).
    again = console.post(action, {"confirm": "1"})
    assert again.status_code == 409
    assert "đã được gỡ ghép nối trước đó" in again.text and "phản ánh" not in again.text


@pytest.mark.usefixtures("agencies")
def test_a_refused_counter_code_is_tied_to_its_field_and_takes_the_focus(
    console: ConsoleClient, make_key: KeyFactory
) -> None:
    """The counter field was marked aria-invalid but nothing tied the message to it, so a
    screen reader on the field heard "invalid" and never why; and the page opened at its
    top (pages audit). The message now describes the field and takes the focus."""
    console.sign_in(raw_key(make_key("admin")))
    page = console.get(f"/console/a/{WARD}/kiosks")
    assert "aria-describedby" not in page.text and "autofocus" not in page.text
    for typed in ("", "Q" * 65):
        refused = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": typed})
        assert refused.status_code == 422
        field = re.search(r'<input id="counter_code"[^>]*>', refused.text)
        assert field, refused.text
        assert 'aria-describedby="counter-problem" aria-invalid="true"' in field.group(0)
        message = re.search(r'id="counter-problem"[^>]*>([^<]*)</p>', refused.text)
        assert message and message.group(1).startswith("Mã quầy gồm 1 đến 64 ký tự")
        assert autofocused_alert(refused.text) == "counter-problem"


def test_a_counter_the_one_stop_system_named_pairs_and_codes_the_api_refuses_do_not(
    office: Office,
    console: ConsoleClient,
    make_key: KeyFactory,
    client: TestClient,
    db: DbFactory,
) -> None:
    # Handovers take any 1-64 characters for a counter: the list offers "Quầy 1".
    office.handover("BT-K1", counter_code="Quầy 1")
    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    page = console.get(f"/console/a/{WARD}/kiosks")
    assert '<option value="Quầy 1">' in page.text

    made = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": "Quầy 1"})
    assert made.status_code == 201, made.text
    found = PAIRING_CODE.search(made.text)
    assert found, made.text
    state = TestClient(client.app).post("/kiosk/api/pair", json={"code": found.group(1)})
    assert state.status_code == 200
    assert state.json()["counter_code"] == "Quầy 1"

    # What POST /api/v1/kiosk/pairings refuses, the form refuses, and makes no counter.
    for refused in ("   ", "Q\x0001", "Q\x01", "Q" * 65):
        bad = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": refused})
        assert bad.status_code == 422, repr(refused)
        assert 'aria-invalid="true"' in bad.text
    with db() as session:
        assert list(session.exec(select(Counter.code).order_by(col(Counter.code)))) == ["Quầy 1"]


def test_other_agencies_kiosks_are_out_of_reach(
    office: Office, console: ConsoleClient, make_key: KeyFactory, client: TestClient
) -> None:
    admin = make_key("admin")
    code = client.post(
        "/api/v1/kiosk/pairings",
        json={"agency_code": OTHER_WARD, "counter_code": "Q01"},
        headers=admin,
    ).json()["code"]
    assert TestClient(client.app).post("/kiosk/api/pair", json={"code": code}).status_code == 200
    device_id = client.get("/api/v1/kiosk/devices", headers=admin).json()["data"][0]["id"]

    console.sign_in(raw_key(make_key("manager", agency=WARD)))
    assert console.get(f"/console/a/{OTHER_WARD}/kiosks").status_code == 403
    console.get(f"/console/a/{WARD}/kiosks")
    # Posting the other ward's device under this ward's address changes nothing.
    refused = console.post(f"/console/a/{WARD}/kiosks/{device_id}/unpair", {"confirm": "1"})
    assert refused.status_code == 404
    assert client.get("/api/v1/kiosk/devices", headers=admin).json()["count"] == 1
    # Without the CSRF token nothing happens either.
    console.get(f"/console/a/{WARD}/kiosks")
    forged = console.post(f"/console/a/{WARD}/kiosks/pairings", {"counter_code": "Q09"}, csrf="x")
    assert forged.status_code == 403
