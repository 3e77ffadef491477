"""Image bytes and uploads for photo, evidence and signature tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_bytes(size=(60, 24), color="black") -> bytes:
    """A tiny drawing, the size of a signature pad stroke."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(color="red", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg(name="photo.jpg", color="red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(color), content_type="image/jpeg")


def fake_jpeg(name="photo.jpg") -> SimpleUploadedFile:
    """Named and typed like a photo; the content is not one."""
    return SimpleUploadedFile(name, b"this is not an image at all", content_type="image/jpeg")
