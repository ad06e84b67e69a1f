"""A kiosk complaint gets an answer too (issue 20, item 5), in headless Chromium on the
800×1280 tablet: the citizen leaves a phone number with consent, the thank-you screen shows
the QR code of the private follow-up link (decoded here as a phone would), and the idle
reset takes it away before the next citizen comes.

Screenshot: artifacts/kiosk-thanks-followup.png.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from sqlmodel import select

from service.models import Petition, ResponseContact
from tests.browser import decode_qr
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer
from tests.kiosk.conftest import IDLE_SECONDS, hand_over
from tests.kiosk.test_kiosk_browser import IDLE_VI, TAPS, THANKS_VI, paired_page, ready

pytestmark = [
    pytest.mark.browser,
    ONE_BACKEND,
    pytest.mark.servers,
    pytest.mark.usefixtures("agencies"),
]
SCAN_VI = "Quét mã để theo dõi phản hồi của cơ quan"
MIN_QR_PX = 300  # on an 800 px wide tablet: a phone reads it from arm's length


def test_a_complaint_at_the_kiosk_shows_the_follow_up_qr_until_the_idle_reset(
    tablet: BrowserContext,
    api: httpx.Client,
    make_key: KeyFactory,
    kiosk_server: LiveServer,
    artifacts_dir: Path,
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="KIOSK-FOLLOW")
    expect(page.get_by_text("KIOSK-FOLLOW")).to_be_visible(timeout=10_000)
    for label in TAPS:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()
    ready(page)
    page.get_by_label("Góp ý, phản ánh (không bắt buộc)").fill("Hồ sơ bị hẹn lại hai lần.")
    page.get_by_role("button", name="Phản ánh: đề nghị cơ quan xem xét và trả lời").tap()
    contact = page.get_by_label("Số điện thoại hoặc email để nhận phản hồi (không bắt buộc)")
    contact.fill("0903 123 456")

    # Without the consent box the server refuses the contact: the screen comes back with
    # the problem next to the box, everything typed still there.
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.locator("#consent-error")).to_have_text(
        "Ông/bà vui lòng đánh dấu đồng ý để lưu thông tin liên hệ, hoặc để trống."
    )
    expect(contact).to_have_value("0903 123 456")
    with kiosk_server.session() as session:
        assert session.exec(select(Petition)).all() == []

    page.get_by_label("Tôi đồng ý để cơ quan lưu thông tin này và liên hệ lại với tôi.").check()
    page.wait_for_timeout(1000)  # the send button ignores a second tap within a second
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    expect(page.get_by_text(SCAN_VI)).to_be_visible()
    qr = page.locator("#followup-qr")
    page.wait_for_function(
        "() => { const img = document.getElementById('followup-qr');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    box = qr.bounding_box()
    assert box is not None and box["width"] >= MIN_QR_PX and box["height"] >= MIN_QR_PX, box
    page.screenshot(path=str(artifacts_dir / "kiosk-thanks-followup.png"))

    # What a phone reads: the citizen's follow-up page, with their complaint.
    link = decode_qr(qr.screenshot())
    assert link.startswith(f"{kiosk_server.url}/p/"), link
    followup = api.get(link.removeprefix(kiosk_server.url))
    assert followup.status_code == 200 and "Hồ sơ bị hẹn lại hai lần." in followup.text
    with kiosk_server.session() as session:
        assert session.exec(select(ResponseContact)).one().contact == "0903 123 456"
        assert session.exec(select(Petition)).one().kind == "petition"
    # The link lives in the screen only: not in the tablet's storage.
    assert "/p/" not in page.evaluate("JSON.stringify(localStorage)")

    # The screen stays while the countdown runs, then the idle reset clears it.
    expect(page.locator("#countdown")).to_contain_text("Màn hình tự trở về sau")
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible(
        timeout=IDLE_SECONDS * 1000 + 3000
    )
    expect(page.locator("#followup-qr")).to_have_count(0)
    expect(page.get_by_text(SCAN_VI)).to_have_count(0)
    assert "/p/" not in page.content()
