"""``seed_demo`` on a database that is not a demo's (issue 16, part 5): it resets the superuser admin's
password, so it refuses a database holding data of its own unless --force, and it refuses a
password the validators refuse."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import Enterprise
from demo import seed as demo
from tests.factories import PASSWORD, EnterpriseFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = "demo-password-2026"


def seed(*args):
    call_command(
        "seed_demo", "--enterprises", "5", "--no-history", *args, stdout=io.StringIO(), stderr=io.StringIO()
    )


def test_it_refuses_a_database_with_enterprises_of_its_own():
    EnterpriseFactory()
    with pytest.raises(CommandError, match=r"1 enterprises\).*--force"):
        seed("--password", GOOD)
    assert demo.demo_enterprise_count() == 0 and Enterprise.objects.count() == 1
    assert not get_user_model().objects.filter(username="admin").exists()


def test_it_refuses_a_database_whose_superuser_is_called_admin_and_resets_nothing():
    admin = UserFactory(username="admin", is_superuser=True, is_staff=True)
    with pytest.raises(CommandError, match="users"):
        seed("--password", GOOD)
    assert authenticate(username="admin", password=PASSWORD) == admin
    assert demo.demo_enterprise_count() == 0


def test_force_runs_it_anyway():
    EnterpriseFactory()
    UserFactory(username="inspector-wang")
    seed("--password", GOOD, "--force")
    assert demo.demo_enterprise_count() == 5
    assert authenticate(username="admin", password=GOOD) is not None


def test_a_demo_database_is_seeded_again_without_force():
    seed("--password", GOOD)
    seed("--password", "another-demo-password-2026")  # its own logins and past: nothing of its own
    assert authenticate(username="admin", password="another-demo-password-2026") is not None


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("admin", "too short"),
        ("password123", "too common"),
        ("2026061812345", "entirely numeric"),
        ("regulator_health", "too similar"),
    ],
)
def test_it_refuses_a_password_the_validators_refuse_before_touching_anything(password, why):
    with pytest.raises(CommandError, match=why):
        seed("--password", password, "--force")
    assert Enterprise.objects.count() == 0
    assert not get_user_model().objects.exists()
