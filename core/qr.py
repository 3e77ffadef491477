"""QR rendering for identity codes: PNG for screens and PDFs, SVG for print shops.

A code encodes the absolute address ``code_url(token)``. It must stay at QR
version 6 or lower (41 x 41 modules) at error-correction level Q: small enough to
scan from a 3 cm sticker in poor light, and Q (25 % recovery) survives a torn or
dirty corner. Only PUBLIC_BASE_URL can make the address longer, so that is what
the error names.

Rendered images are stored in the default storage on first use and served from
there afterwards. The file name carries a digest of the encoded address: if
PUBLIC_BASE_URL ever changes, the next request renders a fresh image instead of
serving one that points to the old domain.
"""

import base64
import hashlib
import io

import qrcode
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.exceptions import DataOverflowError
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

from core.codes import code_url
from core.errors import DomainError
from core.models import IdentityCode

QR_MAX_VERSION = 6
QR_BORDER = 4  # the quiet zone the standard requires; scanners miss codes printed without it
PNG_BOX_SIZE = 10  # pixels per module: a version-4 code is 410 px wide, sharp at 60 mm


def _too_large(version: int | str) -> DomainError:
    return DomainError(
        _(
            "The address in the QR code needs QR version %(version)s; at most %(max)s prints reliably. "
            "Shorten PUBLIC_BASE_URL (now %(base)s)."
        )
        % {"version": version, "max": QR_MAX_VERSION, "base": settings.PUBLIC_BASE_URL[:100]},
        code="qr_too_large",
        status=500,
    )


def qr_build(data: str, *, box_size: int = PNG_BOX_SIZE) -> qrcode.QRCode:
    """The smallest QR code holding ``data`` at level Q; refused above version 6."""
    qr = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_Q, box_size=box_size, border=QR_BORDER)
    qr.add_data(data)
    try:
        qr.make(fit=True)
    except (DataOverflowError, ValueError):
        # Beyond version 40: qrcode raises one or the other, depending on by how much.
        raise _too_large("> 40") from None
    if qr.version > QR_MAX_VERSION:
        raise _too_large(qr.version)
    return qr


def qr_png(data: str, *, box_size: int = PNG_BOX_SIZE) -> bytes:
    image = qr_build(data, box_size=box_size).make_image(
        image_factory=PilImage, fill_color="black", back_color="white"
    )
    out = io.BytesIO()
    image.save(out)  # 1-bit PNG: a code is a few hundred bytes
    return out.getvalue()


def qr_svg(data: str) -> bytes:
    out = io.BytesIO()
    qr_build(data).make_image(image_factory=SvgPathImage).save(out)
    return out.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def stored_or_render(name: str, render) -> bytes:
    """The bytes stored under ``name``, or ``render()`` stored there first."""
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as stored:
            return stored.read()
    content = render()
    saved = default_storage.save(name, ContentFile(content))
    if saved != name:
        # Another request stored the same bytes first; the storage kept both under two names.
        default_storage.delete(saved)
    return content


def _stored_name(code: IdentityCode, extension: str) -> str:
    digest = hashlib.sha256(code_url(code.token).encode()).hexdigest()[:8]
    return f"codes/{code.token}-{digest}.{extension}"


def code_png(code: IdentityCode) -> bytes:
    """The code's QR image as PNG, rendered once and then read from storage."""
    url = code_url(code.token)
    return stored_or_render(_stored_name(code, "png"), lambda: qr_png(url))


def code_svg(code: IdentityCode) -> bytes:
    """The code's QR image as a standalone SVG (one path), rendered once and then read from storage."""
    url = code_url(code.token)
    return stored_or_render(_stored_name(code, "svg"), lambda: qr_svg(url))


def code_png_data_uri(code: IdentityCode) -> str:
    """For embedding in PDFs: the PDF renderer fetches nothing but data: URIs and local static files."""
    return png_data_uri(code_png(code))
