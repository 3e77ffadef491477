import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause
from checklists.publishing import checklist_publish, manual_publish, next_version
from core.models import Department, Scene
from supervision.models import Result
from supervision.self_inspection import services as service
from tests.factories import UserFactory

# The catering scene's content in these tests: two departments, four items, one of which applies
# only to businesses that sell through delivery platforms.
MARKET_ITEMS = [
    {
        "code": "hand-washing",
        "question": "从业人员是否规范洗手？",
        "question_en": "Do staff wash their hands properly?",
        "severity": "minor",
        "method": "look",
        "clause_code": "hygiene-1",
        "required_action": "张贴洗手流程",
    },
    {"code": "licence-displayed", "question": "是否公示许可证？", "severity": "major", "method": "document"},
    {
        "code": "delivery-seal",
        "question": "外卖是否使用封签？",
        "severity": "critical",
        "method": "look",
        "applies_if": "online_delivery",
    },
]
FIRE_ITEMS = [
    {"code": "extinguisher", "question": "灭火器是否在有效期内？", "severity": "major", "method": "look"}
]


def publish_checklist(*, department: str, items: list[dict], actor, scene: str = "catering") -> Checklist:
    scene_obj, department_obj = Scene.objects.get(code=scene), Department.objects.get(code=department)
    checklist = Checklist.objects.create(
        scene=scene_obj,
        department=department_obj,
        version=next_version(Checklist, scene=scene_obj, department=department_obj),
        title=f"{scene} / {department}",
    )
    for position, fields in enumerate(items, start=1):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=position,
            law="中华人民共和国食品安全法",
            article="第五十五条",
            **fields,
        )
    return checklist_publish(checklist=checklist, actor=actor)


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", is_superuser=True)


@pytest.fixture
def manual(editor):
    manual = Manual.objects.create(
        scene=Scene.objects.get(code="catering"), version=1, title="餐饮服务合规手册"
    )
    chapter = ManualChapter.objects.create(manual=manual, position=1, title="卫生")
    ManualClause.objects.create(
        manual=manual,
        chapter=chapter,
        position=1,
        code="hygiene-1",
        text="从业人员应当保持个人卫生。",
        text_en="Staff keep themselves clean.",
        law="中华人民共和国食品安全法",
        article="第三十三条",
    )
    return manual_publish(manual=manual, actor=editor)


@pytest.fixture
def checklists(editor, manual):
    """The current catering checklists: market regulation v1 and fire rescue v1."""
    return [
        publish_checklist(department="market_regulation", items=MARKET_ITEMS, actor=editor),
        publish_checklist(department="fire_rescue", items=FIRE_ITEMS, actor=editor),
    ]


@pytest.fixture
def draft(checklists, enterprise, business_user):
    self_inspection, _ = service.self_inspection_start(enterprise=enterprise, user=business_user)
    return self_inspection


def item_of(self_inspection, code: str) -> ChecklistItem:
    return ChecklistItem.objects.get(checklist__in=self_inspection.checklists.all(), code=code)


@pytest.fixture
def answer_all(business_user):
    """Answer every applicable item; ``results`` maps item codes to a result other than compliant."""

    def answer_all(self_inspection, results=None, user=None):
        results = results or {}
        for row in service.self_inspection_sheet(self_inspection=self_inspection).rows:
            service.self_inspection_answer(
                self_inspection=self_inspection,
                user=user or business_user,
                item_id=row.item.pk,
                result=results.get(row.item.code, Result.COMPLIANT),
                note=f"note on {row.item.code}",
            )

    return answer_all


@pytest.fixture
def submitted(draft, business_user, answer_all):
    """A submitted self-inspection with one non-compliant answer (so one open issue)."""
    answer_all(draft, {"licence-displayed": Result.NON_COMPLIANT, "extinguisher": Result.NOT_APPLICABLE})
    return service.self_inspection_submit(self_inspection=draft, user=business_user)


def jpeg_bytes(color="red", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def jpeg(name="photo.jpg", color="red") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(color), content_type="image/jpeg")


def fake_jpeg(name="photo.jpg") -> SimpleUploadedFile:
    """Named and typed like a photo; the content is not one."""
    return SimpleUploadedFile(name, b"this is not an image at all", content_type="image/jpeg")
