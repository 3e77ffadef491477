"""What the stories need from the database: the demo enterprises by index, their scenes' current
checklists (the shipped ones loaded first if a scene has none) and their teams, as
demo.stories.Subject values."""

from checklists.content_io import CONTENT_DIR, content_load
from checklists.models import Checklist, ChecklistItem, VersionStatus
from core import reference
from core.models import Enterprise, Scene
from demo.past.bulk import BATCH
from demo.rows import enterprise_rows
from demo.staff import Staff
from demo.stories import ChecklistVersion, Item, Subject


def content_ensure() -> None:
    """The shipped manuals and checklists (what scripts/serve loads first with load_content), for
    scenes without content: a visit answers a checklist."""
    if Scene.objects.filter(checklists__isnull=True).exists():
        for path in sorted(CONTENT_DIR.glob("*.yaml")):
            content_load(path_or_text=path, name=path.name)


def demo_enterprises_by_index(start: int, stop: int) -> dict[int, Enterprise]:
    """Demo index -> enterprise, for the indices in [start, stop) that exist."""
    usccs = {row.uscc: index for index, row in enumerate(enterprise_rows(start, stop), start)}
    found: dict[int, Enterprise] = {}
    codes = list(usccs)
    for lo in range(0, len(codes), BATCH):
        rows = Enterprise.objects.filter(uscc__in=codes[lo : lo + BATCH]).select_related("scene", "district")
        found.update({usccs[e.uscc]: e for e in rows})
    return dict(sorted(found.items()))


def _scene_checklists() -> dict[int, list[tuple[Checklist, list[ChecklistItem]]]]:
    """Scene id -> its published checklist versions (by department code) with all their items."""
    checklists = Checklist.objects.filter(status=VersionStatus.PUBLISHED).select_related("department")
    items: dict[int, list[ChecklistItem]] = {}
    for item in ChecklistItem.objects.filter(checklist__in=checklists).order_by("checklist", "position"):
        items.setdefault(item.checklist_id, []).append(item)
    by_scene: dict[int, list] = {}
    for checklist in sorted(checklists, key=lambda c: c.department.code):
        by_scene.setdefault(checklist.scene_id, []).append((checklist, items.get(checklist.pk, [])))
    return by_scene


def subjects_of(enterprises: dict[int, Enterprise], staff: Staff) -> list[Subject]:
    by_scene = _scene_checklists()
    lead_order = {code: owners for code, _name, _en, _risk, owners in reference.SCENES}
    subjects = []
    for index, enterprise in enterprises.items():
        features = set(enterprise.features or [])
        versions = tuple(
            ChecklistVersion(
                checklist.pk,
                checklist.department.code,
                checklist.version,
                tuple(
                    Item(item.pk, item.code, item.severity, item.position, checklist.department.code)
                    for item in items
                    if not item.applies_if or item.applies_if in features
                ),
            )
            for checklist, items in by_scene.get(enterprise.scene_id, [])
        )
        district = enterprise.district.code
        teams = {
            version.department: staff.teams[(version.department, district)]
            for version in versions
            if version.items and len(staff.teams.get((version.department, district), ())) >= 2
        }
        order = lead_order.get(enterprise.scene.code, [])
        departments = tuple(
            sorted(teams, key=lambda code: (order.index(code) if code in order else len(order), code))
        )
        subjects.append(
            Subject(
                index=index,
                pk=enterprise.pk,
                uscc=enterprise.uscc,
                scene=enterprise.scene.code,
                inherent_risk=enterprise.scene.inherent_risk,
                district=district,
                licence_status=enterprise.licence_status,
                opened_on=enterprise.opened_on,
                representative=enterprise.legal_representative or "",
                checklists=versions,
                departments=departments,
                teams=teams,
                owner=staff.owners[enterprise.pk],
            )
        )
    return subjects
