"""What a photo may cost before it is refused (issue 16, part 3): the header judged before any pixel
is decoded, one decoding per photo, a JPEG decoded at the scale its display copy needs, the public's
lower pixel limit and its few shared decoding places. The rest of core.photos: test_photos.py."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from core import ratelimit
from core.errors import DomainError
from core.models import Photo
from core.photos import DISPLAY_EDGE, PhotoError, photo_ingest, photos_ingest, validate_photo_upload

pytestmark = pytest.mark.django_db


def _jpeg(size, color="green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _png(size) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 128).save(buffer, "PNG")
    return buffer.getvalue()


def _upload(data: bytes, name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.fixture
def decoded(monkeypatch) -> list:
    """The sizes Pillow decoded images at, in order (a load() of pixels already there is none)."""
    sizes = []
    real_load = ImageFile.ImageFile.load

    def load(image):
        if image.tile:  # what is still to be decoded
            sizes.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def test_validating_an_upload_reads_its_header_and_decodes_nothing(decoded):
    validate_photo_upload(_upload(_jpeg((800, 600))))
    validate_photo_upload(_upload(_png((800, 600)), "p.png"), public=True)
    assert decoded == []


def test_a_photo_is_decoded_once_when_it_is_stored(decoded):
    upload = _upload(_jpeg((800, 600)))
    validate_photo_upload(upload)
    photo_ingest(upload=upload)
    assert decoded == [(800, 600)]


def test_a_large_jpeg_is_decoded_at_the_scale_its_display_copy_needs(decoded):
    photo = photo_ingest(upload=_upload(_jpeg((6_400, 4_800))))
    assert decoded == [(1_600, 1_200)]  # an eighth of the pixels: libjpeg scaled it by 4
    assert (photo.width, photo.height) == (6_400, 4_800)  # the original's size, as stored
    with photo.display.open("rb") as display:
        assert Image.open(display).size == (DISPLAY_EDGE, 1_200)


def test_a_damaged_large_jpeg_is_still_refused_when_decoded_smaller():
    noisy = Image.effect_noise((6_400, 4_800), 60).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    with pytest.raises(PhotoError) as refused:
        photo_ingest(upload=_upload(data[: len(data) // 2]))
    assert refused.value.code == "truncated"
    assert not Photo.objects.exists()


def test_the_public_gets_a_lower_pixel_limit_judged_from_the_header(settings, decoded):
    settings.PHOTO_PUBLIC_MAX_PIXELS = 1_000_000
    png = _png((1_200, 1_000))
    with pytest.raises(PhotoError) as refused:
        photo_ingest(upload=_upload(png, "p.png"), public=True)
    assert refused.value.code == "too_many_pixels"
    assert refused.value.details == {"max_pixels": 1_000_000}
    assert "at most 1 megapixels" in refused.value.message
    assert decoded == []
    assert photo_ingest(upload=_upload(png, "p.png")).width == 1_200  # not public: the usual limit


def test_a_public_jpeg_within_the_limit_once_scaled_is_accepted(settings):
    settings.PHOTO_PUBLIC_MAX_PIXELS = 4_000_000
    photo = photo_ingest(upload=_upload(_jpeg((6_400, 4_800))), public=True)  # 30.7 Mpx, decoded at 1.9
    assert (photo.width, photo.height) == (6_400, 4_800)


def test_public_photos_wait_for_none_of_the_few_decoding_places(settings, decoded):
    settings.PHOTO_PUBLIC_DECODES = 1
    with ratelimit.shared_slot("photo-decode", slots=1, timeout=60) as taken:
        assert taken
        with pytest.raises(DomainError) as busy:
            photo_ingest(upload=_upload(_jpeg((80, 60))), public=True)
        assert (busy.value.code, busy.value.status) == ("busy", 503)
        assert decoded == [] and not Photo.objects.exists()
        photo_ingest(upload=_upload(_jpeg((80, 60))))  # signed-in uploads do not queue for them
    photo_ingest(upload=_upload(_jpeg((80, 60))), public=True)  # the place was given back
    assert Photo.objects.count() == 2


def test_several_photos_are_stored_all_or_none():
    good = _jpeg((80, 60))
    damaged = _jpeg((400, 300))[:300]
    with pytest.raises(PhotoError):
        photos_ingest(uploads=[_upload(good), _upload(good), _upload(damaged)])
    assert not Photo.objects.exists()
    assert len(photos_ingest(uploads=[_upload(good), _upload(good)])) == 2
