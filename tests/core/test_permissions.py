import pytest

from core.models import Department, District, Regulator, Scene
from core.permissions import (
    enterprises_visible_to,
    in_scope,
    mask_name,
    may_see_personal_data,
    regulator_q,
    regulators_over_q,
    roles_of,
)
from tests.factories import (
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def visible(user):
    return set(enterprises_visible_to(user).values_list("uscc", flat=True))


def test_a_business_user_sees_only_their_own_enterprise(
    business_user, enterprise, other_enterprise, far_enterprise
):
    assert visible(business_user) == {enterprise.uscc}


def test_a_member_of_two_enterprises_sees_both(enterprise, far_enterprise):
    user = MembershipFactory(enterprise=enterprise).user
    MembershipFactory(user=user, enterprise=far_enterprise)
    assert visible(user) == {enterprise.uscc, far_enterprise.uscc}


def test_an_inspector_sees_only_their_districts(inspector_user, enterprise, other_enterprise, far_enterprise):
    assert visible(inspector_user) == {enterprise.uscc, other_enterprise.uscc}


def test_an_inspector_of_a_district_sees_its_streets():
    street = District.objects.get(code="110105003")
    in_street = EnterpriseFactory(district=street)
    elsewhere = EnterpriseFactory(district=District.objects.get(code="110101001"))
    inspector = InspectorFactory(districts=["110105"]).user
    assert in_street.uscc in visible(inspector)
    assert elsewhere.uscc not in visible(inspector)


def test_a_street_inspector_does_not_see_the_rest_of_the_district():
    street_enterprise = EnterpriseFactory(district=District.objects.get(code="110105003"))
    district_enterprise = EnterpriseFactory()
    inspector = InspectorFactory(districts=["110105003"]).user
    assert visible(inspector) == {street_enterprise.uscc}
    assert district_enterprise.uscc not in visible(inspector)


def test_an_inactive_inspector_sees_nothing(enterprise):
    inspector = InspectorFactory(active=False)
    assert visible(inspector.user) == set()


def test_a_department_regulator_sees_the_scenes_their_department_supervises(enterprise, far_enterprise):
    # market regulation supervises catering (enterprise), not medical institutions (far_enterprise).
    regulator = RegulatorFactory(department=Department.objects.get(code="market_regulation")).user
    assert visible(regulator) == {enterprise.uscc}
    health = RegulatorFactory(department=Department.objects.get(code="health")).user
    assert visible(health) == {far_enterprise.uscc}


def test_a_district_regulator_sees_every_scene_in_the_district_only(enterprise, far_enterprise):
    haidian = RegulatorFactory(department=None, district=District.objects.get(code="110108")).user
    assert visible(haidian) == {far_enterprise.uscc}


def test_department_and_district_scopes_intersect(enterprise):
    medical_in_chaoyang = EnterpriseFactory(scene=Scene.objects.get(code="medical"))
    catering_in_haidian = EnterpriseFactory(district=District.objects.get(code="110108"))
    regulator = RegulatorFactory(
        department=Department.objects.get(code="market_regulation"),
        district=District.objects.get(code="110105"),
    ).user
    assert visible(regulator) == {enterprise.uscc}
    assert medical_in_chaoyang.uscc not in visible(regulator)
    assert catering_in_haidian.uscc not in visible(regulator)


def test_a_city_regulator_sees_every_district(enterprise):
    haidian = EnterpriseFactory(district=District.objects.get(code="110108"))
    regulator = RegulatorFactory(district=District.objects.get(code="110000")).user
    assert visible(regulator) == {enterprise.uscc, haidian.uscc}


def test_the_regulators_over_an_enterprise_are_exactly_those_who_have_it_in_scope():
    """regulators_over_q (who hears of an enterprise) is regulator_q (what a regulator sees) read the
    other way round: every pair of department/district regulator and street/district enterprise."""
    departments = [None, *Department.objects.filter(code__in=["market_regulation", "health"])]
    districts = [None, *District.objects.filter(code__in=["110000", "110105", "110105003", "110108"])]
    for department in departments:
        for district in districts:
            if department or district:  # a regulator has one scope at least (regulator_has_scope)
                RegulatorFactory(department=department, district=district)
    enterprises = [
        EnterpriseFactory(district=District.objects.get(code=district), scene=Scene.objects.get(code=scene))
        for district in ("110105", "110105003", "110108", "110101001")
        for scene in ("catering", "medical")
    ]
    regulators = list(Regulator.objects.select_related("district"))
    for enterprise in enterprises:
        over = set(Regulator.objects.filter(regulators_over_q(enterprise)).values_list("pk", flat=True))
        seeing = {r.pk for r in regulators if in_scope(regulator_q(r), enterprise)}
        assert over == seeing, enterprise.district.code
    assert 0 < len(over) < len(regulators)


def test_the_admin_sees_everything(admin_user, enterprise, far_enterprise):
    assert visible(admin_user) == {enterprise.uscc, far_enterprise.uscc}


def test_anonymous_and_plain_users_see_nothing(outsider, enterprise):
    from django.contrib.auth.models import AnonymousUser

    assert visible(AnonymousUser()) == set()
    assert visible(outsider) == set()


def test_a_deactivated_member_sees_nothing(business_user):
    business_user.is_active = False
    business_user.save()
    assert visible(business_user) == set()


def test_roles_add_up_and_pick_a_home(enterprise, far_enterprise):
    user = UserFactory()
    MembershipFactory(user=user, enterprise=far_enterprise)
    InspectorFactory(user=user)
    roles = roles_of(user)
    assert roles.is_business and roles.inspector and roles.primary == "inspector"
    assert visible(user) == {enterprise.uscc, far_enterprise.uscc}


def test_personal_data_is_for_those_with_the_enterprise_in_scope(
    business_user, inspector_user, outsider, enterprise
):
    assert may_see_personal_data(business_user, enterprise)
    assert may_see_personal_data(inspector_user, enterprise)
    assert not may_see_personal_data(outsider, enterprise)
    other_member = MembershipFactory().user
    assert not may_see_personal_data(other_member, enterprise)


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "*"), ("", ""), (" John ", "J***")]
)
def test_names_are_masked_to_the_first_character(name, masked):
    assert mask_name(name) == masked
