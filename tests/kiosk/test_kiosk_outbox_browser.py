"""The tablet's outbox and its pages when the network or storage misbehaves: "no accepted
answer is ever lost" (a citizen thanked must have their answer stored), and the clerk and
the citizen always see what the tablet is doing; a tablet unpaired and paired at another
counter keeps its answers but none of the old counter's waiting surveys. Each test failed
before its fix."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from sqlmodel import col, select

from service.models import Dossier, Invitation, Response
from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, free_port, make_settings, serve
from tests.kiosk.conftest import hand_over, pairing_code, tablet_context
from tests.kiosk.test_kiosk_browser import (
    IDLE_VI,
    TAPS,
    THANKS_VI,
    answer_all,
    delivered,
    paired_page,
    ready,
)

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]
PAIR_TITLE = "Ghép nối máy với quầy"
PAIR_LABEL = "Mã ghép nối"
SERVER_DOWN_VI = "Máy chủ chưa phản hồi"
OUTBOX_ROUND_MS = 5000  # static/kiosk/outbox.js ROUND_MS: how often a waiting answer is retried


def stored(server: LiveServer) -> list[Response]:
    with server.session() as session:
        return list(session.exec(select(Response)))


def outbox_size(page: Page) -> int:
    size: int = page.evaluate("window.hailongKiosk.outbox().length")
    return size


def answer_up_to_send(page: Page) -> None:
    for label in TAPS:
        ready(page)
        page.get_by_role("button", name=label, exact=True).tap()
    ready(page)


# --- unpaired with an answer waiting ----------------------------------------------------


ANSWERS_ROUTE = "**/kiosk/api/answers"


def answered_offline(page: Page) -> None:
    """The citizen answers the survey on screen while the server cannot be reached: thanked,
    the answer waits in the outbox. The server stays unreachable until the caller's next
    step is done (`page.unroute(ANSWERS_ROUTE)`): the outbox retries within a second or two,
    and lifted at once, the answer reached the server before that step on a fast runner and
    after it on a slow one (review)."""
    page.route(ANSWERS_ROUTE, lambda route: route.abort("connectionrefused"))
    answer_all(page)
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    assert outbox_size(page) == 1


def test_unpaired_with_an_answer_waiting_the_pairing_screen_is_left_alone_then_it_is_sent(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """Before: each outbox round got a 401 and redrew the pairing screen (every 5 s), wiping
    the code the clerk was typing. Now the rounds wait while unpaired, and the answer goes
    once the tablet is paired again."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="OUTBOX-UNPAIR")
    expect(page.get_by_text("OUTBOX-UNPAIR")).to_be_visible(timeout=10_000)
    answered_offline(page)
    admin = make_key("admin")
    [device] = api.get("/api/v1/kiosk/devices", headers=admin).json()["data"]
    assert api.post(f"/api/v1/kiosk/devices/{device['id']}/unpair", headers=admin).is_success
    page.unroute(ANSWERS_ROUTE)
    expect(page.get_by_role("heading", name=PAIR_TITLE)).to_be_visible(timeout=15_000)
    page.get_by_label(PAIR_LABEL).fill("7KQ4")  # the clerk starts typing the new code
    page.evaluate("document.getElementById('pair-code').dataset.typedIn = 'yes'")
    # Nothing to wait for but time: more than one outbox round must leave the screen alone.
    page.wait_for_timeout(OUTBOX_ROUND_MS + 1500)
    expect(page.get_by_label(PAIR_LABEL)).to_have_value("7KQ4")
    expect(page.locator("#pair-code[data-typed-in='yes']")).to_be_attached()
    assert outbox_size(page) == 1 and stored(kiosk_server) == []

    page.get_by_label(PAIR_LABEL).fill(pairing_code(api, make_key))
    page.get_by_role("button", name="Ghép nối").tap()
    delivered(page)
    assert len(stored(kiosk_server)) == 1


# --- paired again at another counter ----------------------------------------------------


@pytest.fixture
def patient_server(database_url: str) -> Iterator[LiveServer]:
    """A 120 s idle reset: the old counter's survey stays on screen, and its next one
    waiting, while the tablet is moved (the kiosk's 6 s reset would take them down first)."""
    settings = make_settings(database_url, base_url=f"http://127.0.0.1:{free_port()}")
    with serve(settings.model_copy(update={"kiosk_idle_seconds": 120})) as live:
        yield live


@pytest.fixture
def patient_api(patient_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=patient_server.url) as client:
        yield client


@pytest.fixture
def patient_tablet(browser: Browser, patient_server: LiveServer) -> Iterator[BrowserContext]:
    context = tablet_context(browser, patient_server.url)
    yield context
    context.close()


def stored_dossiers(server: LiveServer) -> list[str]:
    with server.session() as session:
        codes = session.exec(
            select(Dossier.code)
            .join(Invitation, col(Dossier.id) == col(Invitation.dossier_id))
            .join(Response, col(Invitation.id) == col(Response.invitation_id))
        ).all()
    return sorted(codes)


def hand_over_while_on_screen(
    page: Page, api: httpx.Client, make_key: KeyFactory, on_screen: str, waiting: list[str]
) -> None:
    """`on_screen` handed over at Q01 and shown, then `waiting` queued behind it."""
    hand_over(api, make_key, dossier_code=on_screen, counter_code="Q01")
    expect(page.get_by_text(on_screen)).to_be_visible(timeout=10_000)
    for code in waiting:
        hand_over(api, make_key, dossier_code=code, counter_code="Q01")
    expect(page.locator("#queue")).to_have_text(f"Phiếu đang chờ: {len(waiting)}", timeout=10_000)


def pair_elsewhere(
    page: Page, api: httpx.Client, make_key: KeyFactory, agency: str, counter: str
) -> None:
    """The tablet is unpaired in the console, then paired at `counter` of `agency`."""
    admin = make_key("admin")
    for device in api.get("/api/v1/kiosk/devices", headers=admin).json()["data"]:
        assert api.post(f"/api/v1/kiosk/devices/{device['id']}/unpair", headers=admin).is_success
    page.evaluate("window.hailongKiosk.readList()")  # what its 15 s timer does
    expect(page.get_by_role("heading", name=PAIR_TITLE)).to_be_visible(timeout=20_000)
    page.get_by_label(PAIR_LABEL).fill(pairing_code(api, make_key, counter=counter, agency=agency))
    page.get_by_role("button", name="Ghép nối").tap()
    expect(page.locator("#place")).to_contain_text(counter)


def test_a_tablet_paired_at_another_agency_does_not_show_the_old_agencys_survey(
    patient_tablet: BrowserContext, patient_api: httpx.Client, make_key: KeyFactory
) -> None:
    """(audit) Before: the surveys waiting at its old counter stayed in the page; once
    paired at Phường Bến Thành, the tablet put UBND Phường Tân Định's next dossier on screen
    (the citizen was thanked, and the answer then refused)."""
    page = paired_page(patient_tablet, patient_api, make_key)
    hand_over_while_on_screen(page, patient_api, make_key, "MOVE-1", waiting=["MOVE-2"])
    pair_elsewhere(page, patient_api, make_key, agency="79.BTH", counter="Q05")
    expect(page.locator("#place")).to_have_text("Phường Bến Thành · Q05")
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()
    page.wait_for_timeout(1500)  # the new counter's waiting list is read meanwhile
    expect(page.get_by_text("MOVE-2")).to_have_count(0)
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()
    expect(page.locator("#queue")).to_be_hidden()


def test_a_tablet_paired_at_another_counter_stores_no_answer_to_the_old_counters_survey(
    patient_tablet: BrowserContext,
    patient_api: httpx.Client,
    make_key: KeyFactory,
    patient_server: LiveServer,
) -> None:
    """(audit) Before: paired at Q02, the tablet showed the survey still waiting from Q01,
    and Q02's citizen stored an evaluation of another citizen's dossier (201). The answer
    given at Q01 before the move (still in the outbox) must arrive all the same."""
    page = paired_page(patient_tablet, patient_api, make_key)
    waiting = ["MOVE-2", "MOVE-3"]  # two: one may come on screen after the thank-you
    hand_over_while_on_screen(page, patient_api, make_key, "MOVE-1", waiting=waiting)
    answered_offline(page)
    pair_elsewhere(page, patient_api, make_key, agency="G22.39", counter="Q02")
    page.unroute(ANSWERS_ROUTE)
    expect(page.get_by_role("heading", name=IDLE_VI)).to_be_visible()
    page.wait_for_timeout(1500)  # the new counter's waiting list is read meanwhile
    for code in waiting:
        expect(page.get_by_text(code)).to_have_count(0)

    # Q02's own citizen gets Q02's survey, and the answer kept from Q01 is not lost.
    hand_over(patient_api, make_key, dossier_code="MOVE-Q02", counter_code="Q02")
    expect(page.get_by_text("MOVE-Q02")).to_be_visible(timeout=10_000)
    answer_all(page)
    delivered(page)
    assert stored_dossiers(patient_server) == ["MOVE-1", "MOVE-Q02"]


# --- service worker: a 5xx for the page -------------------------------------------------


class _Proxy(ThreadingHTTPServer):
    """Forwards to the kiosk server; answers 502 for the page itself once `fail_page`."""

    daemon_threads = True
    fail_page = False
    upstream: tuple[str, int] = ("127.0.0.1", 0)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _Proxy

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        path = urlsplit(self.path).path
        if path == "/kiosk/api/events":  # no event stream through this proxy
            self._reply(503, b"")
            return
        if self.server.fail_page and path == "/kiosk":
            self._reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(*self.server.upstream, timeout=15)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = _forward
    do_POST = _forward


@pytest.fixture
def proxy(kiosk_server: LiveServer) -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _ProxyHandler)
    parts = urlsplit(kiosk_server.url)
    server.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_reload_while_a_proxy_answers_502_still_shows_the_kiosk(
    browser: Browser, proxy: _Proxy
) -> None:
    """Before: the service worker fell back to its cached page only when fetch threw, so a
    proxy's 502 page replaced the kiosk (and stopped its outbox) until someone reloaded."""
    context = tablet_context(browser, f"http://127.0.0.1:{proxy.server_address[1]}")
    try:
        page = context.new_page()
        page.goto("/kiosk")
        expect(page.get_by_role("heading", name=PAIR_TITLE)).to_be_visible()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        proxy.fail_page = True  # a deploy, a proxy without its upstream
        page.reload()
        expect(page.get_by_role("heading", name=PAIR_TITLE)).to_be_visible()
        expect(page.get_by_text("502 Bad Gateway")).to_have_count(0)
    finally:
        context.close()


# --- a reply that is not the server's ----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, "<html>Wi-Fi login</html>"), (404, "<html>404 Not Found (nginx)</html>")],
    ids=["captive-portal-200", "proxy-404"],
)
def test_a_reply_that_is_not_the_servers_keeps_the_answer_until_it_is_stored(
    tablet: BrowserContext,
    api: httpx.Client,
    make_key: KeyFactory,
    kiosk_server: LiveServer,
    status: int,
    body: str,
) -> None:
    """Before: any status below 500 (a captive portal's 200 page, a proxy's 404 page)
    removed the answer from the outbox though nothing was stored."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="OUTBOX-HTML")
    expect(page.get_by_text("OUTBOX-HTML")).to_be_visible(timeout=10_000)
    faked: list[int] = []

    def not_the_server(route: Route) -> None:
        faked.append(status)
        route.fulfill(status=status, content_type="text/html", body=body)

    page.route("**/kiosk/api/answers", not_the_server)
    answer_all(page)
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    expect(page.locator("#net")).to_contain_text(SERVER_DOWN_VI)
    assert faked and stored(kiosk_server) == []
    assert outbox_size(page) == 1
    page.unroute("**/kiosk/api/answers")
    delivered(page)  # the next round reaches the server
    assert len(stored(kiosk_server)) == 1


def test_a_final_refusal_from_the_server_still_leaves_the_outbox(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """The server's own final refusal (JSON with its error code) is not retried forever."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="OUTBOX-FINAL")
    expect(page.get_by_text("OUTBOX-FINAL")).to_be_visible(timeout=10_000)
    refusal = json.dumps({"error": "expired", "detail": "This survey has expired."})
    page.route(
        "**/kiosk/api/answers",
        lambda route: route.fulfill(status=410, content_type="application/json", body=refusal),
    )
    answer_all(page)
    delivered(page)


# --- storage full -----------------------------------------------------------------------


FILL_STORAGE = """() => {
  let i = 0;
  for (const size of [1 << 20, 1 << 14, 1 << 8, 1]) {
    const s = 'x'.repeat(size);
    try { for (;;) { localStorage.setItem('fill' + i, s); i += 1; } } catch (e) { /* full */ }
  }
  return i;
}"""
STORAGE_FULL_VI = "Máy không còn chỗ lưu"


def test_with_storage_full_send_stores_the_answer_before_thanking(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """Before: a full localStorage threw in send() and the tap did nothing, silently. Now the
    answer goes from memory, and the thank-you comes once the server has stored it."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="OUTBOX-FULL")
    expect(page.get_by_text("OUTBOX-FULL")).to_be_visible(timeout=10_000)
    answer_up_to_send(page)
    page.evaluate(FILL_STORAGE)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    assert len(stored(kiosk_server)) == 1
    assert errors == []


def test_with_storage_full_and_no_server_the_citizen_is_told_and_can_send_again(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory, kiosk_server: LiveServer
) -> None:
    """Storage full and the server unreachable: no thank-you (nothing is kept), a clear
    error on screen instead, and sending again once the server answers stores it."""
    page = paired_page(tablet, api, make_key)
    hand_over(api, make_key, dossier_code="OUTBOX-FULL-OFF")
    expect(page.get_by_text("OUTBOX-FULL-OFF")).to_be_visible(timeout=10_000)
    answer_up_to_send(page)
    page.evaluate(FILL_STORAGE)
    page.route("**/kiosk/api/answers", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.get_by_role("alert").filter(has_text=STORAGE_FULL_VI)).to_be_visible()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_have_count(0)
    page.unroute("**/kiosk/api/answers")
    page.get_by_role("button", name="Gửi đánh giá").tap()
    expect(page.get_by_role("heading", name=THANKS_VI)).to_be_visible()
    assert len(stored(kiosk_server)) == 1


# --- progress while the tablet waits for the server -------------------------------------


def test_finding_a_typed_code_shows_progress_while_waiting(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """Before: the find button stayed live and unchanged while the lookup waited."""
    page = paired_page(tablet, api, make_key)
    issued = hand_over(api, make_key, dossier_code="OUTBOX-SLOWFIND", counter_code=None)
    held: list[Route] = []
    page.route("**/kiosk/api/lookup", lambda route: held.append(route))
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu").fill(issued["short_code"])
    page.get_by_role("button", name="Tìm phiếu").tap()
    busy = page.locator("#screen button[type=submit]")
    expect(busy).to_be_disabled()
    expect(busy).to_have_attribute("aria-busy", "true")
    expect(busy).to_have_text("Đang tìm…")
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_text("OUTBOX-SLOWFIND")).to_be_visible()


def test_pairing_shows_progress_while_waiting(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """Before: the pair button stayed live and unchanged while the server was asked."""
    page = tablet.new_page()
    held: list[Route] = []
    page.route("**/kiosk/api/pair", lambda route: held.append(route))
    page.goto("/kiosk")
    page.get_by_label(PAIR_LABEL).fill(pairing_code(api, make_key))
    page.get_by_role("button", name="Ghép nối").tap()
    busy = page.locator("#screen button[type=submit]")
    expect(busy).to_be_disabled()
    expect(busy).to_have_attribute("aria-busy", "true")
    expect(busy).to_have_text("Đang ghép nối…")
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_role("heading", name="Kính chào ông/bà")).to_be_visible()


# --- a server that asks to be asked again -----------------------------------------------

ERROR_VI = "Có lỗi xảy ra. Ông/bà vui lòng thử lại."
SAME_MOMENT = (
    '{"error": "conflict", "detail": "Another request changed the same record at the same'
    ' moment. Send this request again."}'
)


def test_a_lookup_that_lost_a_race_is_not_called_already_answered(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """Before: every 409 was "already answered", so a citizen whose lookup lost a race at
    the database (409 "conflict") was told the survey was rated and sent away."""
    page = paired_page(tablet, api, make_key)
    issued = hand_over(api, make_key, dossier_code="OUTBOX-LOOKUP-RACE", counter_code=None)
    page.route(
        "**/kiosk/api/lookup",
        lambda route: route.fulfill(status=409, content_type="application/json", body=SAME_MOMENT),
    )
    page.get_by_role("button", name="Nhập mã đánh giá").tap()
    code = page.get_by_label("Mã đánh giá hoặc mã hồ sơ in trên phiếu")
    code.fill(issued["short_code"])
    page.get_by_role("button", name="Tìm phiếu").tap()
    expect(page.get_by_role("alert")).to_have_text(ERROR_VI)
    expect(code).to_have_value(issued["short_code"])  # to find it again with one tap
    expect(page.get_by_text("Hồ sơ này đã được đánh giá")).to_have_count(0)


def test_pairing_met_by_a_503_does_not_say_the_code_is_wrong(
    tablet: BrowserContext, api: httpx.Client, make_key: KeyFactory
) -> None:
    """Before: any refusal but a 429 said the one-time code was wrong, used or expired, so
    the clerk threw away a code still good while the database was out (503)."""
    page = tablet.new_page()
    page.goto("/kiosk")
    down = '{"error": "service_unavailable", "detail": "The service cannot reach its database."}'
    page.route(
        "**/kiosk/api/pair",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=down, headers={"Retry-After": "5"}
        ),
    )
    code = pairing_code(api, make_key)
    page.get_by_label(PAIR_LABEL).fill(code)
    page.get_by_role("button", name="Ghép nối").tap()
    expect(page.get_by_role("alert")).to_have_text(ERROR_VI)
    expect(page.get_by_label(PAIR_LABEL)).to_have_value(code)
    page.unroute("**/kiosk/api/pair")
    page.get_by_role("button", name="Ghép nối").tap()  # the same code, once the server is back
    expect(page.get_by_role("heading", name="Kính chào ông/bà")).to_be_visible()
