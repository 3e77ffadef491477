"""What the loop's pages share: the size of a list's page, and reading a photo id from a URL."""

PAGE_SIZE = 30


def photo_pk(photo_id) -> int | None:
    try:
        return int(photo_id)
    except (TypeError, ValueError):
        return None
