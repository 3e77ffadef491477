"""Evidence photos: verify an upload, keep the original, derive what people see.

Complaints use it now; self-inspections and inspections attach photos the same way.
A photo is accepted only if Pillow decodes it completely as one of the accepted
formats, identified by its content (never by file name or the client's content type).
The original bytes are stored unchanged with their SHA-256, as evidence, and never
served; the display copy and thumbnail are re-encoded JPEGs without any metadata
(no EXIF, no GPS, no ICC profile, no comments).

Decoding is the expensive part (a 115 KB PNG can hold 59 megapixels), so it comes last and once:
size, format and pixel count are judged from the header first (validate_photo_upload does only
that), a JPEG is decoded at the smallest scale that still covers the display copy, and callers
ingest a photo only once they have let its sender add it (signed in, allowed, within their rate).
Photos from people not signed in (``public``) get a far lower pixel limit and share a few decoding
places across all workers, so they can never hold every worker.
"""

import contextlib
import hashlib
import io
import logging
import math
import threading
import uuid
import warnings
from contextlib import contextmanager
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from core import ratelimit
from core.errors import DomainError
from core.models import Photo

try:
    import pillow_heif
except ImportError:  # optional: without it HEIC photos are refused as unsupported_format
    pillow_heif = None
else:
    pillow_heif.register_heif_opener()

logger = logging.getLogger(__name__)

DISPLAY_EDGE = 1600
THUMBNAIL_EDGE = 320
JPEG_QUALITY = 85
# A worker that dies while decoding a public photo frees its place after this many seconds.
PUBLIC_DECODE_TIMEOUT = 60

# Pillow format -> (content type, extension of the stored original). MPO is what Pillow calls
# the multi-picture JPEGs many phone cameras write; it is a JPEG file for everyone else.
_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg"),
    "MPO": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP")
_ACCEPTED = ("JPEG", "PNG", "WebP")
if pillow_heif is not None:
    _FORMATS["HEIF"] = ("image/heif", ".heic")
    _PILLOW_FORMATS += ("HEIF",)
    _ACCEPTED += ("HEIC",)

# Signatures of the formats people are likely to send, only to tell them what went wrong
# when Pillow refuses a file: (offset, magic bytes, name shown to the user).
_SIGNATURES = [
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (8, b"WEBP", "WebP"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    *((4, b"ftyp" + brand, "HEIC") for brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")),
    *((4, b"ftyp" + brand, "AVIF") for brand in (b"avif", b"avis")),
]

# catch_warnings() swaps the process-wide filter list; the lock keeps two uploads decoded in
# different threads from restoring each other's list (and leaving ours installed for good).
_warnings_lock = threading.Lock()


class PhotoError(DomainError):
    """An upload that is not an acceptable photo; the message is for the person who sent it."""

    status = 422


def validate_photo_upload(upload: File | IO[bytes], *, public: bool = False) -> None:
    """Raise PhotoError unless ``upload`` passes what can be judged without decoding it: its size,
    its format and its pixels, read from the header.

    For forms that must report a bad photo before saving anything else; cheap enough to run before
    the caller's own checks. Damaged image data shows only when photo_ingest decodes it (still
    before anything is stored). The upload is rewound afterwards, so it can be passed on to
    photo_ingest. ``public``: as photo_ingest.
    """
    _header(_read(upload), public=public)
    _rewind(upload)


def photo_ingest(
    *, upload: File | IO[bytes], uploaded_by: AbstractBaseUser | None = None, public: bool = False
) -> Photo:
    """Verify an uploaded photo and store it: the original as evidence, plus display copy and thumbnail.

    ``upload`` is a Django UploadedFile or File, or any binary file-like object; its name and
    declared content type are ignored. Raises PhotoError (status 422) with code ``too_large``,
    ``not_an_image``, ``unsupported_format``, ``truncated`` (incomplete or damaged image data)
    or ``too_many_pixels``; then nothing is stored.

    ``public``: sent by someone not signed in (the public's reports): at most
    PHOTO_PUBLIC_MAX_PIXELS are decoded, and at most PHOTO_PUBLIC_DECODES such photos are decoded
    at once across all workers; the next is refused with DomainError ``busy`` (503) undecoded.

    Decoding is the expensive part: call this only once the sender may add the photo (permission,
    state, rate limits), never before.
    """
    data = _read(upload)
    _image, size = _header(data, public=public)
    with _decoding_place(public):
        image = _decode(data, public=public)
        width, height, display, thumbnail = _render(image, size)
    content_type, extension = _FORMATS[image.format]
    photo = Photo(
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
        width=width,
        height=height,
        size=len(data),
        uploaded_by=uploaded_by,
    )
    stored: list[FieldFile] = []
    try:
        for field, content, suffix in (
            ("original", data, extension),
            ("display", display, ".jpg"),
            ("thumbnail", thumbnail, ".jpg"),
        ):
            # A fresh random name for each file: the display copy's URL must not lead to the
            # original, which still carries the sender's EXIF and GPS position.
            file = getattr(photo, field)
            file.save(f"{uuid.uuid4().hex}{suffix}", ContentFile(content), save=False)
            stored.append(file)
        # Only the row write is transactional: decoding happens before it, so it never holds the
        # database's write lock (SQLite takes it at BEGIN).
        with transaction.atomic():
            photo.save()
    except BaseException:
        for file in stored:
            _delete_quietly(file)
        raise
    return photo


def photos_ingest(
    *, uploads, uploaded_by: AbstractBaseUser | None = None, public: bool = False
) -> list[Photo]:
    """photo_ingest for each upload, all or none: a refused one takes back those stored before it."""
    stored: list[Photo] = []
    try:
        for upload in uploads:
            stored.append(photo_ingest(upload=upload, uploaded_by=uploaded_by, public=public))
    except BaseException:
        photos_discard(stored)
        raise
    return stored


@contextmanager
def _decoding_place(public: bool):
    """One of the PHOTO_PUBLIC_DECODES places shared by all workers, for a public photo."""
    if not public:
        yield
        return
    with ratelimit.shared_slot(
        "photo-decode", slots=settings.PHOTO_PUBLIC_DECODES, timeout=PUBLIC_DECODE_TIMEOUT
    ) as taken:
        if not taken:
            raise DomainError(
                _("Many photos are being received right now. Please send yours again in a minute."),
                code="busy",
                status=503,
                details={"retry_after": 60},
            )
        yield


def _read(upload: File | IO[bytes]) -> bytes:
    """The upload's bytes, refusing it as soon as it is known to exceed PHOTO_MAX_BYTES."""
    limit = settings.PHOTO_MAX_BYTES
    declared = getattr(upload, "size", None)  # Django's File.size raises AttributeError when unknown
    if declared is not None and declared > limit:
        raise _too_large(limit)
    _rewind(upload)
    chunks: list[bytes] = []
    total = 0
    while total <= limit:  # a declared size can lie, and a plain stream has none: read one byte past
        chunk = upload.read(limit + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_large(limit)
    return b"".join(chunks)


def _header(data: bytes, *, public: bool) -> tuple[ImageFile.ImageFile, tuple[int, int]]:
    """The image opened (header only) and set to decode at the scale it will be decoded at, and its
    full size; refused if it has more pixels than allowed, before any pixel is decoded."""
    image = _open(data)
    size = image.size
    _reduce(image)
    if public and image.width * image.height > settings.PHOTO_PUBLIC_MAX_PIXELS:
        raise _too_many_pixels(settings.PHOTO_PUBLIC_MAX_PIXELS)
    return image, size


def _reduce(image: ImageFile.ImageFile) -> None:
    """A JPEG at least twice the display size is decoded at a half, quarter or eighth of its size
    (libjpeg scales while it decodes every block, so damaged data is still found), the smallest
    that still covers the display copy: a 48-megapixel photo then costs what a 3-megapixel one does."""
    longest = max(image.size)
    if image.format not in ("JPEG", "MPO") or longest < 2 * DISPLAY_EDGE:
        return
    factor = longest / DISPLAY_EDGE
    image.draft(None, (max(1, math.ceil(image.width / factor)), max(1, math.ceil(image.height / factor))))


def _decode(data: bytes, *, public: bool) -> ImageFile.ImageFile:
    """Verify and fully load the image, at the scale _header chose."""
    try:
        with _strict_loading():
            image, _size = _header(data, public=public)
            image.verify()
            image, _size = _header(data, public=public)  # verify() leaves the image unusable
            image.load()
    except (PhotoError, MemoryError):
        raise
    except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError, struct.error...
        raise _damaged() from exc
    return image


_truncation_lock = threading.Lock()


@contextmanager
def _strict_loading():
    """Refuse cut-off images while this photo decodes.

    LOAD_TRUNCATED_IMAGES is a process-wide Pillow switch, and WeasyPrint turns it on when
    it is imported (for the PDFs this app renders); with it on, a truncated photo would be
    padded with grey and stored as evidence. Sync workers decode one request at a time;
    the lock covers threads.
    """
    with _truncation_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _open(data: bytes) -> ImageFile.ImageFile:
    """Identify the image by its content and read its header only."""
    try:
        # Pillow warns (above Image.MAX_IMAGE_PIXELS) or raises (above twice that) inside open(),
        # before we see the size; both become our too_many_pixels, never a logged warning.
        with _warnings_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(settings.PHOTO_MAX_PIXELS) from exc
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc
    except Exception as exc:  # the signature matched, the header is broken
        raise _damaged() from exc
    if image.width * image.height > settings.PHOTO_MAX_PIXELS:
        raise _too_many_pixels(settings.PHOTO_MAX_PIXELS)
    return image


def _render(image: ImageFile.ImageFile, size: tuple[int, int]) -> tuple[int, int, bytes, bytes]:
    """The size of the upright original (``size``: as stored, the image may be decoded smaller),
    and the display copy and thumbnail as JPEG bytes."""
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    width, height = (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit grey: convert() would clip every value above 255 to white.
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):  # palette, 1-bit and CMYK resample badly or not at all
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    # Shrink first, then turn upright: the bounding box is square, so the result is the same and a
    # rotated full-size copy (up to PHOTO_MAX_PIXELS) never sits in memory.
    image.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE))
    image = ImageOps.exif_transpose(image)
    # Copy the pixels onto a new canvas, so none of the original's info (EXIF, ICC profile, XMP,
    # comments, which Pillow may write back when saving) can follow; transparency becomes white.
    display = Image.new("RGB", image.size, "white")
    display.paste(image, mask=image if image.mode in ("RGBA", "LA") else None)
    thumbnail = display.copy()
    thumbnail.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    return width, height, _jpeg(display), _jpeg(thumbnail)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _rewind(upload: File | IO[bytes]) -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):  # not seekable: read on from where it is
        upload.seek(0)


def photos_discard(photos) -> None:
    """Remove photos stored for a write that was then refused: they belong to nothing.

    Callers ingest photos before taking their row locks (Pillow's work must not hold the
    database), so a refusal after that point leaves photos to take back."""
    for photo in photos:
        for file in (photo.original, photo.display, photo.thumbnail):
            _delete_quietly(file)
        photo.delete()


def _delete_quietly(file: FieldFile) -> None:
    try:
        file.storage.delete(file.name)
    except Exception:
        # The error that brought us here matters more; the file is an orphan with a random name.
        logger.exception("could not delete %s after a failed photo ingest", file.name)


def _accepted_formats() -> str:
    if pillow_heif is not None:
        return _("JPEG, PNG, WebP or HEIC")
    return _("JPEG, PNG or WebP")


def _too_large(limit: int) -> PhotoError:
    return PhotoError(
        _("This file is too large. A photo can be at most %(limit)s.") % {"limit": filesizeformat(limit)},
        code="too_large",
        details={"max_bytes": limit},
    )


def _too_many_pixels(limit: int) -> PhotoError:
    return PhotoError(
        _("This image has too many pixels. A photo can have at most %(megapixels)s megapixels.")
        % {"megapixels": f"{limit / 1_000_000:g}"},
        code="too_many_pixels",
        details={"max_pixels": limit},
    )


def _damaged() -> PhotoError:
    return PhotoError(
        _("This image is incomplete or damaged. Please send it again."),
        code="truncated",
    )


def _unidentified(data: bytes) -> PhotoError:
    """Pillow could not identify the file: say whether it is broken, of another format, or no image."""
    name = next((name for offset, magic, name in _SIGNATURES if data[offset:].startswith(magic)), None)
    if name in _ACCEPTED:
        return _damaged()
    if name is not None:
        return PhotoError(
            _("%(format)s images are not accepted. Please send a %(accepted)s image.")
            % {"format": name, "accepted": _accepted_formats()},
            code="unsupported_format",
            details={"format": name, "accepted": list(_ACCEPTED)},
        )
    return PhotoError(
        _("This file is not a %(accepted)s image.") % {"accepted": _accepted_formats()},
        code="not_an_image",
        details={"accepted": list(_ACCEPTED)},
    )


# --- serving ---------------------------------------------------------------------------------------------

# What a page may serve of a photo: the re-encoded copies without metadata, never the original.
SERVED_VARIANTS = {"display", "thumbnail"}


def photo_response(photo: Photo, variant: str) -> FileResponse:
    """A photo's display copy or thumbnail as a private, cacheable JPEG response; 404 for any other
    variant. The caller has checked that the user may see what the photo is attached to."""
    if variant not in SERVED_VARIANTS:
        raise Http404
    response = FileResponse(getattr(photo, variant).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
