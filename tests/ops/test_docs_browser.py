"""/docs works on a closed network: the page and everything it loads come from hailong."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect

from tests.browser import NewPage
from tests.conftest import ONE_BACKEND, LiveServer

pytestmark = [pytest.mark.browser, ONE_BACKEND]


def test_api_docs_render_with_every_outside_address_blocked(
    live_server: LiveServer,
    new_page: NewPage,
) -> None:
    page = new_page()
    outside: list[str] = []

    def only_hailong(route: Route) -> None:
        if urlsplit(route.request.url).netloc == urlsplit(live_server.url).netloc:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_hailong)
    # Under the pages' headers (security audit: /docs had none, and any site could frame
    # it), nothing the page needs is refused by its policy.
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    answer = page.goto(f"{live_server.url}/docs")
    assert answer is not None
    headers = answer.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    # Swagger UI has read /openapi.json and drawn an operation of the API. The schema (over
    # 200 KB, built on the first request) and its drawing took more than the default 5 s
    # once in a loaded CI run: the page was still "loading", not broken.
    drawn = page.locator(".opblock-summary-path", has_text="/api/v1/handovers").first
    expect(drawn).to_be_visible(timeout=20_000)
    assert outside == []
    assert refused == []
