"""The QR codes of survey links scan: as served, printed small, partly damaged, and as SVG."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import httpx
import numpy as np
import pytest
import qrcode.constants
from fastapi.testclient import TestClient
from sqlmodel import select

from service.handovers import qr
from service.models import Invitation
from tests.browser import NewPage, decode_qr
from tests.conftest import ONE_BACKEND, DbFactory, LiveServer, handover_body

URL = "/api/v1/handovers"
UNKNOWN_TOKEN = "A" * 43
# A receipt printer has 8 dots per mm (203 dpi); at 2.5 dots per module this code would be
# about 14 mm wide with its quiet zone, smaller than any slip prints it.
PRINTED_DOTS_PER_MODULE = 2.5
# What a phone camera sees of that print: every dot magnified a few times.
CAMERA_MAGNIFICATION = 4
# A square blot over 7% of the symbol (about 9% of its data modules) destroys more
# codewords than level L (~7%) restores, and fewer than M (~15%) does. Checked both ways.
BLOT_FRACTION = 0.07


@dataclass
class Geometry:
    pixels_per_module: float
    modules: int  # the symbol's side, quiet zone excluded
    quiet_zone: float  # the narrowest light margin, in modules
    top: int  # first dark row and column, in pixels
    left: int


def geometry(gray: np.ndarray) -> Geometry:
    """Measure a QR image. The top-left finder's first row is 7 dark modules, which gives a
    first guess of the symbol's side; a QR symbol is 17 + 4 × version modules wide."""
    dark = gray < 128
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark.any(axis=0))
    assert rows.size and cols.size, "the image has no dark pixels"
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    first_row = dark[top, left:]
    finder_run = int(np.argmin(first_row)) if not first_row.all() else first_row.size
    width = right - left + 1
    guess = width * 7 / finder_run
    modules = 17 + 4 * max(1, round((guess - 17) / 4))
    assert abs(guess - modules) < 1.5, f"{guess:.1f} modules is no QR version's size"
    px = width / modules
    height, full_width = gray.shape
    margins = (top, left, height - 1 - bottom, full_width - 1 - right)
    return Geometry(px, modules, min(margins) / px, int(top), int(left))


def png_gray(data: bytes) -> np.ndarray:
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert gray is not None, "the response is not a PNG OpenCV can read"
    return gray


def print_small(gray: np.ndarray, dots_per_module: float) -> np.ndarray:
    """Rasterise like a thermal printer (black or white dots), then view it like a camera."""
    scale = dots_per_module / geometry(gray).pixels_per_module
    printed = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    printed = np.where(printed < 128, 0, 255).astype(np.uint8)
    return cv2.resize(
        printed,
        None,
        fx=CAMERA_MAGNIFICATION,
        fy=CAMERA_MAGNIFICATION,
        interpolation=cv2.INTER_NEAREST,
    )


def blot_centre(gray: np.ndarray, fraction: float) -> np.ndarray:
    """Paint a white square over the middle of the symbol, clear of finders and timing."""
    g = geometry(gray)
    side = round((fraction * g.modules**2) ** 0.5)
    first = (g.modules - side) // 2
    start, end = round(first * g.pixels_per_module), round((first + side) * g.pixels_per_module)
    blotted = gray.copy()
    blotted[g.top + start : g.top + end, g.left + start : g.left + end] = 255
    return blotted


def qr_code(data: str, error_correction: int) -> np.ndarray:
    code = qrcode.QRCode(error_correction=error_correction, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    return (
        np.where(np.array(code.get_matrix(), dtype=bool), 0, 255)
        .astype(np.uint8)
        .repeat(8, axis=0)
        .repeat(8, axis=1)
    )


@pytest.fixture
def issued(
    client: TestClient, make_key: Callable[..., dict[str, str]], agencies: None
) -> dict[str, str]:
    response = client.post(URL, json=handover_body(), headers=make_key("issuer"))
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_png_decodes_to_the_survey_url(client: TestClient, issued: dict[str, str]) -> None:
    response = client.get(path_of(issued["qr_png_url"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert decode_qr(response.content) == issued["survey_url"]


def test_png_has_a_quiet_zone_and_scans_when_printed_small(
    client: TestClient, issued: dict[str, str]
) -> None:
    gray = png_gray(client.get(path_of(issued["qr_png_url"])).content)
    g = geometry(gray)
    assert g.quiet_zone >= 4, "scanners need a light margin of 4 modules around the code"
    assert g.pixels_per_module >= 4, "the PNG itself should be sharp enough to print from"
    small = print_small(gray, PRINTED_DOTS_PER_MODULE)
    printed = geometry(small)
    dots = printed.pixels_per_module / CAMERA_MAGNIFICATION
    assert 2 <= dots <= 3, f"the simulated print has {dots:.2f} dots per module"
    assert printed.modules == g.modules
    assert printed.quiet_zone >= 3.5  # rounding to whole dots may shave a fraction
    assert decode_qr(small) == issued["survey_url"]


def test_error_correction_is_m_or_higher_and_survives_a_blot(
    client: TestClient, issued: dict[str, str]
) -> None:
    c = qrcode.constants
    assert qr.ERROR_CORRECTION in (c.ERROR_CORRECT_M, c.ERROR_CORRECT_Q, c.ERROR_CORRECT_H)
    gray = png_gray(client.get(path_of(issued["qr_png_url"])).content)
    blotted = blot_centre(gray, BLOT_FRACTION)
    assert (blotted != gray).mean() > 0.01, "the blot changed nothing"
    assert decode_qr(blotted) == issued["survey_url"]


def test_the_blot_defeats_level_l() -> None:
    """The blot above is big enough to tell M from L (else the test before could not fail)."""
    data = "http://testserver/s/" + "q" * 43
    low = qr_code(data, qrcode.constants.ERROR_CORRECT_L)
    assert decode_qr(low) == data
    assert decode_qr(blot_centre(low, BLOT_FRACTION)) == ""
    medium = qr_code(data, qrcode.constants.ERROR_CORRECT_M)
    assert decode_qr(blot_centre(medium, BLOT_FRACTION)) == data


@pytest.mark.browser
@ONE_BACKEND
@pytest.mark.usefixtures("agencies")
def test_svg_rendered_by_chromium_decodes_to_the_survey_url(
    live_server: LiveServer, make_key: Callable[..., dict[str, str]], new_page: NewPage
) -> None:
    response = httpx.post(
        f"{live_server.url}{URL}", json=handover_body(), headers=make_key("issuer")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["qr_svg_url"].startswith(live_server.url)
    page = new_page(width=400, height=400, scale=2)
    loaded = page.goto(body["qr_svg_url"])
    assert loaded is not None and loaded.status == 200
    assert loaded.headers["content-type"] == "image/svg+xml"
    screenshot = page.locator("svg").screenshot()
    # Anti-aliased edges at 7.6 px per module blur the margin by a fraction of a module.
    assert geometry(png_gray(screenshot)).quiet_zone >= 3.8
    assert decode_qr(screenshot) == body["survey_url"]


@pytest.mark.parametrize("image", ["qr.png", "qr.svg"])
def test_unknown_token_is_404(client: TestClient, image: str) -> None:
    response = client.get(f"/s/{UNKNOWN_TOKEN}/{image}")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.text
    assert not response.headers["content-type"].startswith("image/")


@pytest.mark.parametrize("image", ["qr.png", "qr.svg"])
def test_revoked_token_is_410(
    client: TestClient,
    make_key: Callable[..., dict[str, str]],
    issued: dict[str, str],
    image: str,
) -> None:
    revoke = client.post(f"{URL}/{issued['dossier_code']}/revoke", headers=make_key("issuer"))
    assert revoke.status_code == 200, revoke.text
    response = client.get(f"{path_of(issued['survey_url'])}/{image}")
    assert response.status_code == 410
    assert not response.headers["content-type"].startswith("image/")


@pytest.mark.parametrize(
    ("image", "media_type"), [("qr.png", "image/png"), ("qr.svg", "image/svg+xml")]
)
def test_qr_images_are_privately_cacheable_and_send_no_referrer(
    client: TestClient, issued: dict[str, str], image: str, media_type: str
) -> None:
    response = client.get(f"{path_of(issued['survey_url'])}/{image}")
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    directives = {d.strip() for d in response.headers["cache-control"].lower().split(",")}
    assert "private" in directives or "no-store" in directives
    assert "public" not in directives
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("suffix", ["qr.png", "qr.svg", "slip"])
def test_expired_link_gets_no_code_to_print(
    client: TestClient, issued: dict[str, str], db: DbFactory, suffix: str
) -> None:
    with db() as session:
        invitation = session.exec(select(Invitation)).one()
        invitation.expires_at = invitation.issued_at
        session.add(invitation)
    response = client.get(f"{path_of(issued['survey_url'])}/{suffix}")
    assert response.status_code == 410
    assert issued["short_code"] not in response.text
