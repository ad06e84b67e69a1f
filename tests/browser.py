"""Browser fixtures: Playwright's sync API driving Debian's Chromium (never a downloaded one).

Without /usr/bin/chromium the browser tests are skipped, unless HAILONG_TEST_REQUIRE_BROWSER=1
(CI sets it) turns that into a failure.

The browser lives for one test module, not the whole session: while Playwright's sync API is
running, its event loop is registered as the thread's running loop, so asyncio.run() anywhere
else in the suite (e.g. tests of async clients) would fail with "cannot be called from a
running event loop".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("HAILONG_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_VIEWPORT = {"width": 480, "height": 900}

NewPage = Callable[..., Page]


def decode_qr(image: bytes | np.ndarray) -> str:
    """The text of the QR code in a PNG (bytes) or a greyscale/BGR image; "" if none is read.

    OpenCV's classic QRCodeDetector misses a few percent of perfectly clean codes (its finder
    search trips on some module patterns); a phone would read them. The ArUco-based detector
    reads those, so a code counts as scannable when either OpenCV detector decodes it.
    """
    if isinstance(image, bytes):
        decoded = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert decoded is not None, "not a decodable image"
        pixels: np.ndarray = decoded
    else:
        pixels = image
    for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        text, _, _ = detector.detectAndDecode(pixels)
        if text:
            return str(text)
    return ""


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = f"Chromium is not installed ({CHROMIUM}); browser tests skipped"
        if REQUIRE_BROWSER:
            pytest.fail(message + " but HAILONG_TEST_REQUIRE_BROWSER=1 demands them")
        pytest.skip(message)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """new_page(width=..., height=..., scale=...) -> a page in a fresh context, closed after."""
    contexts: list[BrowserContext] = []

    def make(
        width: int = DEFAULT_VIEWPORT["width"],
        height: int = DEFAULT_VIEWPORT["height"],
        scale: float = 1,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()


__all__ = ["NewPage", "decode_qr"]
