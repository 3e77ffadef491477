"""core.prepared.PreparedGet gives what the ORM's select_related gives, in one statement."""

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core import codes
from core.models import IdentityCode
from core.prepared import PreparedGet, PreparedValues
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

RELATED = ("enterprise__scene", "enterprise__district", "created_by", "ended_by")


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_a_row_and_its_related_rows_are_the_orms(admin_user):
    enterprise = EnterpriseFactory()
    old = codes.code_issue(enterprise=enterprise, actor=admin_user)
    codes.code_rotate(enterprise=enterprise, actor=admin_user, reason="defaced")
    prepared = PreparedGet(IdentityCode, by="token", related=RELATED)

    for token in (old.token, enterprise.codes.get(status="active").token):
        expected = IdentityCode.objects.select_related(*RELATED).get(token=token)
        with CaptureQueriesContext(connection) as queries:
            found = prepared.get(token)
            # Everything select_related loads is loaded: reading it sends nothing more.
            loaded = (found.enterprise.scene, found.enterprise.district, found.created_by, found.ended_by)
        assert len(queries) == 1
        assert fields_of(found) == fields_of(expected)  # datetimes converted on SQLite too
        assert fields_of(found.enterprise) == fields_of(expected.enterprise)
        assert fields_of(loaded[0]) == fields_of(expected.enterprise.scene)
        assert fields_of(loaded[1]) == fields_of(expected.enterprise.district)
        assert fields_of(loaded[2]) == fields_of(admin_user)
        assert found._state.adding is False and found._state.db == "default"

    # A nullable key that leads nowhere gives None, not an empty object and not a query.
    fresh = codes.code_issue(enterprise=EnterpriseFactory(), actor=None)
    with CaptureQueriesContext(connection) as queries:
        found = prepared.get(fresh.token)
        assert found.created_by is None and found.ended_by is None
    assert len(queries) == 1
    assert found.enterprise.pk == fresh.enterprise_id


def test_an_unknown_value_is_none():
    prepared = PreparedGet(IdentityCode, by="token", related=("enterprise",))
    assert prepared.get("NOSUCHTOKEN") is None
    assert prepared.get("x\u00e9'; DROP TABLE core_identitycode; --") is None
    assert IdentityCode.objects.count() == 0


def test_a_loaded_instance_saves_like_any_other(admin_user):
    code = codes.code_issue(enterprise=EnterpriseFactory(), actor=admin_user)
    found = PreparedGet(IdentityCode, by="token", related=("enterprise",)).get(code.token)
    found.end_reason = "checked"
    found.save(update_fields=["end_reason"])
    assert IdentityCode.objects.get(pk=code.pk).end_reason == "checked"


def test_an_unknown_field_is_refused_at_once():
    from django.core.exceptions import FieldDoesNotExist

    with pytest.raises(FieldDoesNotExist):
        PreparedGet(IdentityCode, by="no_such_column")


def test_one_columns_values_in_order():
    from django.contrib.auth import get_user_model

    from core.models import EnterpriseMembership
    from core.prepared import PreparedValues

    users = get_user_model().objects
    owner, other = users.create(username="o"), users.create(username="x")
    enterprises = EnterpriseFactory.create_batch(3)
    for enterprise in reversed(enterprises):
        EnterpriseMembership.objects.create(user=owner, enterprise=enterprise)
    memberships = PreparedValues(EnterpriseMembership, "enterprise_id", by="user")
    assert memberships.get(owner.pk) == sorted(e.pk for e in enterprises)
    assert memberships.get(other.pk) == []


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statements are prepared on PostgreSQL only"
)


@postgres_only
@pytest.mark.parametrize("enabled", [True, False])
def test_on_postgresql_the_statements_are_prepared_once_per_connection(admin_user, settings, enabled):
    settings.DB_PREPARED_STATEMENTS = enabled
    code = codes.code_issue(enterprise=EnterpriseFactory(), actor=admin_user)
    prepared = PreparedGet(IdentityCode, by="token", related=RELATED)
    values = PreparedValues(IdentityCode, "token", by="enterprise")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert prepared.get(code.token).pk == code.pk
            assert values.get(code.enterprise_id) == [code.token]
        # An unknown value, and a value of the right type that reaches the server as a parameter.
        assert prepared.get("x" * 30 + "'; --") is None
    # The query log and the suite's statement counts see them as any other statement.
    assert len(queries) == 7 and code.token in queries[0]["sql"]
    ours = [sql for sql in _prepared_statements() if '"core_identitycode"' in sql]
    assert len(ours) == (2 if enabled else 0)
    # Django's own statements bind on the client and are never prepared, however often they run.
    for _ in range(6):
        IdentityCode.objects.filter(token=code.token).exists()
    assert len([sql for sql in _prepared_statements() if '"core_identitycode"' in sql]) == len(ours)


@postgres_only
def test_a_prepared_statement_that_fails_is_an_ordinary_database_error(admin_user):
    prepared = PreparedGet(IdentityCode, by="token")
    with pytest.raises(DataError), transaction.atomic():
        prepared.get("A\x00B")  # PostgreSQL's text holds no NUL
    assert prepared.get("AB") is None  # the connection is usable afterwards
