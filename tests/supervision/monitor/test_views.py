"""The regulators' monitor pages (supervision/monitor/views.py): who may see them, the tables and
their audited CSV exports, planning a task with its form, the task list and cancelling."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from core.models import AuditEvent, Department
from supervision.models import InspectionTask

pytestmark = pytest.mark.django_db

LOOP = "/monitor/loop/"


def read_csv(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


TASKS = "/monitor/tasks/"


def new_url(enterprise) -> str:
    return f"/monitor/tasks/new?enterprise={enterprise.uscc}"


@pytest.fixture
def planned(enterprise, far_enterprise, regulator_user, admin_user):
    def task(target, status=InspectionTask.Status.PLANNED):
        return InspectionTask.objects.create(
            enterprise=target,
            department=Department.objects.get(code="market_regulation"),
            due_from=timezone.localdate(),
            due_to=timezone.localdate() + timedelta(days=3),
            status=status,
            created_by=admin_user,
        )

    return {
        "mine": task(enterprise),
        "done": task(enterprise, InspectionTask.Status.DONE),
        "far": task(far_enterprise),
    }


# --- the loop page -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/monitor/loop/", "/monitor/loop/?format=csv", "/monitor/ratings/", "/monitor/tasks/"],
)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        (None, 302),
        ("business_user", 404),
        ("inspector_user", 404),
        ("outsider", 404),
        ("regulator_user", 200),
        ("admin_user", 200),
    ],
)
def test_permissions(db, client, request, url, persona, expected):
    # `db` asked for by name: pytest-django orders tests by the fixtures they declare, and one that
    # only reaches the database through getfixturevalue would run after the flushing ones.
    if persona:
        client.force_login(request.getfixturevalue(persona))
    response = client.get(url)
    assert response.status_code == expected
    if persona is None:
        assert response["Location"].startswith(reverse("login"))


def test_the_urls_are_named():
    assert reverse("monitor:loop") == LOOP
    assert reverse("monitor:ratings") == "/monitor/ratings/"
    assert reverse("monitor:tasks") == "/monitor/tasks/"
    assert reverse("monitor:task-new") == "/monitor/tasks/new"


def test_the_loop_page_shows_the_table_and_links_the_overdue_orders(
    client, orders, regulator_user, django_assert_max_num_queries
):
    client.force_login(regulator_user)
    with django_assert_max_num_queries(12):
        response = client.get(LOOP, {"by": "district"}, headers={"accept-language": "en"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Chaoyang" in body and "66.7%" in body and "Haidian" not in body
    assert f'href="/orders/{orders["overdue_issued"].pk}/"' in body
    assert f'href="/orders/{orders["overdue_returned"].pk}/"' in body
    assert orders["due_now"].number not in body
    assert orders["hd_overdue"].number not in body


def test_the_loop_page_reports_a_bad_date(client, orders, regulator_user):
    client.force_login(regulator_user)
    response = client.get(LOOP, {"from": "2025-13-01"}, headers={"accept-language": "en"})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()


@pytest.mark.parametrize("page", [LOOP, reverse_lazy("monitor:ratings")])
@pytest.mark.parametrize("query", [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "1989-12-31"}])
def test_a_day_beyond_the_records_is_a_clear_error(client, orders, regulator_user, page, query):
    client.force_login(regulator_user)
    response = client.get(page, query, headers={"accept-language": "en"})
    assert response.status_code == 400
    assert "Give dates between 1990-01-01 and 2100-12-31." in response.content.decode()


def test_the_loop_csv_export_is_excel_ready_and_audited(client, orders, regulator_user):
    client.force_login(regulator_user)
    response = client.get(LOOP, {"by": "district", "from": "2025-06-01", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="loop-monitor-district-')
    rows = read_csv(response)
    assert len(rows[0]) == 8
    # Chinese UI by default: the district names are the Chinese ones.
    assert rows[1:] == [
        ["东城区", "0", "0", "2", "1", "50.0", "0", "5.5"],
        ["朝阳区", "4", "2", "3", "2", "66.7", "1", "2.0"],
        [rows[3][0], "4", "2", "5", "3", "60.0", "1", "4.0"],
    ]
    event = AuditEvent.objects.get(action="export.loop_monitor")
    assert event.actor == regulator_user
    assert event.data == {"by": "district", "from": "2025-06-01", "to": None, "rows": 2}


def test_viewing_the_page_is_not_an_export(client, orders, regulator_user):
    client.force_login(regulator_user)
    client.get(LOOP)
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


# --- ratings -------------------------------------------------------------------------------------------


def test_the_ratings_page_and_its_csv_exports(client, rated, regulator_user):
    client.force_login(regulator_user)
    body = client.get("/monitor/ratings/", headers={"accept-language": "en"}).content.decode()
    assert "insp_a" in body and "2.67" in body and "insp_d" not in body
    response = client.get("/monitor/ratings/", {"format": "csv", "table": "inspector"})
    assert response["Content-Disposition"].startswith('attachment; filename="ratings-inspector-')
    rows = read_csv(response)
    assert [row[0].split(" ")[0] for row in rows[1:]] == ["insp_c", "insp_a", "insp_b"]
    assert rows[2][2:] == ["3", "2.67", "2", "66.7"]
    response = client.get("/monitor/ratings/", {"format": "csv", "table": "department"})
    rows = read_csv(response)
    assert rows[1:] == [
        ["消防救援总队", "1", "1.00", "1", "100.0"],
        ["市场监督管理局", "2", "3.50", "1", "50.0"],
    ]
    events = AuditEvent.objects.filter(action="export.ratings").order_by("seq")
    assert [(e.actor, e.data["table"], e.data["rows"]) for e in events] == [
        (regulator_user, "inspector", 3),
        (regulator_user, "department", 2),
    ]


def test_the_ratings_page_queries_do_not_grow_with_rows(
    client, rated, admin_user, django_assert_max_num_queries
):
    client.force_login(admin_user)
    with django_assert_max_num_queries(10):
        assert client.get("/monitor/ratings/").status_code == 200


# --- planning -------------------------------------------------------------------------------------------


def test_the_form_lists_the_choices(client, staff, enterprise, regulator_user):
    client.force_login(regulator_user)
    response = client.get(new_url(enterprise), headers={"accept-language": "en"})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'value="{staff["chaoyang_1"].pk}"' in body and f'value="{staff["city_fire"].pk}"' in body
    assert f'value="{staff["haidian"].pk}"' not in body


def test_it_plans_a_task_with_two_inspectors(client, staff, enterprise, chaoyang_regulator):
    # Market and fire inspectors: a regulator of every department (a department regulator staffs
    # only their own department's, tests/planning/test_staffing.py).
    regulator_user = chaoyang_regulator
    client.force_login(regulator_user)
    due_from, due_to = timezone.localdate(), timezone.localdate() + timedelta(days=7)
    response = client.post(
        new_url(enterprise),
        {
            "inspectors": [staff["chaoyang_1"].pk, staff["city_fire"].pk],
            "due_from": due_from.isoformat(),
            "due_to": due_to.isoformat(),
            "source": "complaint",
            "note": "投诉后核查",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == TASKS
    task = InspectionTask.objects.get()
    assert task.enterprise == enterprise and task.source == "complaint" and task.note == "投诉后核查"
    assert set(task.inspectors.all()) == {staff["chaoyang_1"], staff["city_fire"]}
    assert (task.due_from, task.due_to, task.created_by) == (due_from, due_to, regulator_user)
    assert AuditEvent.objects.filter(action="task.create", target_id=str(task.pk)).exists()


@pytest.mark.parametrize(
    ("team", "days", "message"),
    [
        (["chaoyang_1"], (0, 7), "A task needs at least two inspectors."),
        (["chaoyang_1", "chaoyang_2"], (-7, -1), "The due window is in the past."),
        (["chaoyang_1", "haidian"], (0, 7), "has no jurisdiction over this enterprise."),
        (["chaoyang_1", "chaoyang_2"], (5, 1), "The due window ends before it starts."),
    ],
)
def test_a_refused_task_shows_why_and_keeps_what_was_typed(
    client, staff, enterprise, regulator_user, team, days, message
):
    client.force_login(regulator_user)
    today = timezone.localdate()
    posted = {
        "inspectors": [staff[name].pk for name in team],
        "due_from": (today + timedelta(days=days[0])).isoformat(),
        "due_to": (today + timedelta(days=days[1])).isoformat(),
        "source": "risk",
        "note": "复查重点：后厨",
    }
    response = client.post(new_url(enterprise), posted, headers={"accept-language": "en"})
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    assert "复查重点：后厨" in body
    assert f'value="{posted["due_to"]}"' in body
    assert f'value="{staff["chaoyang_1"].pk}" checked' in body
    assert '<option value="risk" selected>' in body
    assert not InspectionTask.objects.exists()


def test_missing_dates_are_refused(client, staff, enterprise, regulator_user):
    client.force_login(regulator_user)
    response = client.post(
        new_url(enterprise),
        {"inspectors": [staff["chaoyang_1"].pk, staff["chaoyang_2"].pk], "due_from": "", "due_to": ""},
        headers={"accept-language": "en"},
    )
    assert response.status_code == 422
    assert "Give both dates of the due window." in response.content.decode()
    assert not InspectionTask.objects.exists()


@pytest.mark.parametrize("persona", ["business_user", "inspector_user", "outsider", "health_regulator"])
def test_only_a_regulator_in_scope_plans(client, request, staff, enterprise, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(new_url(enterprise)).status_code == 404
    response = client.post(
        new_url(enterprise),
        {
            "inspectors": [staff["chaoyang_1"].pk, staff["chaoyang_2"].pk],
            "due_from": timezone.localdate().isoformat(),
            "due_to": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 404
    assert not InspectionTask.objects.exists()


def test_an_unknown_enterprise_is_404(client, regulator_user, admin_user):
    client.force_login(regulator_user)
    assert client.get("/monitor/tasks/new?enterprise=nope").status_code == 404
    assert client.get("/monitor/tasks/new").status_code == 404
    client.force_login(admin_user)
    assert client.get("/monitor/tasks/new?enterprise=nope").status_code == 404


def test_an_admin_plans_anywhere(client, staff, far_enterprise, admin_user):
    client.force_login(admin_user)
    assert client.get(new_url(far_enterprise)).status_code == 200


# --- the task list ---------------------------------------------------------------------------------------


def test_the_task_list_shows_tasks_in_scope(client, planned, regulator_user):
    client.force_login(regulator_user)
    page = client.get(TASKS).context["page"]
    assert set(page.items) == {planned["mine"], planned["done"]}
    page = client.get(TASKS, {"status": "done"}).context["page"]
    assert page.items == [planned["done"]]


def test_it_cancels_a_task_with_a_reason(client, planned, regulator_user):
    client.force_login(regulator_user)
    task = planned["mine"]
    response = client.post(
        f"/monitor/tasks/{task.pk}/cancel", {"reason": "企业已停业", "next": TASKS + "?status=planned"}
    )
    assert response.status_code == 302 and response["Location"] == TASKS + "?status=planned"
    task.refresh_from_db()
    assert task.status == InspectionTask.Status.CANCELLED and task.cancel_reason == "企业已停业"
    assert AuditEvent.objects.filter(action="task.cancel", target_id=str(task.pk)).exists()


def test_cancelling_without_a_reason_is_refused(client, planned, regulator_user):
    client.force_login(regulator_user)
    task = planned["mine"]
    response = client.post(
        f"/monitor/tasks/{task.pk}/cancel", {"reason": " "}, follow=True, headers={"accept-language": "en"}
    )
    assert "Say why the task is cancelled." in response.content.decode()
    task.refresh_from_db()
    assert task.status == InspectionTask.Status.PLANNED


def test_cancel_does_not_redirect_off_site(client, planned, regulator_user):
    client.force_login(regulator_user)
    response = client.post(
        f"/monitor/tasks/{planned['mine'].pk}/cancel", {"reason": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == TASKS


@pytest.mark.parametrize("persona", ["inspector_user", "business_user", "outsider"])
def test_others_cannot_cancel(client, request, planned, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(f"/monitor/tasks/{planned['mine'].pk}/cancel", {"reason": "x"})
    assert response.status_code == 404


def test_a_task_out_of_scope_is_404(client, planned, regulator_user):
    client.force_login(regulator_user)
    response = client.post(f"/monitor/tasks/{planned['far'].pk}/cancel", {"reason": "x"})
    assert response.status_code == 404
    planned["far"].refresh_from_db()
    assert planned["far"].status == InspectionTask.Status.PLANNED


def test_the_task_list_queries_do_not_grow_with_rows(
    client, planned, regulator_user, django_assert_max_num_queries
):
    client.force_login(regulator_user)
    with django_assert_max_num_queries(10):
        assert client.get(TASKS).status_code == 200
