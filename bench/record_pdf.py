"""Render time of the on-site inspection record PDF and the rectification order, side by side with
bare WeasyPrint (issue 17: at most 3x the bare time per page, for the same page count).

Builds, in a throw-away SQLite database (DEBUG off, as in production), one submitted inspection
of a 40-item checklist with 5 photos (phone-sized, so the record embeds their 320 px thumbnails),
three signatures as a tablet's pad exports them (1200 x 400 RGBA) and a rectification order. Then,
--repeat times, round-robin so that a change in the machine's load touches every side alike, each
after a full garbage collection: the record (its HTML built and rendered, without storing), the
order, and bench/pdf_baseline.py's bare WeasyPrint document of each of their page counts. Prints
medians per page, wall and CPU, and the ratios; "bare, no CA" is the same baseline with a fetcher
that does not load the system's CA bundle (25-50 ms per render that bare WeasyPrint spends and
core.pdf no longer does), so the ratio is not won by that alone.

    .venv/bin/python bench/record_pdf.py [--repeat 9] [--out /tmp/record.pdf]

Not a test: it prints numbers to compare.
"""

import argparse
import gc
import io
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 40
PHOTOS = 5


def _setup() -> None:
    workdir = tempfile.mkdtemp(prefix="bench-record-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        # As in production (DEBUG off: templates without debug information); a throw-away key.
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_MANIFEST="0",
        VAR_DIR=workdir,
        DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite3",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _image(fmt: str, size: tuple[int, int], seed: int) -> bytes:
    from PIL import Image

    # Noise compresses like a real photo does (badly); a flat colour would flatter the numbers.
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _signature(seed: int) -> bytes:
    """A tablet signature as signature_pad.js exports it: a 3:1 canvas, here 1200 px wide (a pad
    600 CSS px wide at devicePixelRatio 2; the pad caps it at 1500), filled white, dark strokes,
    saved by the browser as RGBA (a few KB, not noise)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGBA", (1200, 400), "white")
    points = [(rng.randrange(80, 1120), rng.randrange(80, 320)) for _ in range(30)]
    ImageDraw.Draw(image).line(points, fill="#111", width=8, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _inspection():
    import hashlib

    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from checklists.models import Checklist, ChecklistItem
    from checklists.publishing import checklist_publish
    from core import uscc
    from core.models import Department, District, Enterprise, Inspector, Scene
    from core.photos import photo_ingest
    from supervision.models import (
        Finding,
        Inspection,
        InspectionAnswer,
        InspectionTask,
        RectificationOrder,
        Result,
        Signature,
    )

    User = get_user_model()
    scene, department = Scene.objects.get(code="catering"), Department.objects.get(code="market_regulation")
    district = District.objects.get(code="110105")
    enterprise = Enterprise.objects.create(
        uscc=uscc.build(authority="9", kind="1", division="110105", body8="00000001"),
        name="北京市朝阳区老王家常菜馆有限公司",
        address="北京市朝阳区建国路1号",
        district=district,
        scene=scene,
        legal_representative="张三丰",
    )
    inspectors = []
    for n, name in enumerate(["李明", "赵强"], start=1):
        user = User.objects.create_user(username=f"inspector{n}", first_name=name)
        inspector = Inspector.objects.create(
            user=user, department=department, certificate_no=f"1101050000{n:04d}"
        )
        inspector.districts.set([district])
        inspectors.append(inspector)
    lead = inspectors[0].user
    checklist = Checklist.objects.create(
        scene=scene, department=department, version=1, title="餐饮服务检查单"
    )
    for n in range(1, ITEMS + 1):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=n,
            code=f"item-{n}",
            question=f"第{n}项：食品原料、食品添加剂和食品相关产品的进货查验记录是否完整、真实？",
            question_en=f"Item {n}: are the purchase inspection records complete and true?",
            law="中华人民共和国食品安全法",
            article="第五十三条",
            severity=["minor", "major", "critical"][n % 3],
            method="document",
            required_action="建立并如实记录进货查验台账",
        )
    checklist = checklist_publish(checklist=checklist, actor=None)
    today = date.today()
    task = InspectionTask.objects.create(
        enterprise=enterprise,
        department=department,
        due_from=today,
        due_to=today + timedelta(days=7),
        created_by=lead,
    )
    task.inspectors.set(inspectors)
    now = timezone.now()
    inspection = Inspection.objects.create(
        task=task,
        enterprise=enterprise,
        status=Inspection.Status.SUBMITTED,
        started_by=lead,
        note="后厨地面有积水，冷藏柜温度偏高。",
        conclusion=Inspection.Conclusion.RECTIFY,
        rectify_deadline=now + timedelta(days=7),
        representative_name="王五",
        submitted_at=now,
        submitted_by=lead,
        content_hash="ab" * 32,
    )
    inspection.checklists.set([checklist])
    order = RectificationOrder.objects.create(
        number="ZG-BENCH-0001", enterprise=enterprise, inspection=inspection, deadline=now + timedelta(days=7)
    )
    for n, item in enumerate(checklist.items.order_by("position"), start=1):
        result = (
            Result.NON_COMPLIANT if n % 8 == 0 else Result.NOT_APPLICABLE if n % 11 == 0 else Result.COMPLIANT
        )
        answer = InspectionAnswer.objects.create(
            inspection=inspection, item=item, result=result, note=f"现场查看第{n}项。", updated_by=lead
        )
        if result == Result.NON_COMPLIANT:
            photo = photo_ingest(upload=io.BytesIO(_image("JPEG", (1600, 1200), n)), uploaded_by=lead)
            answer.photos.add(photo)
            Finding.objects.create(
                inspection=inspection, answer=answer, item=item, severity=item.severity, order=order
            )
    for n, inspector in enumerate([*inspectors, None]):
        png = _signature(100 + n)
        signature = Signature(
            inspection=inspection,
            role=Signature.Role.INSPECTOR if inspector else Signature.Role.REPRESENTATIVE,
            inspector=inspector,
            sha256=hashlib.sha256(png).hexdigest(),
        )
        signature.image.save("signature.png", ContentFile(png))
    return inspection, order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--out", help="also write the record PDF here (the order next to it)")
    args = parser.parse_args()
    _setup()
    sys.path.insert(0, str(ROOT / "bench"))
    import pdf_baseline
    from pypdf import PdfReader

    from core.codes import new_token
    from core.pdf import render_pdf
    from supervision.inspections.documents import document_html
    from supervision.models import Document

    inspection, order = _inspection()
    photos = sum(answer.photos.count() for answer in inspection.answers.all())
    items, findings = inspection.answers.count(), inspection.findings.count()
    print(f"inspection: {items} items, {photos} photos, {findings} findings")

    def document(kind):
        def render():
            html = document_html(inspection=inspection, kind=kind, public_id=new_token(), order=order)
            return render_pdf(html), html

        return render

    kinds = (Document.Kind.INSPECTION_RECORD, Document.Kind.RECTIFICATION_ORDER)
    cases = {kind: document(kind) for kind in kinds}
    pdfs = {kind: render()[0] for kind, render in cases.items()}  # warm: fonts, templates, caches
    pages = {kind: len(PdfReader(io.BytesIO(pdf)).pages) for kind, pdf in pdfs.items()}
    for count in sorted(set(pages.values())):
        for ca in (True, False):
            html = pdf_baseline.baseline_html(count)
            name = f"bare {count}p" + ("" if ca else " no CA")
            cases[name] = lambda html=html, ca=ca: (pdf_baseline.render_baseline(html, load_ca=ca), html)
            pages[name] = len(PdfReader(io.BytesIO(cases[name]()[0])).pages)

    walls = {name: [] for name in cases}
    cpus = {name: [] for name in cases}
    html_ms = {kind: [] for kind in kinds}
    for _ in range(args.repeat):
        for name, render in cases.items():
            # Each render starts from a collected heap, so that none pays for the garbage of the one
            # before it (a full collection walks this process's whole heap, Django's included).
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            if name in html_ms:
                html = document_html(inspection=inspection, kind=name, public_id=new_token(), order=order)
                html_ms[name].append(time.perf_counter() - wall)
                pdfs[name] = render_pdf(html)
            else:
                render()
            cpus[name].append(time.process_time() - cpu)
            walls[name].append(time.perf_counter() - wall)

    def per_page(name, samples):
        return statistics.median(samples[name]) * 1000 / pages[name]

    print(f"{args.repeat} rounds; medians; ms per page (wall / CPU); load average {os.getloadavg()[0]:.2f}")
    print(
        f"{'document':<20} {'pages':>5} {'KB':>5} {'ms html':>7} {'wall/p':>7} {'CPU/p':>6} "
        f"{'bare wall/p':>11} {'bare CPU/p':>10} {'ratio wall':>10} {'ratio CPU':>9} {'ratio CPU no CA':>15}"
    )
    for kind in kinds:
        bare, strict = f"bare {pages[kind]}p", f"bare {pages[kind]}p no CA"
        print(
            f"{kind:<20} {pages[kind]:>5} {len(pdfs[kind]) // 1024:>5} "
            f"{statistics.median(html_ms[kind]) * 1000:>7.0f} {per_page(kind, walls):>7.1f} "
            f"{per_page(kind, cpus):>6.1f} {per_page(bare, walls):>11.1f} {per_page(bare, cpus):>10.1f} "
            f"{per_page(kind, walls) / per_page(bare, walls):>10.2f} "
            f"{per_page(kind, cpus) / per_page(bare, cpus):>9.2f} "
            f"{per_page(kind, cpus) / per_page(strict, cpus):>15.2f}"
        )
    for count in sorted(set(pages[kind] for kind in kinds)):
        for name in (f"bare {count}p", f"bare {count}p no CA"):
            wall, cpu = per_page(name, walls), per_page(name, cpus)
            print(f"{name:<20} {pages[name]:>5} wall {wall:.1f} ms/page, CPU {cpu:.1f} ms/page")
    if args.out:
        out = Path(args.out)
        out.write_bytes(pdfs[Document.Kind.INSPECTION_RECORD])
        out.with_name(f"{out.stem}-order.pdf").write_bytes(pdfs[Document.Kind.RECTIFICATION_ORDER])


if __name__ == "__main__":
    main()
