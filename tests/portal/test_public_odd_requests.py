"""Public pages asked in odd ways (a mistyped ?lang=, parameters longer than any code or
period) or showing odd stored names: the widget stays frameable, the badge stays an image,
and the badge stays well-formed XML (audit)."""

from __future__ import annotations

from xml.dom.minidom import parseString

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import DbFactory

pytestmark = pytest.mark.usefixtures("agencies")
Q3 = "2025-Q3"
LONG_CODE = "X" * 65  # longer than any agency code
LONG_PERIOD = "2025-Q3" * 3  # longer than any period


def _framed_by_anyone(response: Response) -> bool:
    policy = response.headers["content-security-policy"]
    return "x-frame-options" not in response.headers and "frame-ancestors *" in policy


def _is_badge(response: Response) -> bool:
    return response.headers["content-type"] == "image/svg+xml" and response.text.startswith("<svg")


@pytest.mark.parametrize(
    "path",
    [
        f"/rankings?period={Q3}&parent_code=79",
        f"/agencies/79.BTH?period={Q3}",
        f"/embed/agencies/79.BTH?period={Q3}",
        f"/badge/79.BTH.svg?period={Q3}",
    ],
)
def test_a_language_we_do_not_speak_falls_back_to_vietnamese_however_long(
    client: TestClient, path: str
) -> None:
    """?lang=xx already fell back to Vietnamese; ?lang=vietnamese (past 8 characters) was the
    shared 422 error page: refused in the widget's frame, a broken image for the badge."""
    short, long = (client.get(f"{path}&lang={lang}") for lang in ("xx", "vietnamese"))
    assert long.status_code == short.status_code == 200, long.text[:300]
    assert long.headers["content-language"] == "vi"
    assert long.text == short.text
    if path.startswith("/embed/"):
        assert _framed_by_anyone(long)
    if path.startswith("/badge/"):
        assert _is_badge(long)


def test_the_widgets_refusals_of_a_too_long_parameter_may_be_framed(client: TestClient) -> None:
    unknown = client.get(f"/embed/agencies/{LONG_CODE}")
    assert unknown.status_code == 404 and _framed_by_anyone(unknown)
    assert f"Không có cơ quan nào có mã {LONG_CODE}" in unknown.text
    period = client.get(f"/embed/agencies/79.BTH?period={LONG_PERIOD}&lang=en")
    assert period.status_code == 422 and _framed_by_anyone(period)
    assert "Invalid period" in period.text
    # The pages' own refusals still may not be framed.
    page = client.get(f"/agencies/{LONG_CODE}")
    assert page.status_code == 404 and page.headers["x-frame-options"] == "DENY"
    assert f"Không có cơ quan nào có mã {LONG_CODE}" in page.text


def test_the_badges_refusals_of_a_too_long_parameter_are_badges(client: TestClient) -> None:
    unknown = client.get(f"/badge/{LONG_CODE}.svg")
    assert unknown.status_code == 404 and _is_badge(unknown)
    assert "không tìm thấy cơ quan" in unknown.text
    period = client.get(f"/badge/79.BTH.svg?period={LONG_PERIOD}")
    assert period.status_code == 422 and _is_badge(period)
    assert "kỳ không hợp lệ" in period.text
    parseString(period.text)
    # Too long for the parameter, yet a period once trimmed: still a period refused, not
    # "no such agency" for one that exists (review).
    padded = client.get("/badge/79.BTH.svg", params={"period": " " * 12 + "2025-Q3"})
    assert padded.status_code == 422 and "kỳ không hợp lệ" in padded.text


def test_a_control_character_stored_in_a_name_leaves_the_badge_well_formed(
    client: TestClient, db: DbFactory
) -> None:
    """A name stored before such characters were refused: the badge's <title> and
    aria-label held it raw, and an XML parser (an <img>) refused the whole badge."""
    with db() as session:
        session.execute(
            sa.text("UPDATE agency SET name = :name WHERE code = '79'"),
            {"name": "Thành phố\x0bHồ Chí Minh"},
        )
    badge = client.get(f"/badge/79.svg?period={Q3}")
    assert badge.status_code == 200 and _is_badge(badge)
    svg = parseString(badge.text).documentElement
    assert svg is not None
    shown = "\u2068Thành phố\ufffdHồ Chí Minh\u2069: "  # isolated (test_public_words.py)
    assert svg.getAttribute("aria-label").startswith(shown)
    title = svg.getElementsByTagName("title")[0].firstChild
    assert title is not None and str(title.nodeValue).startswith(shown)
