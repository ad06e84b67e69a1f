"""The printable handover slip, as Chromium shows and prints it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page

from service.admin.agencies import upsert_agency
from service.db import transaction
from tests.browser import NewPage, decode_qr
from tests.conftest import ONE_BACKEND, LiveServer, handover_body

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]
URL = "/api/v1/handovers"
CSS_PX_PER_MM = 96 / 25.4
RECEIPT_WIDTH_PX = 80 * CSS_PX_PER_MM  # an 80 mm receipt roll
AGENCY = "UBND Phường Tân Định"
INSTRUCTION = "Quét mã QR bằng điện thoại"
LONG_AGENCY = (
    "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh, "
    "Chi nhánh số 1 (tiếp nhận hồ sơ Phường Bến Thành và Phường Sài Gòn)"
)
LONG_PROCEDURE = (
    "Cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với "
    "đất cho hộ gia đình, cá nhân, cộng đồng dân cư, người Việt Nam định cư ở nước ngoài được "
    "sở hữu nhà ở tại Việt Nam đã đăng ký quyền sử dụng đất lần đầu"
)
LONG_DOSSIER = "H29" + "7" * 61  # 64 characters, the most the API takes, and no hyphen


def issue(live_server: LiveServer, headers: dict[str, str], **changes: object) -> dict[str, str]:
    response = httpx.post(f"{live_server.url}{URL}", json=handover_body(**changes), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def open_slip(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None
    assert response.status == status, response.text()


def overflow(page: Page) -> list[str]:
    """Boxes sticking out of the page and text sticking out of its box, for the report."""
    found: list[str] = page.evaluate(
        """() => {
            const pageWidth = document.documentElement.clientWidth;
            const out = [];
            if (document.documentElement.scrollWidth > pageWidth)
                out.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px`);
            for (const el of document.querySelectorAll('.slip, .slip *')) {
                const box = el.getBoundingClientRect();
                if (box.width === 0 && box.height === 0) continue;
                const name = el.className || el.tagName;
                if (box.left < -0.5 || box.right > pageWidth + 0.5)
                    out.push(`${name} spans ${box.left}..${box.right}px`);
                for (const node of el.childNodes) {
                    if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
                    const range = document.createRange();
                    range.selectNodeContents(node);
                    for (const line of range.getClientRects())
                        if (line.left < box.left - 1 || line.right > box.right + 1)
                            out.push(`text of ${name} spans ${line.left}..${line.right}px`);
                }
            }
            return out;
        }"""
    )
    return found


def check_printed(page: Page, survey_url: str, artifacts: Path | None = None) -> None:
    """On an 80 mm receipt roll: no button, everything inside the width, one small page."""
    page.set_viewport_size({"width": int(RECEIPT_WIDTH_PX), "height": 200})
    page.emulate_media(media="print")
    assert page.locator("#print").is_hidden()
    slip = page.locator(".slip").bounding_box()
    assert slip is not None
    assert slip["width"] <= RECEIPT_WIDTH_PX
    qr_box = page.locator(".qr").bounding_box()
    assert qr_box is not None
    assert qr_box["width"] >= 30 * CSS_PX_PER_MM, "a QR under 30 mm is hard to scan"
    assert overflow(page) == []
    assert decode_qr(page.locator(".qr").screenshot()) == survey_url
    if artifacts:
        page.screenshot(path=artifacts / "slip-print.png", full_page=True)

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    if artifacts:
        (artifacts / "slip.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages == 1, f"the slip printed on {pages} pages"
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert len(boxes) == 1
    width_mm = float(boxes[0][0]) / 72 * 25.4
    assert width_mm <= 106, f"the slip asks for a {width_mm:.0f} mm wide page, not A6 or less"


def test_slip_shows_the_dossier_and_a_scannable_qr_and_prints_on_one_small_page(
    live_server: LiveServer,
    make_key: Callable[..., dict[str, str]],
    new_page: NewPage,
    artifacts_dir: Path,
) -> None:
    body = issue(live_server, make_key("issuer"))
    page = new_page(width=480, height=200, scale=2)
    open_slip(page, body["slip_url"])

    assert page.locator("html").get_attribute("lang") == "vi"
    # The agency is the page's one heading (axe: page-has-heading-one; audit).
    assert page.locator("h1").all_text_contents() == [AGENCY]
    assert page.locator(".agency").text_content() == AGENCY
    assert page.locator(".procedure").text_content() == "Đăng ký khai sinh"
    assert page.locator(".dossier strong").text_content() == "G22.39-250915-0001"
    assert page.locator(".short-code").text_content() == body["short_code"]
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", body["short_code"])
    assert INSTRUCTION in (page.locator(".howto").text_content() or "")
    expires = datetime.fromisoformat(body["expires_at"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert expires.strftime("%d/%m/%Y") in (page.locator(".expiry").text_content() or "")
    assert page.locator(".url").text_content() == body["survey_url"]
    for selector in (
        ".agency",
        ".procedure",
        ".dossier",
        ".qr",
        ".short-code",
        ".howto",
        ".expiry",
        ".url",
        "#print",
    ):
        assert page.locator(selector).is_visible(), selector
    assert decode_qr(page.locator(".qr").screenshot()) == body["survey_url"]
    assert overflow(page) == []
    page.screenshot(path=artifacts_dir / "slip-screen.png", full_page=True)

    check_printed(page, body["survey_url"], artifacts_dir)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_slip_with_long_names_and_code_still_fits_one_receipt(
    live_server: LiveServer,
    make_key: Callable[..., dict[str, str]],
    new_page: NewPage,
    artifacts_dir: Path,
    language: str,
) -> None:
    """English instructions are longer: with the longest names they took the slip onto a
    second A6 page (audit)."""
    with transaction(live_server.engine) as session:
        upsert_agency(session, "79.TTHCC", LONG_AGENCY, "79", actor="test")
    body = issue(
        live_server,
        make_key("issuer"),
        agency_code="79.TTHCC",
        dossier_code=LONG_DOSSIER,
        procedure_name=LONG_PROCEDURE,
        language=language,
    )
    page = new_page(width=480, height=200, scale=2)
    open_slip(page, body["slip_url"])
    assert page.locator(".dossier strong").text_content() == LONG_DOSSIER
    assert page.locator(".agency").text_content() == LONG_AGENCY
    assert overflow(page) == []
    page.screenshot(path=artifacts_dir / f"slip-long-{language}-screen.png", full_page=True)
    check_printed(page, body["survey_url"])
    page.screenshot(path=artifacts_dir / f"slip-long-{language}-print.png", full_page=True)


def test_unknown_slip_is_a_vietnamese_404_page(live_server: LiveServer, page: Page) -> None:
    open_slip(page, f"{live_server.url}/s/{'A' * 43}/slip", status=404)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").text_content() == "Không tìm thấy phiếu đánh giá"
    assert "kiểm tra lại mã" in (page.locator("main p").text_content() or "")
    assert page.locator(".qr, .short-code").count() == 0


def test_revoked_slip_is_a_410_page_without_the_code(
    live_server: LiveServer, make_key: Callable[..., dict[str, str]], page: Page
) -> None:
    key = make_key("issuer")
    body = issue(live_server, key)
    revoke = httpx.post(f"{live_server.url}{URL}/{body['dossier_code']}/revoke", headers=key)
    assert revoke.status_code == 200, revoke.text
    open_slip(page, body["slip_url"], status=410)
    assert page.locator("h1").text_content() == "Phiếu đánh giá không còn hiệu lực"
    assert "thu hồi" in (page.locator("main p").text_content() or "")
    html = page.content()
    assert body["short_code"] not in html
    assert body["survey_url"] not in html
