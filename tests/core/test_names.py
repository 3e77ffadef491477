"""core.names.person_name: a Chinese name family name first without a space, others given first."""

import pytest
from django.contrib.auth import get_user_model

from core.names import person_name
from core.templatetags.people import person_name as person_name_filter

User = get_user_model()


@pytest.mark.parametrize(
    ("first_name", "last_name", "shown"),
    [
        ("静", "陈", "陈静"),
        ("建国", "王", "王建国"),
        ("娜娜", "欧阳", "欧阳娜娜"),
        ("李明", "", "李明"),
        ("", "陈", "陈"),
        ("Jane", "Smith", "Jane Smith"),
        ("Jane", "", "Jane"),
        ("  静 ", " 陈", "陈静"),
        ("Ming", "李", "李Ming"),
        ("", "", "inspector7"),
    ],
)
def test_a_person_is_named_the_way_their_name_is_written(first_name, last_name, shown):
    user = User(username="inspector7", first_name=first_name, last_name=last_name)
    assert person_name(user) == shown
    assert person_name_filter(user) == shown


def test_nobody_has_no_name():
    assert person_name(None) == ""


@pytest.mark.django_db
def test_an_inspector_and_a_regulator_are_shown_family_name_first():
    from tests.factories import InspectorFactory, RegulatorFactory

    inspector = InspectorFactory(user__first_name="伟", user__last_name="张", certificate_no="110105010001")
    regulator = RegulatorFactory(user__first_name="敏", user__last_name="赵")
    assert str(inspector) == "张伟 (110105010001)"
    assert str(regulator) == "赵敏"
