"""The counter kiosk under a slow or flaky server (issue 22), in headless Chromium against a
real `hailong serve` process (so that it can be paused with SIGSTOP): a reply held 40 s
while the next citizen answers, three handovers within a second, a double tap and a lost
reply, a paused server. Each checks what the database holds (every answer exactly once)
and what the screen and its status line say.

Screenshots: artifacts/kiosk-slow-*.png.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlmodel import col, select

from service.models import Dossier, Invitation, Response
from tests.conftest import TEST_SECRET, DbFactory, KeyFactory
from tests.harness.processes import HailongServer, wait_until
from tests.kiosk.conftest import hand_over, tablet_context
from tests.kiosk.test_kiosk_browser import IDLE_VI, TAPS, THANKS_VI, paired_page, ready

# On PostgreSQL only, the production database: what these check is the tablet's JavaScript
# against a server that is slow or stopped, the same whichever database stores the answers,
# and they wait in real time (a reply held 40 s), ~130 s a run. The storing itself is
# checked on both databases by tests/kiosk's other tests.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.servers,
    pytest.mark.usefixtures("agencies"),
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]
IDLE_SECONDS = 15
SERVER_DOWN = "Máy chủ chưa phản hồi"
OFFLINE = "Mất kết nối mạng"
SEND = "Gửi đánh giá"
# Every text the status line shows, in order: "never said X" is checked on this record.
RECORD_STATUS = """
window.__status = [];
document.addEventListener("DOMContentLoaded", () => {
  const net = document.getElementById("net");
  new MutationObserver(() => window.__status.push(net.textContent))
    .observe(net, { childList: true, characterData: true, subtree: true });
});
"""


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[HailongServer]:
    live = HailongServer(
        database_url,
        tmp_path / "serve.log",
        secret_key=TEST_SECRET,
        settings={"kiosk_idle_seconds": str(IDLE_SECONDS)},
    )
    with live:
        try:
            yield live
        finally:  # never leave it stopped: it could not be stopped for good
            for pid in live.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


@pytest.fixture
def api(server: HailongServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def tablet(browser: Browser, server: HailongServer) -> Iterator[BrowserContext]:
    context = tablet_context(browser, server.url)
    context.add_init_script(RECORD_STATUS)
    yield context
    context.close()


def stored(db: DbFactory) -> list[tuple[str, str | None, str | None]]:
    """(dossier code, client_submission_id, overall) of every stored response."""
    with db() as session:
        rows = session.exec(
            select(Dossier.code, Response.client_submission_id, Response.overall)
            .join(Invitation, col(Response.invitation_id) == col(Invitation.id))
            .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
            .order_by(col(Response.id))
        ).all()
    return [(code, submission, overall) for code, submission, overall in rows]


def stored_once(db: DbFactory, codes: list[str]) -> list[tuple[str, str | None, str | None]]:
    """Waits until the responses of `codes` are stored; each exactly once, nothing else."""
    wait_until(lambda: len(stored(db)) >= len(codes), 20, f"responses for {codes}")
    rows = stored(db)
    assert sorted(code for code, _, _ in rows) == sorted(codes), rows
    assert len({submission for _, submission, _ in rows}) == len(rows), rows
    return rows


def outbox_drained(page: Page) -> None:
    page.wait_for_function("() => window.hailongKiosk.outbox().length === 0", timeout=20_000)


def answer_questions(page: Page, labels: list[str]) -> None:
    for label in labels:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()


def statuses(page: Page) -> list[str]:
    said: list[str] = page.evaluate("window.__status")
    return said


def shot(page: Page, artifacts_dir: Path, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"kiosk-slow-{name}.png"))


def test_a_reply_held_40_s_never_touches_the_next_citizens_survey(
    tablet: BrowserContext,
    api: httpx.Client,
    make_key: KeyFactory,
    db: DbFactory,
    artifacts_dir: Path,
) -> None:
    page = paired_page(tablet, api, make_key)
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # answered 40 s later, from the test

    page.route("**/kiosk/api/answers", hold_the_first)
    hand_over(api, make_key, dossier_code="SLOW-1")
    expect(page.get_by_text("SLOW-1")).to_be_visible()
    hand_over(api, make_key, dossier_code="SLOW-2")
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 1")  # the clerk sees it

    # The first citizen leaves a petition and a contact: its reply carries a follow-up link,
    # whose QR code must never appear on anyone else's screen.
    answer_questions(page, TAPS)
    ready(page)
    page.get_by_label("Góp ý, phản ánh (không bắt buộc)").fill("Chờ quá lâu.")
    page.get_by_role("button", name="Phản ánh: đề nghị cơ quan xem xét và trả lời").tap()
    page.get_by_label("Số điện thoại hoặc email để nhận phản hồi (không bắt buộc)").fill(
        "0903 123 456"
    )
    page.get_by_label("Tôi đồng ý để cơ quan lưu thông tin này và liên hệ lại với tôi.").check()
    page.get_by_role("button", name=SEND).tap()
    sent = time.monotonic()
    # Thanked at once, without waiting for the server.
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
    expect(page.locator("#net")).to_have_text(
        f"{SERVER_DOWN} · 1 câu trả lời đang chờ gửi", timeout=10_000
    )
    # The next citizen: SLOW-2, after the thank-you; two questions answered.
    expect(page.get_by_text("SLOW-2")).to_be_visible(timeout=10_000)
    expect(page.locator("#queue")).to_be_hidden()
    answer_questions(page, TAPS[:2])
    expect(page.get_by_text("Câu 3/4")).to_be_visible()
    while time.monotonic() - sent < 40:  # the citizen reads, touching the screen now and then
        page.locator(".dossier").tap()
        page.wait_for_timeout(3000)
    assert len(held) == 1 and stored(db) == []

    held[0].continue_()  # the reply, 40 s late
    # Later answers go straight through: a route's handler runs only while the test calls
    # into Playwright, not while it polls the database (an answer sent then waited for it).
    page.unroute("**/kiosk/api/answers")
    wait_until(lambda: len(stored(db)) == 1, 20, "the held answer to be stored")
    outbox_drained(page)
    page.wait_for_timeout(1000)  # time for a late reply to do harm, if it could
    expect(page.get_by_text("SLOW-2")).to_be_visible()
    expect(page.get_by_text("Câu 3/4")).to_be_visible()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_have_count(0)
    expect(page.locator("#followup-qr")).to_have_count(0)
    expect(page.locator("#saved-offline")).to_have_count(0)
    expect(page.locator("#net")).to_have_text("")
    shot(page, artifacts_dir, "after-late-reply")

    # Its first answers are still there: back one question, the pick is kept.
    page.get_by_role("button", name="Quay lại").tap()
    expect(page.get_by_role("button", name=TAPS[1], exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    answer_questions(page, TAPS[1:])
    ready(page)
    page.get_by_role("button", name=SEND).tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
    rows = stored_once(db, ["SLOW-1", "SLOW-2"])
    assert [overall for _, _, overall in rows] == ["very_satisfied", "very_satisfied"]
    outbox_drained(page)
    expect(page.locator("#net")).to_have_text("")
    assert not [text for text in statuses(page) if OFFLINE in text]


def test_three_handovers_within_a_second_are_all_offered_in_order(
    tablet: BrowserContext,
    api: httpx.Client,
    make_key: KeyFactory,
    db: DbFactory,
    artifacts_dir: Path,
) -> None:
    page = paired_page(tablet, api, make_key)
    codes = ["TRIO-1", "TRIO-2", "TRIO-3"]
    started = time.monotonic()
    for code in codes:
        hand_over(api, make_key, dossier_code=code)
    assert time.monotonic() - started < 1.0
    expect(page.get_by_text("TRIO-1")).to_be_visible()
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 2")
    shot(page, artifacts_dir, "queue")

    # A reload (a tablet restarted, a stream reconnecting) loses none: the page rebuilds the
    # queue from the server's list of the counter's waiting surveys, oldest first.
    page.reload()
    expect(page.get_by_text("TRIO-1")).to_be_visible()
    expect(page.locator("#queue")).to_have_text("Phiếu đang chờ: 2")

    for left, code in zip([2, 1, 0], codes, strict=True):
        expect(page.get_by_text(code)).to_be_visible(timeout=10_000)
        if left:
            expect(page.locator("#queue")).to_have_text(f"Phiếu đang chờ: {left}")
        else:
            expect(page.locator("#queue")).to_be_hidden()
        answer_questions(page, TAPS)
        ready(page)
        page.get_by_role("button", name=SEND).tap()
        expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible(timeout=10_000)
    rows = stored_once(db, codes)
    assert [code for code, _, _ in rows] == codes  # answered in the order handed over
    outbox_drained(page)
    expect(page.locator("#net")).to_have_text("")


def test_a_double_tap_and_a_lost_reply_store_once_and_say_nothing_of_the_network(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, db: DbFactory
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="TAP-1")
    expect(page.get_by_text("TAP-1")).to_be_visible()
    answer_questions(page, TAPS)
    ready(page)
    page.get_by_role("button", name=SEND).dblclick()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
    outbox_drained(page)
    stored_once(db, ["TAP-1"])
    expect(page.locator("#saved-offline")).to_have_count(0)
    expect(page.locator("#net")).to_have_text("")

    # The answer arrives but its reply is lost (the connection resets): the tablet asks
    # again with the same client_submission_id, hears "already stored" and is done.
    lost: list[int] = []

    def lose_the_reply(route: Route) -> None:
        if lost:
            route.continue_()
            return
        reply = route.fetch()
        lost.append(reply.status)
        route.abort("connectionreset")

    page.route("**/kiosk/api/answers", lose_the_reply)
    hand_over(api, make_key, dossier_code="TAP-2")
    expect(page.get_by_text("TAP-2")).to_be_visible(timeout=10_000)
    answer_questions(page, TAPS)
    ready(page)
    page.get_by_role("button", name=SEND).tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
    outbox_drained(page)
    assert lost == [201]  # it was stored the first time
    stored_once(db, ["TAP-1", "TAP-2"])
    expect(page.locator("#saved-offline")).to_have_count(0)
    expect(page.locator("#net")).to_have_text("")
    assert not [text for text in statuses(page) if OFFLINE in text], statuses(page)


def test_a_paused_server_is_named_and_the_outbox_drains_once_it_resumes(
    tablet: BrowserContext,
    api: httpx.Client,
    make_key: KeyFactory,
    db: DbFactory,
    server: HailongServer,
    artifacts_dir: Path,
) -> None:
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="STOP-1")
    expect(page.get_by_text("STOP-1")).to_be_visible()
    pids = server.worker_pids()
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        answer_questions(page, TAPS)
        ready(page)
        page.get_by_role("button", name=SEND).tap()
        expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible(timeout=2000)
        # The network is fine: it is the server that does not answer.
        expect(page.locator("#net")).to_have_text(
            f"{SERVER_DOWN} · 1 câu trả lời đang chờ gửi", timeout=10_000
        )
        expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible(timeout=10_000)
        expect(page.locator("#idle-waiting")).to_have_text("⏳ 1 câu trả lời đang chờ gửi")
        shot(page, artifacts_dir, "paused")
        assert stored(db) == []
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    expect(page.locator("#net")).to_have_text("", timeout=20_000)
    expect(page.locator("#idle-waiting")).to_be_hidden()
    outbox_drained(page)
    stored_once(db, ["STOP-1"])
    assert not [text for text in statuses(page) if OFFLINE in text], statuses(page)
