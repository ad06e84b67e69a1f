"""Every landmark of a console page has a name of its own (axe's landmark-unique), and every
table that may scroll sideways stays a named region a keyboard can reach and scroll."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import KeyFactory
from tests.console.conftest import WARD, ConsoleClient, raw_key

pytestmark = pytest.mark.usefixtures("agencies")

# Elements without an end tag: they hold no text and close nothing.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
TABLE_WRAP = re.compile(r'<div class="table-wrap"[^>]*>')


class _Landmarks(HTMLParser):
    """The named landmarks of a page (a <section> is one only when it has a name) and the
    text of each element with an id, which names the landmarks labelled by it."""

    def __init__(self) -> None:
        super().__init__()
        self.named: list[tuple[str, str, str]] = []  # (role, "by" or "label", ids or label)
        self.text: dict[str, list[str]] = {}
        self.open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        role = found.get("role") or {"section": "region", "nav": "navigation"}.get(tag)
        if role in ("region", "navigation", "form", "complementary"):
            if found.get("aria-labelledby"):
                self.named.append((role, "by", found["aria-labelledby"] or ""))
            elif found.get("aria-label"):
                self.named.append((role, "label", found["aria-label"] or ""))
        if tag in VOID:
            return
        ident = found.get("id")
        if ident:
            self.text[ident] = []
        self.open.append((tag, ident))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        for _, ident in self.open:
            if ident:
                self.text[ident].append(data)


def landmarks(html: str) -> list[tuple[str, str]]:
    """(role, accessible name) of each named landmark, in page order."""
    parser = _Landmarks()
    parser.feed(html)
    found = []
    for role, how, value in parser.named:
        if how == "by":
            parts = (" ".join(parser.text.get(i, [])) for i in value.split())
            value = " ".join(" ".join(parts).split())
        found.append((role, value))
    return found


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("manager:79", "/console/a/79"),  # a city: its wards' table too
        ("admin", f"/console/a/{WARD}"),
        ("admin", "/console/alerts"),  # no agency chosen: the profile's rules
        ("manager:79", f"/console/alerts?agency={WARD}"),  # the ward's rules in force
        ("admin", f"/console/a/{WARD}/kiosks"),
        ("admin", "/console/audit"),
        ("admin", f"/console/a/{WARD}/staff"),
        ("admin", f"/console/a/{WARD}/dossiers"),
        ("admin", f"/console/a/{WARD}/petitions"),
        ("admin", f"/console/a/{WARD}/response-rates"),
    ],
)
def test_every_landmark_has_a_name_of_its_own(
    console: ConsoleClient, make_key: KeyFactory, who: str, path: str
) -> None:
    """Each card was a <section> named by its heading wrapping a scrollable role="region"
    named by the same heading: two landmarks of one name on the agency, alerts, kiosks and
    audit pages, which a screen reader's list of landmarks cannot tell apart (pages audit).
    The scrollable region is now named by its table's caption."""
    role, _, agency = who.partition(":")
    console.sign_in(raw_key(make_key(role, agency=agency or None)))
    page = console.get(path)
    assert page.status_code == 200
    named = landmarks(page.text)
    assert [name for _, name in named if not name] == [], named
    twice = sorted({landmark for landmark in named if named.count(landmark) > 1})
    assert twice == [], f"landmarks sharing a name on {path}: {twice}"
    # Each table that may scroll sideways is still focusable and a named region.
    wraps = TABLE_WRAP.findall(page.text)
    assert wraps, path
    for wrap in wraps:
        assert 'role="region"' in wrap and 'tabindex="0"' in wrap, wrap
        label = re.search(r'aria-labelledby="([^"]+)"', wrap)
        assert label and f'<caption id="{label.group(1)}"' in page.text, wrap
