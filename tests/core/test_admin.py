import pytest
from django.urls import reverse

from core.audit import verify_chain
from core.models import AuditEvent, District, Enterprise, Scene
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db


def enterprise_form(**overrides):
    data = {
        "uscc": make_uscc(4242),
        "name": "管理后台新增餐馆",
        "address": "北京市朝阳区工体北路1号",
        "district": District.objects.get(code="110105").pk,
        "scene": Scene.objects.get(code="catering").pk,
        "legal_representative": "王五",
        "licence_status": "active",
    }
    return {**data, **overrides}


def test_adding_an_enterprise_in_the_admin_is_audited(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:core_enterprise_add"), enterprise_form())
    assert response.status_code == 302
    enterprise = Enterprise.objects.get()
    event = AuditEvent.objects.get(action="admin.add")
    assert event.actor == admin_user and event.target_id == str(enterprise.pk)
    assert verify_chain().ok


def test_the_admin_refuses_a_bad_code_and_says_why(client, admin_user):
    client.force_login(admin_user)
    bad = make_uscc(4242)[:17] + "0"
    bad = bad if bad != make_uscc(4242) else make_uscc(4242)[:17] + "1"
    response = client.post(reverse("admin:core_enterprise_add"), enterprise_form(uscc=bad))
    assert response.status_code == 200
    assert "check character" in response.content.decode() or "校验码" in response.content.decode()
    assert not Enterprise.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_audit_event_cannot_be_changed_or_deleted_in_the_admin(client, admin_user):
    from core.audit import audit_record

    event = audit_record(actor=admin_user, action="test.event")
    client.force_login(admin_user)
    assert client.get(reverse("admin:core_auditevent_changelist")).status_code == 200
    assert (
        client.post(reverse("admin:core_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_non_staff_cannot_open_the_admin(client, inspector_user):
    client.force_login(inspector_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_moving_a_district_moves_its_subtree():
    chaoyang = District.objects.get(code="110105")
    chaoyang.code = "110199"
    chaoyang.save()
    assert District.objects.get(code="110105003").path == "110000/110199/110105003/"
