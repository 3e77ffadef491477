"""HTML to PDF with WeasyPrint, fetching nothing from the network.

Documents are rendered from templates that include user-supplied text (enterprise
names, inspection notes). WeasyPrint would otherwise fetch whatever a stylesheet
or ``<img>`` names: a server-side request to any host (SSRF) or a read of any
local file. The fetcher here allows ``data:`` URIs and files inside the static
directories and MEDIA_ROOT only; anything else raises inside the fetcher, and
WeasyPrint logs the error and renders the document without that resource.

Relative URLs resolve against STATIC_ROOT, so a template can link
``core/some.css``; before ``collectstatic`` the staticfiles finders supply it.
"""

import mimetypes
import os.path
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Chinese text needs a CJK font everywhere, page margin boxes (headers, footers,
# page numbers) included: they take their font from @page, not from body, and
# render boxes without one. A user-level stylesheet, so templates may still override it.
CJK_FONTS = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'
BASE_CSS = f"""
@page {{ font-family: {CJK_FONTS}; }}
html, body {{ font-family: {CJK_FONTS}; }}
"""


# WeasyPrint's fetcher builds an HTTPS handler, and without a context of its own that handler makes
# a default one, reading the system's CA bundle: 25-50 ms of CPU on every render, for a handler this
# fetcher never reaches (it refuses every scheme but data: and file:). This context, made once,
# trusts no certificate at all, so even a path that reached it could not fetch anything over TLS.
_NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class ResourceRefused(Exception):
    """A document referred to something outside what PDFs may read."""


def _allowed_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT), Path(settings.MEDIA_ROOT)]
    for finder in finders.get_finders():
        for storage in getattr(finder, "storages", {}).values():
            location = getattr(storage, "location", None)
            if location:
                roots.append(Path(location))
    return [root.resolve() for root in roots]


class LocalOnlyURLFetcher(URLFetcher):
    """WeasyPrint's fetcher, cut down to data: URIs and the app's own static and media files."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, ssl_context=_NO_TLS)
        self.roots = _allowed_roots()

    def fetch(self, url, headers=None):
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            # Decoded by urllib's data: handler; the base class refuses every other scheme.
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._local_file(url)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})
        raise ResourceRefused(f"PDFs fetch nothing from the network: {url[:200]}")

    def _local_file(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ResourceRefused(f"not a local file: {url[:200]}")
        # normpath folds "../" before the prefix test; resolve() below follows symlinks and is tested again.
        path = Path(os.path.normpath(url2pathname(parts.path)))
        candidates = [path]
        static_root = Path(settings.STATIC_ROOT)
        if path.is_relative_to(static_root):
            found = finders.find(str(path.relative_to(static_root)))
            if found:
                candidates.append(Path(found))
        for candidate in candidates:
            try:
                resolved = candidate.resolve(strict=True)
            except OSError:
                continue
            if resolved.is_file() and any(resolved.is_relative_to(root) for root in self.roots):
                return resolved
        raise ResourceRefused(f"outside the static and media directories, or missing: {url[:200]}")


def render_pdf(html: str) -> bytes:
    """Render an HTML document (a rendered template) to PDF bytes."""
    fetcher = LocalOnlyURLFetcher()
    document = weasyprint.HTML(
        string=html, url_fetcher=fetcher, base_url=Path(settings.STATIC_ROOT).as_uri() + "/"
    )
    return document.write_pdf(stylesheets=[weasyprint.CSS(string=BASE_CSS, url_fetcher=fetcher)])


def _copy_pages(reader: PdfReader, out: BinaryIO, offsets: list[int]) -> list[int]:
    """Append the reader's pages and all they refer to, renumbered; return the pages' new numbers."""
    numbers: dict[tuple[int, int], int] = {}
    queue: list[IndirectObject] = []

    def number_of(ref: IndirectObject) -> IndirectObject:
        key = (ref.idnum, ref.generation)
        if key not in numbers:
            numbers[key] = len(offsets)
            offsets.append(0)
            queue.append(ref)
        return IndirectObject(numbers[key], 0, None)

    def copy(obj):
        if isinstance(obj, IndirectObject):
            return number_of(obj)
        if isinstance(obj, DictionaryObject):
            is_page = obj.get("/Type") == "/Page"
            new = StreamObject() if isinstance(obj, StreamObject) else DictionaryObject()
            if isinstance(obj, StreamObject):
                new.set_data(obj._data)  # the raw, still encoded bytes, copied as they are
            for key, value in obj.items():
                # A page's parent is the part's page tree; here it is the one tree of the result.
                new[key] = IndirectObject(2, 0, None) if is_page and key == "/Parent" else copy(value)
            return new
        if isinstance(obj, ArrayObject):
            return ArrayObject(copy(value) for value in obj)
        return obj

    pages = []
    for page in reader.pages:
        pages.append(number_of(page.indirect_reference).idnum)
        while queue:
            ref = queue.pop()
            number = numbers[(ref.idnum, ref.generation)]
            offsets[number] = out.tell()
            out.write(b"%d 0 obj\n" % number)
            copy(ref.get_object()).write_to_stream(out)
            out.write(b"\nendobj\n")
    return pages


def concatenate_pdfs(parts: Iterable[Path], out: BinaryIO, *, lang: str = "zh-Hans") -> int:
    """Write the pages of ``parts``, in order, as one PDF to ``out``; return the page count.

    For documents of thousands of pages rendered in chunks. pypdf's PdfWriter holds every
    source and every copied object until it writes (about 25 KB of memory per sticker page,
    over a gigabyte for a large batch); this copies each part's pages object by object
    straight to ``out``, keeping one part open and one offset per object. Only what pages
    refer to is carried over (not outlines or document metadata).
    """
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    # Offsets by object number. 1 is the catalog and 2 the page tree, written last.
    offsets = [0, 0, 0]
    kids: list[int] = []
    for part in parts:
        kids += _copy_pages(PdfReader(part), out, offsets)
    offsets[2] = out.tell()
    out.write(b"2 0 obj\n<< /Type /Pages /Count %d /Kids [" % len(kids))
    out.write(b" ".join(b"%d 0 R" % number for number in kids))
    out.write(b"] >>\nendobj\n")
    offsets[1] = out.tell()
    out.write(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Lang (%s) >>\nendobj\n" % lang.encode("ascii"))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % len(offsets))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets[1:]))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets), xref))
    return len(kids)
