"""The ground floor's people and places: users, enterprises, memberships, inspectors, regulators."""

import factory
from django.contrib.auth import get_user_model
from django.test import Client

from core import uscc
from core.models import Department, District, Enterprise, EnterpriseMembership, Inspector, Regulator, Scene

PASSWORD = "correct-horse-battery-staple"


def api_token(user, device: str = "tablet") -> str:
    """A bearer token for ``user``, got as a tablet gets one: its password sent to the API."""
    response = Client().post(
        "/api/v1/auth/token",
        {"username": user.username, "password": PASSWORD, "device": device},
        content_type="application/json",
    )
    return response.json()["token"]


def tablet_client(token: str, *, enforce_csrf_checks: bool = False) -> Client:
    """A tablet's client: the bearer token on every request, answers in English."""
    return Client(
        enforce_csrf_checks=enforce_csrf_checks,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )


def tablet_for(user) -> Client:
    """A signed-in tablet of ``user``."""
    return tablet_client(api_token(user))


def make_uscc(n: int, division: str = "110105") -> str:
    return uscc.build(authority="9", kind="1", division=division, body8=f"{n:08d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    uscc = factory.Sequence(lambda n: make_uscc(n + 1))
    name = factory.Sequence(lambda n: f"测试企业{n}有限公司")
    address = "北京市朝阳区建国路1号"
    district = factory.LazyFunction(lambda: District.objects.get(code="110105"))
    scene = factory.LazyFunction(lambda: Scene.objects.get(code="catering"))
    legal_representative = "张三丰"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EnterpriseMembership

    user = factory.SubFactory(UserFactory)
    enterprise = factory.SubFactory(EnterpriseFactory)


class InspectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspector
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    department = factory.LazyFunction(lambda: Department.objects.get(code="market_regulation"))
    certificate_no = factory.Sequence(lambda n: f"11010500{n:04d}")

    @factory.post_generation
    def districts(self, create, extracted, **kwargs):
        codes = extracted or ["110105"]
        self.districts.set(District.objects.filter(code__in=codes))


class RegulatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Regulator

    user = factory.SubFactory(UserFactory)
    department = factory.LazyFunction(lambda: Department.objects.get(code="market_regulation"))
    district = None
