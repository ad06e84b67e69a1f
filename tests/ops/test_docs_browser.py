"""/docs works on a closed network: the page and everything it loads come from hailong."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect

from tests.browser import NewPage
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


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
    page.goto(f"{live_server.url}/docs")
    # Swagger UI has read /openapi.json and drawn an operation of the API. The schema (over
    # 200 KB, built on the first request) and its drawing took more than the default 5 s
    # once in a loaded CI run: the page was still "loading", not broken.
    drawn = page.locator(".opblock-summary-path", has_text="/api/v1/handovers").first
    expect(drawn).to_be_visible(timeout=20_000)
    assert outside == []
