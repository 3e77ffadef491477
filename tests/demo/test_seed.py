import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core import uscc
from core.audit import verify_chain
from core.models import (
    AuditEvent,
    District,
    Enterprise,
    EnterpriseMembership,
    IdentityCode,
    Inspector,
    Regulator,
    Scene,
)
from core.permissions import enterprises_visible_to
from demo import seed as demo
from supervision.models import InspectionTask
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

N = 60
PASSWORD = "demo-password-2026"


def _seed(n=N, password=PASSWORD, **kwargs):
    return demo.demo_seed(enterprises=n, password=password, **kwargs)


def _user(username):
    return get_user_model().objects.get(username=username)


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (Enterprise, get_user_model(), Inspector, Regulator, EnterpriseMembership, IdentityCode)
    }


def _snapshot():
    return list(
        Enterprise.objects.order_by("uscc").values_list(
            "uscc",
            "name",
            "address",
            "district__code",
            "scene__code",
            "legal_representative",
            "licence_status",
            "opened_on",
            "latitude",
            "longitude",
        )
    )


def test_it_creates_every_login_with_its_role_and_scope():
    _seed()
    admin = _user("admin")
    assert admin.is_superuser and admin.is_staff

    regulator = Regulator.objects.get(user__username="regulator")
    assert (regulator.department.code, regulator.district.code) == ("market_regulation", "110000")
    health = Regulator.objects.get(user__username="regulator_health")
    assert (health.department.code, health.district.code) == ("health", "110108")
    district_lead = Regulator.objects.get(user__username="regulator_chaoyang")
    assert district_lead.department is None and district_lead.district.code == "110105"

    haidian = Inspector.objects.get(user__username="inspector_haidian")
    assert haidian.department.code == "health"
    assert [d.code for d in haidian.districts.all()] == ["110108"]

    for spec in demo.DEMO_USERS:
        user = _user(spec.username)
        assert user.first_name and user.last_name and user.is_active
        assert not user.is_staff or spec.username == "admin"


def test_the_two_inspectors_share_department_and_districts_but_not_certificates():
    _seed()
    first = Inspector.objects.get(user__username="inspector")
    second = Inspector.objects.get(user__username="inspector2")
    assert first.department.code == second.department.code == "market_regulation"
    assert {d.code for d in first.districts.all()} == {d.code for d in second.districts.all()} == {"110105"}
    assert first.certificate_no != second.certificate_no


def test_the_business_enterprise_is_one_the_inspectors_and_regulators_see():
    _seed()
    membership = EnterpriseMembership.objects.select_related("enterprise__district", "enterprise__scene").get(
        user__username="business"
    )
    enterprise = membership.enterprise
    assert membership.role == EnterpriseMembership.Role.OWNER
    assert (enterprise.district.code, enterprise.scene.code) == ("110105", "catering")
    assert EnterpriseMembership.objects.get(user__username="business_staff").enterprise == enterprise
    for username in ("inspector", "inspector2", "regulator", "regulator_chaoyang", "business"):
        assert enterprises_visible_to(_user(username)).filter(pk=enterprise.pk).exists(), username
    # Health in Haidian: another department's scene in another district.
    for username in ("inspector_haidian", "regulator_health"):
        assert not enterprises_visible_to(_user(username)).filter(pk=enterprise.pk).exists(), username


def test_it_creates_n_enterprises_with_valid_codes_in_every_district_and_scene():
    result = _seed()
    assert result.enterprises_created == result.enterprises_demo_total == N
    enterprises = list(Enterprise.objects.select_related("district", "scene"))
    assert len(enterprises) == N
    assert len({e.uscc for e in enterprises}) == N
    for e in enterprises:
        assert uscc.is_valid(e.uscc), e.uscc
        assert e.uscc[2:8] == e.district.code  # the division code is the enterprise's district
        assert e.uscc[8:10] == demo.DEMO_MARKER
        assert e.name and e.address.startswith(f"北京市{e.district.name}") and e.legal_representative
        assert Decimal("39.44") <= e.latitude <= Decimal("41.06")
        assert Decimal("115.42") <= e.longitude <= Decimal("117.50")
        assert e.opened_on is not None
    assert {e.scene.code for e in enterprises} == set(Scene.objects.values_list("code", flat=True))
    assert {e.district.code for e in enterprises} == set(
        District.objects.filter(level=District.Level.DISTRICT).values_list("code", flat=True)
    )
    statuses = [e.licence_status for e in enterprises]
    assert statuses.count(Enterprise.LicenceStatus.ACTIVE) > N // 2


def test_running_again_changes_no_counts_and_the_new_password_works():
    _seed(password="first-password-1")
    before = _counts()
    result = _seed(password=PASSWORD)
    assert _counts() == before
    assert result.enterprises_created == 0
    assert result.users_created == [] and len(result.users_updated) == len(demo.DEMO_USERS)
    for spec in demo.DEMO_USERS:
        assert authenticate(username=spec.username, password=PASSWORD) is not None, spec.username
        assert authenticate(username=spec.username, password="first-password-1") is None


def test_it_restores_a_changed_role():
    _seed()
    Regulator.objects.filter(user__username="regulator").update(district=District.objects.get(code="110101"))
    Inspector.objects.get(user__username="inspector").districts.set(District.objects.filter(code="110108"))
    get_user_model().objects.filter(username="admin").update(is_superuser=False)
    _seed()
    assert Regulator.objects.get(user__username="regulator").district.code == "110000"
    assert [d.code for d in Inspector.objects.get(user__username="inspector").districts.all()] == ["110105"]
    assert _user("admin").is_superuser


def test_growing_the_set_gives_the_same_rows_as_seeding_it_at_once():
    _seed(n=25)
    assert demo.demo_enterprise_count() == 25
    _seed(n=N)
    grown = _snapshot()
    assert len(grown) == N
    assert [row[0] for row in grown] == sorted(row.uscc for row in demo.enterprise_rows(0, N))

    InspectionTask.objects.all().delete()
    Enterprise.objects.all().delete()
    _seed(n=N)
    assert _snapshot() == grown


def test_it_does_not_count_other_enterprises_as_demo_ones():
    EnterpriseFactory()
    assert demo.demo_enterprise_count() == 0
    _seed(n=20)
    assert demo.demo_enterprise_count() == 20
    assert Enterprise.objects.count() == 21


def test_it_refuses_to_continue_a_partly_deleted_demo_set():
    _seed(n=20)
    Enterprise.objects.get(uscc=next(demo.enterprise_rows(5, 6)).uscc).delete()
    with pytest.raises(CommandError, match="delete all of them"):
        call_command("seed_demo", "--enterprises", "20", "--password", PASSWORD, stdout=io.StringIO())


def test_it_refuses_to_run_without_the_business_enterprise():
    _seed(n=20)
    InspectionTask.objects.all().delete()
    Enterprise.objects.get(uscc=next(demo.enterprise_rows(0, 1)).uscc).delete()
    with pytest.raises(CommandError, match="#0"):
        call_command("seed_demo", "--enterprises", "10", "--password", PASSWORD, stdout=io.StringIO())


def test_it_records_one_audit_event_per_run():
    _seed(n=20)
    _seed(n=30)
    events = list(AuditEvent.objects.filter(action="demo.seed").order_by("seq"))
    assert [e.data["enterprises_created"] for e in events] == [20, 10]
    assert events[-1].data["enterprises_demo_total"] == 30
    assert events[0].data["users_created"] == [spec.username for spec in demo.DEMO_USERS]
    assert PASSWORD not in str(events[0].data)
    assert verify_chain().ok


def test_the_command_prints_a_random_password_that_works():
    out, err = io.StringIO(), io.StringIO()
    call_command("seed_demo", "--enterprises", "20", "--no-history", stdout=out, stderr=err)
    output = out.getvalue()
    row = re.search(r"^inspector\s+inspector\s.*\s(\S+)$", output, re.MULTILINE)
    assert row, output
    password = row.group(1)
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
    assert authenticate(username="inspector", password=password) is not None
    assert output.count(password) == len(demo.DEMO_USERS)
    for spec in demo.DEMO_USERS:
        assert re.search(rf"^{spec.username}\s", output, re.MULTILINE)
    assert "rows/s" in err.getvalue()
    # --no-history: the register and the logins, no past (that is tests/demo/test_history.py's).
    assert "demo past" not in output and not AuditEvent.objects.filter(action="demo.history").exists()

    call_command(
        "seed_demo",
        "--enterprises",
        "20",
        "--no-history",
        stdout=(again := io.StringIO()),
        stderr=io.StringIO(),
    )
    assert password not in again.getvalue()  # a new one each run
    assert authenticate(username="inspector", password=password) is None


def test_the_command_refuses_a_count_below_one():
    with pytest.raises(CommandError, match="must be 1 to"):
        call_command("seed_demo", "--enterprises", "0", stdout=io.StringIO())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_and_bulk_create_write_the_same_rows():
    demo.enterprises_seed(total=30, method="copy")
    copied = _snapshot()
    Enterprise.objects.all().delete()
    demo.enterprises_seed(total=30, method="bulk")
    assert _snapshot() == copied


def test_every_demo_enterprise_gets_one_active_identity_code():
    _seed()
    assert IdentityCode.objects.filter(status="active").count() == N
    assert not Enterprise.objects.exclude(codes__status="active").exists()
    assert AuditEvent.objects.filter(action="code.issue_missing", data__issued=N).exists()


def test_the_demo_has_an_open_task_for_the_inspector_pair_once():
    _seed()
    _seed()
    task = InspectionTask.objects.get()
    assert task.enterprise == demo.business_enterprise() and task.status == "planned"
    assert sorted(i.user.username for i in task.inspectors.all()) == ["inspector", "inspector2"]
