"""``/v/<public_id>``: the public verification page printed (as a QR code) on every document.

Included at the site root, apart from the app's other URLs, because the printed address must stay
short and must never change. No login: whoever holds a paper or PDF copy may check it. The page
shows the enterprise's name and nothing else about people.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from core.errors import NotFound
from supervision.inspections.documents import Verification, document_compare, document_verify

# A record with forty items and photos is well under 5 MB; 20 MB leaves room for a re-saved copy.
VERIFY_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
# Multipart boundaries, headers and the CSRF field around the file.
_MULTIPART_OVERHEAD = 64 * 1024


def _not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return render(request, "inspections/verify.html", {"not_found": exc.message}, status=404)


def _render(request: HttpRequest, verification: Verification, *, status: int = 200, **extra) -> HttpResponse:
    document = verification.document
    context = {
        "verification": verification,
        "document": document,
        "enterprise_name": document.inspection.enterprise.name,
        # Groups of eight: readable aloud, and the line can wrap on a phone (no inline styles under CSP).
        "sha256_groups": " ".join(document.sha256[i : i + 8] for i in range(0, len(document.sha256), 8)),
        "max_mb": VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024),
        **extra,
    }
    return render(request, "inspections/verify.html", context, status=status)


@csrf_protect
def _verify_checked(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        verification = document_verify(public_id=public_id)
    except NotFound as exc:
        return _not_found(request, exc)
    if request.method != "POST":
        return _render(request, verification)
    upload = request.FILES.get("file")
    if upload is None:
        return _render(request, verification, upload_error=_("Choose the PDF file to compare."), status=400)
    if upload.size > VERIFY_UPLOAD_MAX_BYTES:
        return _render(request, verification, upload_error=_too_large(), status=413)
    matches = document_compare(document=verification.document, upload=upload)
    return _render(request, verification, compared=True, matches=matches)


def _too_large() -> str:
    return _("The file is larger than %(mb)s MB; no document of this platform is that large.") % {
        "mb": VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024)
    }


@never_cache
@csrf_exempt  # checked by _verify_checked, once the size is known to be acceptable
@require_http_methods(["GET", "POST"])
def verify_document(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the document's verification. POST (multipart, ``file``): compare a copy with it.

    The CSRF middleware would read ``request.POST`` (and so spool the whole multipart body to
    disk) before any view code runs; an oversized body is refused here first, by its length.
    """
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > VERIFY_UPLOAD_MAX_BYTES + _MULTIPART_OVERHEAD:
            try:
                verification = document_verify(public_id=public_id)
            except NotFound as exc:
                return _not_found(request, exc)
            return _render(request, verification, upload_error=_too_large(), status=413)
    return _verify_checked(request, public_id)


urlpatterns = [
    path("v/<str:public_id>", verify_document, name="verify-document"),
]
