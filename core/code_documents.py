"""Printable identity codes: a sticker (A6) or poster (A4) for one code, and batches of them.

One code's PDF is rendered once and then served from storage. Its file name
carries the token (a rotated code is a new file) and a digest of everything
printed on it, so a renamed enterprise or a changed template gets a fresh PDF
instead of a stale one.

A batch (a district, or a selection of enterprises) is built in the background by
``build_code_batch`` (a background task): pages are rendered ``PAGES_PER_RENDER`` at a time
into temporary files, progress (``done`` of ``total``) is saved after each chunk,
and the chunks are concatenated into the batch's one PDF at the end (streamed: memory
does not grow with the number of pages).
"""

import hashlib
import json
import logging
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.codes import code_issue, code_url, printed_for_here
from core.errors import DomainError
from core.models import CodeBatch, District, Enterprise, IdentityCode
from core.pdf import concatenate_pdfs, render_pdf
from core.permissions import enterprises_visible_to
from core.qr import code_png_data_uri, png_data_uri, qr_png, stored_or_render

logger = logging.getLogger(__name__)

TEMPLATES = {
    CodeBatch.Layout.STICKER: "core/pdf/sticker.html",
    CodeBatch.Layout.POSTER: "core/pdf/poster.html",
}
# Bump when the templates change, so that stored PDFs are rendered again.
DOCUMENT_REVISION = 1
# A city district holds ~100,000 enterprises; a batch is a print job, split larger ones by street.
MAX_BATCH = 50_000
# One WeasyPrint call lays out this many pages; memory grows with it, per-call overhead shrinks.
PAGES_PER_RENDER = 100
# USCCs per IN (...) query; SQLite allows 32,766 parameters, this stays far below.
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class CodeCard:
    """What one page shows. Both languages always: the sticker hangs in public for everyone."""

    name: str
    uscc: str
    scene: str
    scene_en: str
    token: str
    url: str
    qr: str  # a data: URI of the PNG

    @property
    def token_display(self) -> str:
        # Groups of four, to read out over the phone or type in when a camera fails.
        return " ".join(self.token[i : i + 4] for i in range(0, len(self.token), 4))

    @property
    def url_display(self) -> str:
        return self.url.split("://", 1)[-1]

    @property
    def name_size(self) -> str:
        # The name box holds two lines at full size; longer names get a smaller font, not a second page.
        if len(self.name) <= 40:
            return ""
        return "long" if len(self.name) <= 76 else "very-long"

    def digest(self, layout: str) -> str:
        printed = [DOCUMENT_REVISION, layout, self.name, self.uscc, self.scene, self.scene_en, self.url]
        return hashlib.sha256(json.dumps(printed, ensure_ascii=False).encode()).hexdigest()[:12]


def _card(enterprise: Enterprise, code: IdentityCode, qr: str) -> CodeCard:
    return CodeCard(
        name=enterprise.name,
        uscc=enterprise.uscc,
        scene=enterprise.scene.name,
        scene_en=enterprise.scene.name_en,
        token=code.token,
        url=code_url(code.token),
        qr=qr,
    )


def _check_layout(layout: str) -> None:
    if layout not in TEMPLATES:
        raise DomainError(
            _("Unknown layout %(layout)s: choose sticker or poster.") % {"layout": layout},
            code="unknown_layout",
            status=422,
        )


def _render(layout: str, cards: list[CodeCard]) -> bytes:
    title = cards[0].name if len(cards) == 1 else ""
    return render_pdf(render_to_string(TEMPLATES[layout], {"cards": cards, "title": title}))


def code_pdf(code: IdentityCode, layout: str = CodeBatch.Layout.STICKER) -> bytes:
    """The printable sticker or poster of an active code, rendered once and then read from storage."""
    _check_layout(layout)
    if code.status != IdentityCode.Status.ACTIVE:
        raise DomainError(_("This code is no longer valid."), code=f"code_{code.status}", status=410)
    card = _card(code.enterprise, code, qr="")
    name = f"codes/{code.token}-{layout}-{card.digest(layout)}.pdf"

    def render() -> bytes:
        return _render(layout, [_card(code.enterprise, code, code_png_data_uri(code))])

    return stored_or_render(name, render)


# --- Batches -----------------------------------------------------------------------------------


def _normalize_usccs(usccs: list[str]) -> list[str]:
    return sorted({str(uscc).strip().upper() for uscc in usccs if str(uscc).strip()})


def _district_scope(user, district: District) -> QuerySet[Enterprise]:
    return enterprises_visible_to(user).filter(district__in=district.subtree())


def _refuse_size(count: int) -> None:
    if count == 0:
        raise DomainError(_("There is no enterprise to print codes for."), code="empty_batch", status=422)
    if count > MAX_BATCH:
        raise DomainError(
            _("A batch holds at most %(max)s enterprises; this one has %(count)s. Split it up.")
            % {"max": MAX_BATCH, "count": count},
            code="batch_too_large",
            status=422,
        )


@transaction.atomic
def code_batch_create(
    *, user, layout: str, district: District | None = None, usccs: list[str] | None = None
) -> CodeBatch:
    """Queue a batch of printable codes for a district subtree or a selection of enterprises.

    Only enterprises the user may see are printed. A selection naming any other
    (unknown, or out of the user's scope: the answer does not say which) is refused whole.
    """
    _check_layout(layout)
    if (district is None) == (usccs is None):
        raise DomainError(
            _("Choose either a district or a selection of enterprises."), code="scope_required", status=422
        )
    if usccs is not None:
        usccs = _normalize_usccs(usccs)
        _refuse_size(len(usccs))
        visible = enterprises_visible_to(user)
        found: set[str] = set()
        for start in range(0, len(usccs), LOOKUP_CHUNK):
            part = usccs[start : start + LOOKUP_CHUNK]
            found.update(visible.filter(uscc__in=part).values_list("uscc", flat=True))
        missing = [uscc for uscc in usccs if uscc not in found]
        if missing:
            raise DomainError(
                _("%(count)s of the selected enterprises are unknown or outside your scope.")
                % {"count": len(missing)},
                code="unknown_enterprises",
                details=missing,
                status=422,
            )
        count = len(usccs)
    else:
        count = _district_scope(user, district).count()
        _refuse_size(count)

    batch = CodeBatch.objects.create(
        requested_by=user,
        layout=layout,
        district=district,
        usccs=usccs or [],
        status=CodeBatch.Status.QUEUED,
        total=count,
    )
    audit_record(
        actor=user,
        action="code.batch.create",
        target=batch,
        data={"layout": layout, "district": district.code if district else None, "count": count},
    )
    transaction.on_commit(lambda: build_code_batch.enqueue(batch.pk))
    return batch


def _batch_chunks(batch: CodeBatch) -> Iterator[list[Enterprise]]:
    """The batch's enterprises in USCC order, PAGES_PER_RENDER at a time, never all at once.

    Visibility is checked again with the requester's scope as it is now.
    """
    visible = enterprises_visible_to(batch.requested_by).select_related("scene").order_by("uscc")
    if batch.district_id:
        scope = visible.filter(district__in=batch.district.subtree())
        last = ""
        while chunk := list(scope.filter(uscc__gt=last)[:PAGES_PER_RENDER]):
            yield chunk
            last = chunk[-1].uscc
    else:
        usccs = sorted(batch.usccs)
        for start in range(0, len(usccs), PAGES_PER_RENDER):
            if chunk := list(visible.filter(uscc__in=usccs[start : start + PAGES_PER_RENDER])):
                yield chunk


def _batch_count(batch: CodeBatch) -> int:
    visible = enterprises_visible_to(batch.requested_by)
    if batch.district_id:
        return visible.filter(district__in=batch.district.subtree()).count()
    usccs = batch.usccs
    return sum(
        visible.filter(uscc__in=usccs[start : start + LOOKUP_CHUNK]).count()
        for start in range(0, len(usccs), LOOKUP_CHUNK)
    )


def _active_codes(enterprises: list[Enterprise], actor) -> dict[int, IdentityCode]:
    codes = {
        code.enterprise_id: code
        for code in IdentityCode.objects.filter(enterprise__in=enterprises, status=IdentityCode.Status.ACTIVE)
    }
    for enterprise in enterprises:
        if enterprise.pk not in codes:
            codes[enterprise.pk] = code_issue(enterprise=enterprise, actor=actor)
    return codes


def _build(batch: CodeBatch) -> None:
    total = _batch_count(batch)
    CodeBatch.objects.filter(pk=batch.pk).update(total=total)
    _refuse_size(total)
    done = 0
    with tempfile.TemporaryDirectory(prefix="code-batch-") as workdir:
        parts = []
        for enterprises in _batch_chunks(batch):
            codes = _active_codes(enterprises, batch.requested_by)
            # Rendered in memory, not through code_png: a batch should not leave thousands of files behind.
            cards = [
                _card(e, codes[e.pk], png_data_uri(qr_png(code_url(codes[e.pk].token)))) for e in enterprises
            ]
            part = Path(workdir) / f"{len(parts):06d}.pdf"
            part.write_bytes(_render(batch.layout, cards))
            parts.append(part)
            done += len(enterprises)
            CodeBatch.objects.filter(pk=batch.pk).update(done=done)
        if not parts:
            _refuse_size(0)
        merged = Path(workdir) / "batch.pdf"
        with merged.open("wb") as out:
            concatenate_pdfs(parts, out)
        with merged.open("rb") as pdf:
            # A random part: the file lists a whole district's tokens; its name must not be guessable.
            name = f"codes-{batch.pk}-{batch.layout}-{secrets.token_hex(8)}.pdf"
            batch.file.save(name, File(pdf), save=False)
    batch.status = CodeBatch.Status.DONE
    batch.total = batch.done = done
    batch.finished_at = timezone.now()
    batch.base_url = settings.PUBLIC_BASE_URL
    batch.save(update_fields=["file", "status", "total", "done", "finished_at", "base_url"])


def code_batch_current(*, batch: CodeBatch) -> CodeBatch:
    """The finished batch whose file may be served: its codes point to this platform's address.

    A file printed for another address (PUBLIC_BASE_URL changed since) is never served: the batch
    is queued to be rendered again, once however many ask, and the caller is told to come back.
    """
    if printed_for_here(batch.base_url):
        return batch
    with transaction.atomic():
        requeued = CodeBatch.objects.filter(pk=batch.pk, status=CodeBatch.Status.DONE).update(
            status=CodeBatch.Status.QUEUED, done=0, finished_at=None
        )
        if requeued:
            audit_record(
                actor=None,
                action="code.batch.rerender",
                target=batch,
                data={"from": batch.base_url, "to": settings.PUBLIC_BASE_URL},
            )
            transaction.on_commit(lambda: build_code_batch.enqueue(batch.pk))
    raise DomainError(
        _(
            "The platform's address changed since these codes were printed; "
            "they are being printed again. Try again in a minute."
        ),
        code="code_batch_rerendering",
        status=409,
    )


def code_batch_build(*, batch_id: int) -> None:
    """Run a queued batch to the end (done) or to an error (failed, with the error text kept)."""
    started = CodeBatch.objects.filter(pk=batch_id, status=CodeBatch.Status.QUEUED).update(
        status=CodeBatch.Status.RUNNING, done=0, error=""
    )
    if not started:
        # A task delivered twice, or a batch already finished: nothing to do.
        logger.info("code batch %s is not queued; not building it", batch_id)
        return
    batch = CodeBatch.objects.select_related("requested_by", "district").get(pk=batch_id)
    try:
        _build(batch)
    except Exception as exc:
        logger.exception("code batch %s failed", batch_id)
        error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        CodeBatch.objects.filter(pk=batch_id).update(
            status=CodeBatch.Status.FAILED, error=error[:2000], finished_at=timezone.now()
        )
        raise


@task()
def build_code_batch(batch_id: int) -> None:
    """The background task: render a queued CodeBatch into one PDF; progress and failure are recorded
    on the batch. Its argument is an id, never a model instance: a queued task outlives the request."""
    code_batch_build(batch_id=batch_id)
