"""The public ranking and agency pages on a 360 px phone, driven by keyboard and thumb."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser import NewPage
from tests.conftest import ONE_BACKEND, DbFactory, LiveServer
from tests.portal.test_public_pages import seed_province

pytestmark = [pytest.mark.browser, ONE_BACKEND, pytest.mark.usefixtures("agencies")]

# The focused element, and whether the reader can see it: an ancestor clipped to 1 px
# (the visually-hidden pattern) hides it and its focus ring.
FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (el === document.body) return null;
  let hidden = false;
  for (let a = el; a; a = a.parentElement) {
    const s = getComputedStyle(a), r = a.getBoundingClientRect();
    if (s.clipPath !== 'none' && (r.width <= 1 || r.height <= 1)) hidden = true;
  }
  return {text: (el.textContent || '').trim(), hidden};
}"""


def tab_stops(page: Page, limit: int = 80) -> list[dict[str, object]]:
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None:
            break
        stops.append(focused)
    return stops


def test_every_tab_stop_of_the_ranking_on_a_phone_is_visible(
    live_server: LiveServer, new_page: NewPage, db: DbFactory
) -> None:
    """At 360 px the table's header is visually hidden (portal.css .ranking thead), yet its
    nine sort links stay in the tab order: the focus disappears for nine Tab presses."""
    seed_province(db)
    page = new_page(width=360, height=740)
    page.goto(f"{live_server.url}/rankings?period=2025-Q3&parent_code=79")
    invisible = [stop["text"] for stop in tab_stops(page) if stop["hidden"]]
    assert invisible == [], f"focus lands on links nobody can see: {invisible}"


def test_the_ranking_s_way_up_the_tree_is_a_thumb_sized_target(
    live_server: LiveServer, new_page: NewPage, db: DbFactory
) -> None:
    """The crumb links (the way up the tree from a ranking) are one line of 16 px text with
    8 px padding: 39 px tall on a phone, where every other link of the
    pages' bars is at least 44 px (portal.css .brand, .langs a, .sorts a)."""
    seed_province(db)
    page = new_page(width=360, height=740)
    for path in ("/agencies/79.BTH?period=2025-Q3", "/rankings?period=2025-Q3&parent_code=79"):
        page.goto(f"{live_server.url}{path}")
        for link in page.locator("nav.crumbs a").all():
            box = link.bounding_box()
            assert box is not None
            assert box["height"] >= 44, (path, link.text_content(), box)


def test_on_a_desktop_a_focused_sort_link_leaves_the_table_as_it_was(
    live_server: LiveServer, new_page: NewPage, db: DbFactory
) -> None:
    """The phone's rule that shows the header while a link in it has focus must not reach
    a desktop, where the header is the table's own row."""
    seed_province(db)
    page = new_page(width=1280, height=800)
    page.goto(f"{live_server.url}/rankings?period=2025-Q3&parent_code=79")
    stops = tab_stops(page)
    assert any(str(stop["text"]).startswith("K") for stop in stops), stops
    page.locator("thead a").first.focus()
    shown = page.evaluate("getComputedStyle(document.querySelector('.ranking thead')).display")
    assert shown == "table-header-group"
