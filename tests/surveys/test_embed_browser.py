"""The survey framed in a portal's page, in headless Chromium: a portal on another origin
(another port of 127.0.0.1) listed in HAILONG_EMBED_ORIGINS frames /embed/s/{token}; the
citizen answers inside the frame, the answer is stored once, the thank-you shows in the
frame and the portal hears {type: "hailong:answered"}. A portal not listed is refused the
frame, and so is any portal the phone page /s/{token}. axe-core checks the framed pages.

Screenshots land in artifacts/ (embed-*.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import axe_playwright_python
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, expect
from sqlmodel import select

from service.models import Invitation, Response
from tests.conftest import (
    ONE_BACKEND,
    KeyFactory,
    LiveServer,
    free_port,
    handover_body,
    make_settings,
    serve,
)
from tests.harness.processes import http_server

pytestmark = [
    pytest.mark.browser,
    ONE_BACKEND,
    pytest.mark.servers,
    pytest.mark.usefixtures("agencies"),
]

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
AXE_RUN_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map(n => n.target.join(' ')),
    }));
}"""
TAPPED = {
    "timeliness": "late",
    "supplement_requests": "once",
    "staff_attitude": "normal",
    "overall": "unsatisfied",
}
THANKS = "Cảm ơn ông/bà đã đánh giá!"
SEND = "Gửi đánh giá"


def _send_html(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class PortalPage(BaseHTTPRequestHandler):
    """A portal's page: an iframe of `frame_url` (set per test), and a listener that keeps
    every message it hears in window.heard."""

    frame_url: ClassVar[str] = "about:blank"

    def do_GET(self) -> None:
        body = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng dịch vụ công</title></head>
<body><h1>Cổng dịch vụ công</h1>
<script>
window.heard = [];
window.addEventListener("message", e => window.heard.push({{origin: e.origin, data: e.data}}));
</script>
<iframe id="survey" title="Đánh giá" src="{self.frame_url}" width="420" height="1400"></iframe>
</body></html>""".encode()
        _send_html(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Portals:
    allowed: str  # the origin HAILONG_EMBED_ORIGINS lists
    other: str  # an origin it does not
    live: LiveServer


@pytest.fixture
def portals(database_url: str) -> Iterator[Portals]:
    allowed_port = free_port()
    allowed = f"http://127.0.0.1:{allowed_port}"
    settings = make_settings(
        database_url, base_url=f"http://127.0.0.1:{free_port()}", embed_origins=allowed
    )
    with (
        serve(settings) as live,
        http_server(PortalPage, allowed_port) as allowed_url,
        http_server(PortalPage) as other_url,
    ):
        assert allowed_url == allowed
        yield Portals(allowed_url, other_url, live)
    PortalPage.frame_url = "about:blank"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_page(browser: Browser, contexts: list[BrowserContext], **options: Any) -> Page:
    context = browser.new_context(viewport={"width": 480, "height": 900}, locale="vi-VN", **options)
    context.set_default_timeout(10_000)
    contexts.append(context)
    return context.new_page()


def issue_token(live: LiveServer, make_key: KeyFactory, dossier_code: str) -> str:
    created = httpx.post(
        f"{live.url}/api/v1/handovers",
        json=handover_body(dossier_code=dossier_code),
        headers=make_key("issuer"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["survey_url"].rsplit("/", 1)[1])


def survey_frame(page: Page) -> Frame:
    frame = page.frame(url=re.compile(r"/embed/s/"))
    assert frame is not None, [f.url for f in page.frames]
    return frame


def serious(found: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [
        f"{name}: [{v['impact']}] {v['id']}: {v['help']} at {v['targets']}"
        for name, violations in found.items()
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_answered_inside_an_allowed_portal_stored_once_and_told_to_the_portal(
    portals: Portals,
    make_key: KeyFactory,
    browser: Browser,
    contexts: list[BrowserContext],
    artifacts_dir: Path,
) -> None:
    live = portals.live
    token = issue_token(live, make_key, "G22.39-EMBED-1")
    PortalPage.frame_url = f"{live.url}/embed/s/{token}"
    page = open_page(browser, contexts)
    page.goto(portals.allowed + "/")
    frame = page.frame_locator("#survey")
    for field, value in TAPPED.items():
        frame.locator(f'label.choice:has(input[name="{field}"][value="{value}"])').click()
    frame.get_by_role("button", name=SEND).click()
    expect(frame.get_by_role("heading", name=THANKS)).to_be_visible()
    page.wait_for_function("() => window.heard.some(m => m.data.type === 'hailong:answered')")
    page.screenshot(path=artifacts_dir / "embed-thanks.png", full_page=True)

    with live.session() as session:
        responses = session.exec(select(Response)).all()
        invitation = session.exec(select(Invitation)).one()
    assert len(responses) == 1 and responses[0].source == "phone"
    assert {field: getattr(responses[0], field) for field in TAPPED} == TAPPED
    assert invitation.status == "answered"
    heard = page.evaluate("() => window.heard")
    assert {m["origin"] for m in heard} == {live.url}
    assert [m["data"] for m in heard if m["data"]["type"] == "hailong:answered"] == [
        {"type": "hailong:answered", "survey_id": invitation.public_id}
    ]
    # Each page shown said so (the form, the thank-you), with its height.
    assert [m["data"]["type"] for m in heard].count("hailong:shown") == 2
    assert all(m["data"]["height"] > 0 for m in heard if m["data"]["type"] == "hailong:size")
    # Reloading the frame's page (a second post would need a second form) finds it answered.
    answered = httpx.post(f"{live.url}/embed/s/{token}", data={**TAPPED, "lang": "vi"})
    assert answered.status_code == 409
    with live.session() as session:
        assert len(session.exec(select(Response)).all()) == 1


def test_a_portal_not_listed_is_refused_the_frame_and_so_is_the_phone_page(
    portals: Portals, make_key: KeyFactory, browser: Browser, contexts: list[BrowserContext]
) -> None:
    live = portals.live
    token = issue_token(live, make_key, "G22.39-EMBED-2")
    refused: list[str] = []
    cases = [
        (portals.other, f"{live.url}/embed/s/{token}"),  # an origin not listed
        (portals.allowed, f"{live.url}/s/{token}"),  # the phone page is never framed
    ]
    for portal, frame_url in cases:
        PortalPage.frame_url = frame_url
        page = open_page(browser, contexts)
        page.on("console", lambda message: refused.append(message.text))
        page.goto(portal + "/")
        expect(page.get_by_role("heading", name="Cổng dịch vụ công")).to_be_visible()
        frame = page.frames[1]
        # Chromium puts its error page in place of the refused document.
        assert SEND not in frame.content()
        assert frame.evaluate("() => document.querySelector('form') === null")
    assert any("frame-ancestors" in text for text in refused), refused
    with live.session() as session:
        assert session.exec(select(Response)).all() == []


def test_axe_finds_nothing_serious_in_the_framed_survey(
    portals: Portals, make_key: KeyFactory, browser: Browser, contexts: list[BrowserContext]
) -> None:
    live = portals.live
    token = issue_token(live, make_key, "G22.39-EMBED-3")
    PortalPage.frame_url = f"{live.url}/embed/s/{token}"
    # The pages allow only script-src 'self': the injected axe needs the CSP bypassed.
    page = open_page(browser, contexts, bypass_csp=True)
    page.goto(portals.allowed + "/")
    found: dict[str, list[dict[str, Any]]] = {}
    frame = survey_frame(page)
    frame.add_script_tag(content=AXE_JS)
    found["form"] = frame.evaluate(AXE_RUN_JS)
    frame.get_by_role("button", name=SEND).click()  # nothing chosen: the form with errors
    expect(frame.locator("#errors")).to_be_visible()
    frame = survey_frame(page)
    frame.add_script_tag(content=AXE_JS)
    found["form with errors"] = frame.evaluate(AXE_RUN_JS)
    for field, value in TAPPED.items():
        frame.locator(f'label.choice:has(input[name="{field}"][value="{value}"])').click()
    frame.get_by_role("button", name=SEND).click()
    expect(frame.get_by_role("heading", name=THANKS)).to_be_visible()
    frame = survey_frame(page)
    frame.add_script_tag(content=AXE_JS)
    found["thanks"] = frame.evaluate(AXE_RUN_JS)
    assert serious(found) == []


class SizingPortal(BaseHTTPRequestHandler):
    """A portal's result page on a phone, with README's listener: the frame as tall as the
    page it shows, and brought into view when a new page is shown in it."""

    frame_url: ClassVar[str] = "about:blank"
    survey_origin: ClassVar[str] = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Cổng</title></head>
<body style="margin:8px"><h1>Kết quả hồ sơ</h1>
<iframe id="survey" src="{self.frame_url}" title="Đánh giá sự hài lòng"
 style="width:100%;border:0"></iframe>
<script>
let shown = 0;
addEventListener("message", e => {{
  if (e.origin !== "{self.survey_origin}") return;
  const frame = document.getElementById("survey");
  if (e.data.type === "hailong:size") frame.style.height = e.data.height + "px";
  if (e.data.type === "hailong:shown" && ++shown > 1) frame.scrollIntoView();
}});
</script></body></html>""".encode()
        _send_html(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _on_screen(page: Page, box: Any) -> bool:
    height = page.viewport_size["height"] if page.viewport_size else 0
    return box is not None and box["y"] + box["height"] > 0 and box["y"] < height


def test_a_portal_sizes_the_frame_and_shows_what_comes_after_a_send_at_360_px(
    database_url: str, make_key: KeyFactory, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """(audit) A bare iframe is 150 px tall and the frame told the portal no height; a
    portal that made it tall showed, after the citizen's tap at the bottom, the thank-you
    page 1,500 px above the screen (a white box); the form sent back with what to fix had
    no focus (Chromium ignores autofocus in another origin's frame). The frame now posts
    its height and each page shown; README's listener sizes and scrolls with them."""
    port = free_port()
    settings = make_settings(
        database_url,
        base_url=f"http://127.0.0.1:{free_port()}",
        embed_origins=f"http://127.0.0.1:{port}",
    )
    with serve(settings) as live, http_server(SizingPortal, port) as portal:
        SizingPortal.survey_origin = live.url
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        for code, leave_out in (("G22.39-SIZE-1", None), ("G22.39-SIZE-2", "timeliness")):
            SizingPortal.frame_url = f"{live.url}/embed/s/{issue_token(live, make_key, code)}"
            page.goto(portal + "/")
            frame = page.frame_locator("#survey")
            send = frame.get_by_role("button", name=SEND)
            expect(send).to_be_attached()
            # The frame grew to the form's height (the whole form, no inner scrolling).
            page.wait_for_function("() => document.getElementById('survey').offsetHeight > 1000")
            for field, value in TAPPED.items():
                if field != leave_out:
                    frame.locator(
                        f'label.choice:has(input[name="{field}"][value="{value}"])'
                    ).click()
            send.click()
            if leave_out is None:
                shown = frame.get_by_role("heading", name=THANKS)
            else:
                shown = frame.locator("#errors")
                expect(shown).to_be_attached()
                focused = survey_frame(page).evaluate("() => document.activeElement.id")
                assert focused == "errors"
            expect(shown).to_be_attached()
            page.wait_for_timeout(300)
            assert _on_screen(page, shown.bounding_box()), (
                page.evaluate("() => scrollY"),
                shown.bounding_box(),
            )
        SizingPortal.frame_url = "about:blank"


class DrawingPortal(BaseHTTPRequestHandler):
    """A portal's result page that draws the survey itself (README, "Draw it yourself"):
    its script fetches the form from hailong, takes each question's first answer as the
    citizen's taps, and posts the body the form gives, from the citizen's browser."""

    form_url: ClassVar[str] = ""
    answer_url: ClassVar[str] = ""

    def do_GET(self) -> None:
        body = f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Cổng</title></head><body><h1>Kết quả hồ sơ</h1>
<script>
window.outcome = (async () => {{
  try {{
    const form = await (await fetch("{self.form_url}")).json();
    const body = form.submit.body_example;
    for (const q of form.questions)
      if (q.kind === "choice") body.answers[q.field] = q.answers[0].value;
    const sent = await fetch("{self.answer_url}", {{
      method: "POST", headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify(body),
    }});
    return {{status: sent.status, body: await sent.json()}};
  }} catch (e) {{
    return {{error: String(e)}};
  }}
}})();
</script></body></html>""".encode()
        _send_html(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_listed_portal_draws_the_survey_and_answers_from_the_citizens_browser(
    database_url: str, make_key: KeyFactory, browser: Browser, contexts: list[BrowserContext]
) -> None:
    """The form's JSON and the answer's post, cross-origin in Chromium: the listed portal's
    script reads the form and its answer is stored; another origin's script reads nothing
    (the JSON post's preflight was a 405, so no portal could do this from its page)."""
    port = free_port()
    settings = make_settings(
        database_url,
        base_url=f"http://127.0.0.1:{free_port()}",
        embed_origins=f"http://127.0.0.1:{port}",
    )
    outcomes: dict[str, Any] = {}
    with (
        serve(settings) as live,
        http_server(DrawingPortal, port) as listed,
        http_server(DrawingPortal) as other,
    ):
        for n, portal in enumerate((other, listed)):
            token = issue_token(live, make_key, f"G22.39-DRAW-{n}")
            DrawingPortal.form_url = f"{live.url}/api/v1/surveys/{token}/form"
            DrawingPortal.answer_url = f"{live.url}/api/v1/responses"
            page = open_page(browser, contexts)
            page.goto(portal + "/")
            outcomes[portal] = page.evaluate("() => window.outcome")
        with live.session() as session:
            responses = session.exec(select(Response)).all()
    assert "error" in outcomes[other], outcomes
    answered = outcomes[listed]
    assert answered.get("status") == 201, outcomes
    assert [r.id for r in responses] == [answered["body"]["response_id"]]
