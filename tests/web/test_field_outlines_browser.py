"""Form fields are outlined at 3:1 (WCAG 2.1, 1.4.11 non-text contrast), in Chromium.

A text field, a select or a textarea on a white card is found by its border alone: drawn in
the light grey of the table rules (#c9ced6, 1.6:1 on white) it was an outline a low-vision
official or citizen does not see (operations audit). axe-core checks the contrast of text,
not of such outlines: this measures the computed border against what lies behind the field.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import ONE_BACKEND, KeyFactory, LiveServer, handover_body

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

# For each visible field: its border colour, and the first opaque background behind it.
OUTLINES_JS = """() => {
  const rgb = (text) => (text.match(/[0-9.]+/g) || []).map(Number);
  const behind = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const [r, g, b, a] = rgb(getComputedStyle(node).backgroundColor);
      if (a === undefined || a > 0) return [r, g, b];
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(
      'input[type=text], input[type=password], input[type=date], input[type=tel], ' +
      'input[type=email], input:not([type]), select, textarea')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({
      field: el.id || el.name,
      border: rgb(getComputedStyle(el).borderTopColor).slice(0, 3),
      width: parseFloat(getComputedStyle(el).borderTopWidth),
      behind: behind(el),
    }));
}"""


def _luminance(colour: list[float]) -> float:
    def channel(value: float) -> float:
        s = value / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _faint_outlines(page: Page, url: str) -> list[str]:
    page.goto(url)
    # The kiosk draws its pairing field by script, after the load.
    page.locator("input:visible, select:visible, textarea:visible").first.wait_for()
    fields = page.evaluate(OUTLINES_JS)
    assert fields, f"no field on {url}"
    return [
        f"{url} {f['field']}: {contrast(f['border'], f['behind']):.2f}:1"
        for f in fields
        if f["width"] < 1 or contrast(f["border"], f["behind"]) < 3
    ]


def test_every_field_is_outlined_at_three_to_one(
    page: Page, live_server: LiveServer, make_key: KeyFactory
) -> None:
    made = httpx.post(
        f"{live_server.url}/api/v1/handovers", json=handover_body(), headers=make_key("issuer")
    )
    assert made.status_code == 201, made.text
    survey = made.json()["survey_url"]
    pages = [
        survey,  # the citizen's comment and contact
        f"{live_server.url}/console/sign-in",  # the key field
        f"{live_server.url}/rankings?parent_code=79",  # the period picker
        f"{live_server.url}/kiosk",  # the pairing code
    ]
    faint = [problem for url in pages for problem in _faint_outlines(page, url)]
    assert faint == [], faint
