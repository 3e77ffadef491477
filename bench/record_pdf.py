"""Render time of the on-site inspection record PDF for a large inspection.

Builds, in a throw-away SQLite database, one submitted inspection of a 40-item checklist with
5 photos (phone-sized, so the record embeds their 320 px thumbnails), three signatures and a
rectification order, then renders the record (and the order) --repeat times without storing.
Prints the median render time and the page count.

    .venv/bin/python bench/record_pdf.py [--repeat 5] [--out /tmp/record.pdf]

Not a test: it prints numbers to compare.
"""

import argparse
import io
import os
import random
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
        DEBUG="1",
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
    """A tablet signature: strokes on white, as a canvas exports it (a few KB, not noise)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (600, 200), "white")
    points = [(rng.randrange(40, 560), rng.randrange(40, 160)) for _ in range(30)]
    ImageDraw.Draw(image).line(points, fill="black", width=4, joint="curve")
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="also write the record PDF here (the order next to it)")
    args = parser.parse_args()
    _setup()
    from pypdf import PdfReader

    from core.codes import new_token
    from core.pdf import render_pdf
    from supervision.inspections.documents import document_html
    from supervision.models import Document

    inspection, order = _inspection()
    photos = sum(answer.photos.count() for answer in inspection.answers.all())
    items, findings = inspection.answers.count(), inspection.findings.count()
    print(f"inspection: {items} items, {photos} photos, {findings} findings")
    print(f"{'document':<22} {'pages':>5} {'KB':>6} {'ms html':>8} {'ms median':>10} {'ms min':>7}")
    for kind in (Document.Kind.INSPECTION_RECORD, Document.Kind.RECTIFICATION_ORDER):
        html_times, render_times = [], []
        render_pdf(
            document_html(inspection=inspection, kind=kind, public_id=new_token(), order=order)
        )  # warm
        for _ in range(args.repeat):
            started = time.perf_counter()
            html = document_html(inspection=inspection, kind=kind, public_id=new_token(), order=order)
            html_times.append(time.perf_counter() - started)
            pdf = render_pdf(html)
            render_times.append(time.perf_counter() - started)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(
            f"{kind:<22} {pages:>5} {len(pdf) // 1024:>6} {statistics.median(html_times) * 1000:>8.0f} "
            f"{statistics.median(render_times) * 1000:>10.0f} {min(render_times) * 1000:>7.0f}"
        )
        if args.out:
            out = Path(args.out)
            target = (
                out if kind == Document.Kind.INSPECTION_RECORD else out.with_name(f"{out.stem}-order.pdf")
            )
            target.write_bytes(pdf)


if __name__ == "__main__":
    main()
