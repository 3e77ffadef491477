"""Small published content for tests, built directly (not through the YAML importer).

make_checklist's items are mar-1 (minor), mar-2 (major), mar-3 (critical), ... for market
regulation: the inspection loop's factories and fixtures rely on those codes.
"""

from checklists import publishing
from checklists.models import Checklist, ChecklistItem, Manual, ManualChapter, ManualClause
from core.models import Department, Scene


def make_manual(scene_code="catering", *, clauses=2, publish=True, actor=None, title="餐饮服务合规手册"):
    scene = Scene.objects.get(code=scene_code)
    manual = Manual.objects.create(
        scene=scene,
        version=publishing.next_version(Manual, scene=scene),
        title=title,
        title_en="Catering manual",
    )
    chapter = ManualChapter.objects.create(manual=manual, position=1, title="许可与公示", title_en="Licences")
    for n in range(clauses):
        ManualClause.objects.create(
            manual=manual,
            chapter=chapter,
            position=n + 1,
            code=f"clause-{n + 1}",
            text=f"第{n + 1}条 食品经营许可证应当悬挂在显著位置。",
            text_en=f"Clause {n + 1}: display the licence.",
            law="中华人民共和国食品安全法",
            article="第三十五条",
        )
    if publish:
        publishing.manual_publish(manual=manual, actor=actor)
        manual.refresh_from_db()
    return manual


def make_checklist(
    scene_code="catering", department_code="market_regulation", *, items=3, publish=True, actor=None
):
    scene, department = Scene.objects.get(code=scene_code), Department.objects.get(code=department_code)
    checklist = Checklist.objects.create(
        scene=scene,
        department=department,
        version=publishing.next_version(Checklist, scene=scene, department=department),
        title=f"{scene.name}{department.name}检查单",
    )
    for n in range(items):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=n + 1,
            code=f"{department_code[:3]}-{n + 1}",
            question=f"检查项{n + 1}是否符合要求？",
            question_en=f"Is item {n + 1} compliant?",
            law="中华人民共和国食品安全法",
            article="第五十五条",
            severity=["minor", "major", "critical"][n % 3],
            method="look",
            clause_code="clause-1" if n == 0 else "",
        )
    if publish:
        publishing.checklist_publish(checklist=checklist, actor=actor)
        checklist.refresh_from_db()
    return checklist


def publish_checklist(*, department: str, items: list[dict], actor, scene: str = "catering") -> Checklist:
    """A published checklist with the given item fields (code, question, severity, ...)."""
    scene_obj, department_obj = Scene.objects.get(code=scene), Department.objects.get(code=department)
    checklist = Checklist.objects.create(
        scene=scene_obj,
        department=department_obj,
        version=publishing.next_version(Checklist, scene=scene_obj, department=department_obj),
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
    return publishing.checklist_publish(checklist=checklist, actor=actor)
