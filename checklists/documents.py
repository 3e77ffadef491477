"""The compliance manual as a PDF: cover, table of contents with page numbers, chapters.

A published manual never changes, so its PDF is rendered once and kept in storage
(named by scene, version and a digest of the rendered template revision).
"""

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import translation

from checklists.models import Manual
from core.pdf import render_pdf

# Bump when the template changes, so stored PDFs of published manuals are rendered afresh.
DOCUMENT_REVISION = 1


def _context(manual: Manual) -> dict:
    chapters = list(manual.chapters.order_by("position").prefetch_related("clauses"))
    return {"manual": manual, "chapters": chapters, "scene": manual.scene}


def manual_html(manual: Manual) -> str:
    # The printed manual is bilingual in content and Chinese in its frame, whatever the UI language.
    with translation.override("zh-hans"):
        return render_to_string("checklists/manual_pdf.html", _context(manual))


def manual_pdf(manual: Manual) -> bytes:
    if manual.is_draft:
        # Drafts change: render every time, store nothing.
        return render_pdf(manual_html(manual))
    digest = hashlib.sha256(f"{manual.pk}:{manual.published_at}:{DOCUMENT_REVISION}".encode()).hexdigest()[
        :12
    ]
    name = f"manuals/{manual.scene.code}-v{manual.version}-{digest}.pdf"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as stored:
            return stored.read()
    content = render_pdf(manual_html(manual))
    default_storage.save(name, ContentFile(content))
    return content
