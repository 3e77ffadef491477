import hashlib
import io
import random
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from PIL import ExifTags, Image, ImageCms, ImageFile

from core.models import Photo
from core.photos import PhotoError, photo_ingest, validate_photo_upload
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _image(size=(64, 48), mode="RGB", color="red") -> Image.Image:
    return Image.new(mode, size, color)


def _noise(size=(128, 96)) -> Image.Image:
    # Incompressible pixels, so that cutting the file in half really cuts image data.
    return Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit black PNG: a few hundred KB that decode to width x height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\x00" * ((width + 7) // 8)) * 1000  # filter byte + packed bits, 1000 rows
    compressor = zlib.compressobj(1)
    idat = b"".join(compressor.compress(rows) for _ in range(height // 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _stored(file) -> bytes:
    with file.open("rb") as f:
        return f.read()


def _opened(file) -> Image.Image:
    image = Image.open(io.BytesIO(_stored(file)))
    image.load()
    return image


def _media_files(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def _assert_refused(upload, code: str, settings) -> PhotoError:
    with pytest.raises(PhotoError) as refused:
        photo_ingest(upload=upload)
    assert refused.value.code == code
    assert refused.value.status == 422
    assert not Photo.objects.exists()
    assert _media_files(settings) == []
    return refused.value


class _Stream(io.BytesIO):
    """A plain binary stream that counts what is read from it."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


@pytest.mark.parametrize(
    ("fmt", "content_type", "suffix"),
    [("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("WEBP", "image/webp", ".webp")],
)
def test_it_accepts_a_photo_and_keeps_the_original_byte_for_byte(fmt, content_type, suffix, settings):
    data = _encode(_noise((120, 90)), fmt)
    user = UserFactory()

    photo = photo_ingest(upload=_upload(data, name="upload.bin", content_type="text/plain"), uploaded_by=user)

    photo.refresh_from_db()
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert _stored(photo.original) == data
    assert photo.original.name.endswith(suffix)
    assert (photo.content_type, photo.width, photo.height, photo.size) == (content_type, 120, 90, len(data))
    assert photo.uploaded_by == user
    display, thumbnail = _opened(photo.display), _opened(photo.thumbnail)
    assert (display.format, display.mode, display.size) == ("JPEG", "RGB", (120, 90))
    assert thumbnail.format == "JPEG"
    assert len(_media_files(settings)) == 3


@pytest.mark.parametrize(
    "wrap",
    [
        lambda data: File(io.BytesIO(data), name="photo.jpg"),
        lambda data: io.BytesIO(data),
        lambda data: _upload(data),
    ],
    ids=["django-file", "plain-stream", "uploaded-file"],
)
def test_it_accepts_any_binary_file_like_from_wherever_it_stands(wrap):
    data = _encode(_image(), "JPEG")
    upload = wrap(data)
    upload.read()  # a form or a previous check may have consumed it

    photo = photo_ingest(upload=upload)

    assert _stored(photo.original) == data


def test_it_strips_metadata_from_the_display_copy_and_turns_it_upright():
    image = _image((80, 40), color="red")
    image.paste("blue", (40, 0, 80, 40))  # left half red, right half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored lying down: turn 90° clockwise to view
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
    }
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(image, "JPEG", exif=exif, icc_profile=srgb, comment=b"taken at home")

    photo = photo_ingest(upload=_upload(data))

    original = _opened(photo.original)
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the evidence keeps everything
    assert (photo.width, photo.height) == (40, 80)
    for file in (photo.display, photo.thumbnail):
        copy = _opened(file)
        assert copy.size == (40, 80)
        assert not copy.getexif()
        assert not {"exif", "icc_profile", "comment", "xmp"} & copy.info.keys()
        assert b"Exif" not in _stored(file) and b"TestPhone" not in _stored(file)
        red, _, blue = copy.getpixel((20, 5))  # the left half is now on top
        assert red > 200 and blue < 60
        red, _, blue = copy.getpixel((20, 75))
        assert blue > 200 and red < 60


def test_it_shrinks_the_display_copy_and_thumbnail():
    photo = photo_ingest(upload=_upload(_encode(_image((2000, 1000), color="green"), "JPEG")))

    assert (photo.width, photo.height) == (2000, 1000)
    assert _opened(photo.display).size == (1600, 800)
    assert _opened(photo.thumbnail).size == (320, 160)


def test_it_flattens_transparency_onto_white():
    data = _encode(_image(mode="RGBA", color=(255, 0, 0, 0)), "PNG")

    photo = photo_ingest(upload=_upload(data))

    assert _opened(photo.display).getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "fmt", "color"),
    [
        ("L", "JPEG", 128),
        ("CMYK", "JPEG", (0, 0, 0, 127)),
        ("1", "PNG", 1),
        ("P", "PNG", 7),
        ("LA", "PNG", (128, 255)),
        ("I;16", "PNG", 128 * 256),  # 16-bit grey must stay mid-grey, not clip to white
        ("RGBA", "WEBP", (128, 128, 128, 255)),
    ],
)
def test_it_accepts_other_colour_modes_and_shows_them_in_rgb(mode, fmt, color):
    photo = photo_ingest(upload=_upload(_encode(_image(mode=mode, color=color), fmt)))

    display = _opened(photo.display)
    assert display.mode == "RGB"
    if mode not in ("1", "P"):
        assert all(100 < value < 160 for value in display.getpixel((10, 10)))


def test_it_accepts_a_multi_picture_jpeg_as_a_jpeg():
    # Many phone cameras write MPO: a JPEG with further images appended.
    data = _encode(_image(), "MPO", save_all=True, append_images=[_image(color="blue")])

    photo = photo_ingest(upload=_upload(data))

    assert (photo.content_type, Path(photo.original.name).suffix) == ("image/jpeg", ".jpg")


def test_it_accepts_heic_when_pillow_heif_is_installed():
    pytest.importorskip("pillow_heif")
    data = _encode(_image(), "HEIF")

    photo = photo_ingest(upload=_upload(data, name="IMG_0001.HEIC"))

    assert (photo.content_type, Path(photo.original.name).suffix) == ("image/heif", ".heic")
    assert _opened(photo.display).size == (64, 48)


def test_it_stores_files_under_random_names():
    photo = photo_ingest(upload=_upload(_encode(_image(), "JPEG"), name="zhang-san-home.jpg"))

    names = [Path(file.name) for file in (photo.original, photo.display, photo.thumbnail)]
    assert [name.parts[:2] for name in names] == [
        ("photos", "original"),
        ("photos", "display"),
        ("photos", "thumb"),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}\.jpg", name.name) for name in names)
    assert len({name.stem for name in names}) == 3  # the display URL does not lead to the original


def test_it_refuses_text_renamed_jpg(settings):
    upload = _upload(b"Dear inspector,\nthe kitchen is dirty.\n", name="evidence.jpg")

    error = _assert_refused(upload, "not_an_image", settings)

    assert error.message.startswith("This file is not a JPEG, PNG")


def test_it_refuses_random_bytes(settings):
    _assert_refused(_upload(random.Random(1).randbytes(4096)), "not_an_image", settings)


def test_it_refuses_an_empty_file(settings):
    _assert_refused(_upload(b""), "not_an_image", settings)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_it_refuses_unsupported_formats_and_names_the_accepted_ones(fmt, settings):
    error = _assert_refused(_upload(_encode(_image(), fmt)), "unsupported_format", settings)

    assert error.message.startswith(f"{fmt} images are not accepted. Please send a JPEG, PNG")
    assert error.details["format"] == fmt


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_it_refuses_a_truncated_image(fmt, settings):
    data = _encode(_noise(), fmt)

    error = _assert_refused(_upload(data[: len(data) // 2]), "truncated", settings)

    assert error.message == "This image is incomplete or damaged. Please send it again."


def test_it_refuses_a_png_with_a_broken_checksum(settings):
    data = bytearray(_encode(_noise(), "PNG"))
    crc_end = data.index(b"IEND") - 4  # the IDAT checksum sits just before IEND's length field
    data[crc_end - 1] ^= 0xFF

    _assert_refused(_upload(bytes(data), name="photo.png"), "truncated", settings)


@pytest.mark.parametrize(
    "side",
    [
        8_000,  # 64 Mpx: below Pillow's own limits, so only our check stands in the way
        10_000,  # 100 Mpx: Pillow warns
        20_000,  # 400 Mpx: Pillow raises
    ],
)
def test_it_refuses_a_decompression_bomb_without_decoding_it(side, settings, monkeypatch, recwarn):
    settings.PHOTO_MAX_PIXELS = 60_000_000
    bomb = _png_bomb(side, side)
    assert len(bomb) < 1_000_000

    def no_decoding(image):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    error = _assert_refused(_upload(bomb, name="bomb.png"), "too_many_pixels", settings)

    assert error.message == "This image has too many pixels. A photo can have at most 60 megapixels."
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_it_refuses_more_pixels_than_the_setting_allows(settings):
    settings.PHOTO_MAX_PIXELS = 100 * 100

    _assert_refused(_upload(_encode(_image((101, 100)), "PNG")), "too_many_pixels", settings)


def test_it_refuses_a_file_over_the_size_limit(settings):
    settings.PHOTO_MAX_BYTES = 2_000
    data = _encode(_noise(), "JPEG")
    assert len(data) > 2_000

    error = _assert_refused(_upload(data), "too_large", settings)

    assert error.message == "This file is too large. A photo can be at most 2.0\xa0KB."


def test_it_refuses_a_file_declared_too_large_without_reading_it(settings):
    settings.PHOTO_MAX_BYTES = 2_000
    stream = _Stream(_encode(_noise(), "JPEG"))

    _assert_refused(File(stream, name="photo.jpg"), "too_large", settings)

    assert stream.bytes_read == 0


@pytest.mark.parametrize("declared_size", [None, 10], ids=["no-size", "lying-size"])
def test_it_reads_at_most_one_byte_past_the_limit(declared_size, settings):
    settings.PHOTO_MAX_BYTES = 2_000
    stream = _Stream(_encode(_noise(), "JPEG"))
    upload = stream if declared_size is None else File(stream, name="photo.jpg")
    if declared_size is not None:
        upload.size = declared_size

    _assert_refused(upload, "too_large", settings)

    assert stream.bytes_read == 2_001


def test_validate_photo_upload_accepts_a_photo_and_leaves_it_ready_to_store():
    data = _encode(_image(), "PNG")
    upload = _upload(data, name="photo.png")

    assert validate_photo_upload(upload) is None

    assert not Photo.objects.exists()
    assert hashlib.sha256(upload.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert photo_ingest(upload=upload).sha256 == hashlib.sha256(data).hexdigest()


def test_validate_photo_upload_refuses_what_photo_ingest_refuses(settings):
    with pytest.raises(PhotoError) as refused:
        validate_photo_upload(_upload(b"GIF89a not really"))

    assert refused.value.code == "unsupported_format"
    assert _media_files(settings) == []


def test_it_leaves_no_files_when_the_database_write_fails(settings, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Photo, "save", fail)

    with pytest.raises(DatabaseError):
        photo_ingest(upload=_upload(_encode(_image(), "JPEG")))

    assert _media_files(settings) == []


def test_it_leaves_no_files_when_storing_one_of_them_fails(settings, monkeypatch):
    calls = []
    real_save = FileSystemStorage._save

    def fail_on_the_third(self, name, content):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", fail_on_the_third)

    with pytest.raises(OSError, match="disk full"):
        photo_ingest(upload=_upload(_encode(_image(), "JPEG")))

    assert len(calls) == 3
    assert not Photo.objects.exists()
    assert _media_files(settings) == []


def test_it_refuses_a_truncated_photo_even_after_weasyprint_relaxed_pillow(monkeypatch):
    # WeasyPrint switches LOAD_TRUNCATED_IMAGES on for the whole process when imported.
    import weasyprint  # noqa: F401

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = _encode(_image(), "JPEG")
    with pytest.raises(PhotoError) as caught:
        photo_ingest(upload=_upload(data[: len(data) // 2]))
    assert caught.value.code == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for WeasyPrint
    assert not Photo.objects.exists()
