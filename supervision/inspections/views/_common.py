"""What the loop's pages share: the size of a list's page, and serving a photo of a record or an
order (its display copy or thumbnail, never the original)."""

from django.http import FileResponse

from core.models import Photo

PAGE_SIZE = 30
PHOTO_VARIANTS = {"display", "thumbnail"}


def serve_photo(photo: Photo, variant: str) -> FileResponse:
    response = FileResponse(getattr(photo, variant).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def photo_pk(photo_id) -> int | None:
    try:
        return int(photo_id)
    except (TypeError, ValueError):
        return None
