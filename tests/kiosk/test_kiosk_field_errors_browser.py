"""The kiosk's field errors are tied to the field they are about, as the phone form's are
(templates/survey/form.html): described by the error (aria-describedby) and marked invalid
(aria-invalid). The phone form moved the "tick the consent box" problem from the contact
(which was fine) to the box (audit); the kiosk marked the contact and left the box
unmarked, and its pairing and code-entry errors were tied to no field at all."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlmodel import select

from service.models import ResponseContact
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.kiosk.conftest import hand_over
from tests.kiosk.test_kiosk_browser import TAPS, THANKS_VI, paired_page, ready

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]


def _described_by(page: Page, selector: str) -> list[str]:
    ids: str = page.locator(selector).get_attribute("aria-describedby") or ""
    return ids.split()


def test_kiosk_consent_problem_marks_the_consent_box_not_the_valid_contact(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="KIOSK-CONSENT")
    expect(page.get_by_text("KIOSK-CONSENT")).to_be_visible(timeout=10_000)
    for label in TAPS:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()
    ready(page)
    page.locator("#complaint").fill("Chờ lâu quá")
    page.locator("#contact").fill("0901 234 567")  # a usable number, consent not ticked
    page.get_by_role("button", name="Gửi đánh giá").tap()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("đánh dấu đồng ý")
    error_id = error.get_attribute("id")
    # The box is what to fix: described by the error and marked invalid, as on the phone.
    assert page.locator("#consent").get_attribute("aria-invalid") == "true", (
        "consent box not marked invalid"
    )
    assert error_id in _described_by(page, "#consent"), "consent box not described by the error"
    # The number was fine: not marked invalid.
    assert page.locator("#contact").get_attribute("aria-invalid") is None, (
        "the valid contact is marked invalid"
    )


def test_kiosk_code_entry_error_is_tied_to_the_code_field(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu").fill("NOPE-NOPE")
    page.get_by_role("button", name="Tìm phiếu").tap()
    expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy phiếu")
    assert "code-error" in _described_by(page, "#survey-code"), "error not tied to the field"
    assert page.locator("#survey-code").get_attribute("aria-invalid") == "true"


def test_kiosk_pairing_error_is_tied_to_the_pairing_field(tablet: BrowserContext) -> None:
    page = tablet.new_page()
    page.goto("/kiosk")
    page.get_by_label("Mã ghép nối").fill("WRONGCOD")
    page.get_by_role("button", name="Ghép nối").tap()
    expect(page.locator("#pair-error")).to_contain_text("Mã ghép nối không đúng")
    assert "pair-error" in _described_by(page, "#pair-code"), "error not tied to the field"
    assert page.locator("#pair-code").get_attribute("aria-invalid") == "true"


def test_kiosk_takes_an_address_on_an_internationalised_domain(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """(alerts audit) dan@bưuđiện.vn is an address (.vn issues such domains): the tablet
    refused it as no address, and the server too; both take its ASCII form now."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="KIOSK-IDN")
    expect(page.get_by_text("KIOSK-IDN")).to_be_visible(timeout=10_000)
    for label in TAPS:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()
    ready(page)
    page.locator("#complaint").fill("Chờ lâu quá")
    page.get_by_role("button", name="Phản ánh: đề nghị cơ quan xem xét và trả lời").tap()
    page.locator("#consent").check()
    # Those the server's IDNA rules refuse (a label ending in "-", "--" as its 3rd and 4th
    # characters, a symbol) are refused at the tablet.
    for refused in ("dan@ư-.vn", "dan@ưư--a.vn", "dan@♥.vn"):
        page.locator("#contact").fill(refused)
        page.get_by_role("button", name="Gửi đánh giá").tap()
        expect(page.get_by_role("alert")).to_contain_text("Vui lòng nhập số điện thoại")
        page.wait_for_timeout(1100)  # past the double-tap guard (screens.js tapOnce)
    page.locator("#contact").fill("dan@bưuđiện.vn")
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    page.wait_for_function("() => window.hailongKiosk.outbox().length === 0", timeout=15_000)
    with kiosk_server.session() as session:
        contacts = session.exec(select(ResponseContact.contact)).all()
    assert contacts == ["dan@bưuđiện.vn"]
