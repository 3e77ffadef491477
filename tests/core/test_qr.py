import io
from xml.etree import ElementTree

import pytest
import zxingcpp
from django.core.files.storage import default_storage
from PIL import Image, ImageFilter

from core import qr
from core.codes import code_issue, code_rotate, code_url
from core.errors import DomainError

pytestmark = pytest.mark.django_db

LONG_BASE_URL = "https://jianguan.beijing.example.gov.cn"


@pytest.fixture
def code(enterprise):
    return code_issue(enterprise=enterprise)


def decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def phone_photo(image: Image.Image) -> Image.Image:
    """Roughly what a phone sees of a printed sticker: small, a little tilted, a little blurred."""
    small = image.convert("L").resize((120, 120), Image.Resampling.LANCZOS)
    tilted = small.rotate(7, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    return tilted.filter(ImageFilter.GaussianBlur(1))


def test_it_encodes_the_absolute_code_url(code):
    image = Image.open(io.BytesIO(qr.code_png(code)))
    assert image.format == "PNG"
    assert decode(image) == [code_url(code.token)]


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000", LONG_BASE_URL])
def test_it_still_scans_as_a_small_tilted_blurred_photo(code, settings, base_url):
    settings.PUBLIC_BASE_URL = base_url
    photo = phone_photo(Image.open(io.BytesIO(qr.code_png(code))))
    assert photo.width < 150
    assert decode(photo) == [f"{base_url}/c/{code.token}"]


def test_it_fits_version_6_at_level_q_for_a_long_public_base_url(code, settings):
    settings.PUBLIC_BASE_URL = LONG_BASE_URL
    built = qr.qr_build(code_url(code.token))
    assert built.version <= qr.QR_MAX_VERSION
    assert built.error_correction == qr.ERROR_CORRECT_Q


def test_it_refuses_a_public_base_url_too_long_for_a_printable_code(code, settings):
    settings.PUBLIC_BASE_URL = "https://" + "very-long-subdomain." * 8 + "example.gov.cn"
    with pytest.raises(DomainError) as refused:
        qr.code_png(code)
    assert refused.value.code == "qr_too_large"
    assert "PUBLIC_BASE_URL" in refused.value.message
    assert not default_storage.exists("codes")


def test_it_refuses_an_address_beyond_any_qr_version(settings):
    settings.PUBLIC_BASE_URL = "https://" + "x" * 3000 + ".cn"
    with pytest.raises(DomainError) as refused:
        qr.qr_build(code_url("A" * 22))
    assert refused.value.code == "qr_too_large"


def test_it_renders_a_valid_svg_with_one_path(code):
    svg = ElementTree.fromstring(qr.code_svg(code))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    paths = svg.findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1
    assert paths[0].get("d")


def test_it_stores_the_images_and_reads_them_back_afterwards(code, monkeypatch):
    first_png, first_svg = qr.code_png(code), qr.code_svg(code)
    stored = sorted(default_storage.listdir("codes")[1])
    assert len(stored) == 2
    assert all(name.startswith(code.token) for name in stored)

    def must_not_render(*args, **kwargs):
        raise AssertionError("rendered again instead of read from storage")

    monkeypatch.setattr(qr, "qr_png", must_not_render)
    monkeypatch.setattr(qr, "qr_svg", must_not_render)
    assert qr.code_png(code) == first_png
    assert qr.code_svg(code) == first_svg


def test_it_renders_afresh_when_the_address_changes(code, settings):
    first = qr.code_png(code)
    settings.PUBLIC_BASE_URL = LONG_BASE_URL
    again = qr.code_png(code)
    assert again != first
    assert decode(Image.open(io.BytesIO(again))) == [f"{LONG_BASE_URL}/c/{code.token}"]


def test_a_rotated_code_gets_its_own_image(code, enterprise, admin_user):
    old = qr.code_png(code)
    new_code = code_rotate(enterprise=enterprise, actor=admin_user, reason="sticker torn")
    assert decode(Image.open(io.BytesIO(qr.code_png(new_code)))) == [code_url(new_code.token)]
    assert qr.code_png(new_code) != old


def test_the_data_uri_holds_the_png(code):
    uri = qr.code_png_data_uri(code)
    assert uri.startswith("data:image/png;base64,")
    assert len(uri) < 10_000
