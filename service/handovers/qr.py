"""QR codes of survey links, as SVG and PNG."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

# Level M survives ~15% damage: a slip printed small on a thermal printer still scans.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4  # modules; the QR standard's minimum


def _qr(data: str, box_size: int) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return code


def svg(data: str) -> bytes:
    image = _qr(data, box_size=10).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def svg_inline(data: str) -> str:
    """The SVG without its XML declaration, to embed in an HTML page."""
    text = svg(data).decode()
    return text[text.index("<svg") :]


def png(data: str, box_size: int = 8) -> bytes:
    image = _qr(data, box_size=box_size).make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
