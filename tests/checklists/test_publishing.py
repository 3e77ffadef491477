import pytest
from django.core.exceptions import ValidationError

from checklists import publishing, selectors
from checklists.models import ChecklistItem, ManualClause
from core.audit import verify_chain
from core.errors import DomainError
from core.models import AuditEvent, Scene
from tests.factories import make_checklist, make_manual

pytestmark = pytest.mark.django_db


def test_publishing_makes_a_draft_current_and_is_audited(regulator_user):
    manual = make_manual(publish=False)
    assert selectors.manual_current(scene=manual.scene) is None
    publishing.manual_publish(manual=manual, actor=regulator_user)
    manual.refresh_from_db()
    assert manual.status == "published" and manual.published_by == regulator_user
    assert selectors.manual_current(scene=manual.scene) == manual
    assert AuditEvent.objects.filter(action="manual.publish", actor=regulator_user).exists()
    assert verify_chain().ok


def test_a_new_version_supersedes_the_old_one():
    first = make_checklist()
    second = make_checklist()
    first.refresh_from_db()
    assert (first.version, first.status) == (1, "superseded")
    assert (second.version, second.status) == (2, "published")
    event = AuditEvent.objects.filter(action="checklist.publish").order_by("-seq").first()
    assert event.data["superseded"] == [1]


def test_a_published_version_is_immutable():
    checklist = make_checklist()
    item = checklist.items.first()
    item.question = "改过的问题"
    with pytest.raises(ValidationError):
        item.save()
    with pytest.raises(ValidationError):
        item.delete()
    with pytest.raises(ValidationError):
        ChecklistItem.objects.create(
            checklist=checklist,
            position=99,
            code="late",
            question="q",
            law="l",
            article="a",
            severity="minor",
            method="ask",
        )
    manual = make_manual()
    clause = manual.clauses.first()
    clause.text = "x"
    with pytest.raises(ValidationError):
        clause.save()
    assert ManualClause.objects.get(pk=clause.pk).text != "x"


def test_publishing_an_empty_version_is_refused():
    checklist = make_checklist(items=0, publish=False)
    with pytest.raises(DomainError) as caught:
        publishing.checklist_publish(checklist=checklist, actor=None)
    assert caught.value.code == "empty_version"
    checklist.refresh_from_db()
    assert checklist.status == "draft"
    manual = make_manual(clauses=0, publish=False)
    with pytest.raises(DomainError):
        publishing.manual_publish(manual=manual, actor=None)


def test_publishing_twice_is_refused():
    checklist = make_checklist()
    with pytest.raises(DomainError) as caught:
        publishing.checklist_publish(checklist=checklist, actor=None)
    assert caught.value.code == "not_draft"


def test_the_scene_checklist_merges_every_department_and_keeps_the_owner():
    make_manual()
    make_checklist("catering", "market_regulation", items=3)
    make_checklist("catering", "fire_rescue", items=2)
    make_checklist("catering", "ecology_environment", items=1, publish=False)  # a draft does not count
    make_checklist("medical", "health", items=4)  # another scene does not count
    merged = selectors.scene_checklist(scene=Scene.objects.get(code="catering"))
    assert [c.department.code for c in merged.checklists] == ["fire_rescue", "market_regulation"]
    assert [(i.checklist.department.code, i.code) for i in merged.items] == [
        ("fire_rescue", "fir-1"),
        ("fire_rescue", "fir-2"),
        ("market_regulation", "mar-1"),
        ("market_regulation", "mar-2"),
        ("market_regulation", "mar-3"),
    ]
    assert set(merged.clauses) == {"clause-1"}


def test_items_that_do_not_apply_are_left_out_for_an_enterprise(enterprise):
    checklist = make_checklist(publish=False)
    item = checklist.items.last()
    item.applies_if = "online_delivery"
    item.save()
    publishing.checklist_publish(checklist=checklist, actor=None)
    scene = enterprise.scene
    assert item.code not in [
        i.code for i in selectors.scene_checklist(scene=scene, enterprise=enterprise).items
    ]
    enterprise.features = ["online_delivery"]
    enterprise.save()
    assert item.code in [i.code for i in selectors.scene_checklist(scene=scene, enterprise=enterprise).items]
    assert item.code in [i.code for i in selectors.scene_checklist(scene=scene).items]
