"""Complaint triage (co-governance): dismiss, merge, task; the task's inspection verifies the
complaint or finds it unfounded; the risk score follows; the complaint desk pages and who reads
the reporter's contact there."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from core.models import AuditEvent, Complaint, District
from supervision.complaints import services as triage
from supervision.complaints.intake import contact_masked
from supervision.inspections import services as workflow
from supervision.models import EnterpriseScore, Inspection, InspectionTask
from supervision.risk.scoring import recompute_enterprise
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    MembershipFactory,
    RegulatorFactory,
    make_ready,
    make_team,
    submit,
)

pytestmark = pytest.mark.django_db

CONTACT = "13812345678"
MASKED = "138****5678"


def complaint_about(enterprise, text="后厨有老鼠", contact=CONTACT, **fields) -> Complaint:
    return Complaint.objects.create(
        enterprise=enterprise, text=text, contact=contact, client="test", **fields
    )


@pytest.fixture
def complaint(enterprise):
    return complaint_about(enterprise)


@pytest.fixture
def earlier(enterprise):
    return complaint_about(enterprise, text="厨房很脏")


def window():
    today = timezone.localdate()
    return {"due_from": today, "due_to": today + timedelta(days=5)}


def events(action: str):
    return AuditEvent.objects.filter(action=action)


def client_for(user=None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def unchanged(complaint: Complaint) -> bool:
    complaint.refresh_from_db()
    return (
        complaint.status == Complaint.Status.NEW
        and complaint.triaged_at is None
        and complaint.triaged_by is None
        and complaint.duplicate_of_id is None
        and not complaint.triage_note
    )


# --- dismiss ------------------------------------------------------------------------------------------


def test_a_regulator_dismisses_a_new_complaint_with_its_reason(complaint, regulator_user):
    triage.complaint_dismiss(complaint=complaint, actor=regulator_user, reason="  与本店无关  ")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.DISMISSED
    assert complaint.triage_note == "与本店无关"
    assert complaint.triaged_by == regulator_user and complaint.triaged_at is not None
    event = events("complaint.dismiss").get()
    assert event.target_id == str(complaint.pk) and event.data == {"reason": "与本店无关"}


def test_it_refuses_a_dismissal_without_a_reason_and_writes_nothing(complaint, regulator_user):
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_dismiss(complaint=complaint, actor=regulator_user, reason="   ")
    assert (refused.value.code, refused.value.status) == ("reason_required", 422)
    assert unchanged(complaint)
    assert not events("complaint.dismiss").exists()


@pytest.mark.parametrize(
    "status",
    [
        Complaint.Status.DISMISSED,
        Complaint.Status.DUPLICATE,
        Complaint.Status.TASKED,
        Complaint.Status.VERIFIED,
        Complaint.Status.UNFOUNDED,
    ],
)
def test_only_a_new_complaint_is_triaged(enterprise, earlier, regulator_user, team, status):
    done = complaint_about(enterprise, status=status)
    attempts = [
        lambda: triage.complaint_dismiss(complaint=done, actor=regulator_user, reason="again"),
        lambda: triage.complaint_merge(complaint=done, actor=regulator_user, into=earlier),
        lambda: triage.complaint_to_task(complaint=done, actor=regulator_user, inspectors=team, **window()),
    ]
    for attempt in attempts:
        with pytest.raises(triage.TriageError) as refused:
            attempt()
        assert (refused.value.code, refused.value.status) == ("not_new", 409)
    done.refresh_from_db()
    assert done.status == status
    assert not InspectionTask.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="complaint.").exists()


def test_an_inspector_and_a_regulator_out_of_scope_may_not_triage(complaint, team, earlier):
    haidian_regulator = RegulatorFactory(district=District.objects.get(code="110108")).user
    for actor in (team[0].user, haidian_regulator):
        with pytest.raises(triage.TriageError) as refused:
            triage.complaint_dismiss(complaint=complaint, actor=actor, reason="no")
        assert refused.value.status == 403
        with pytest.raises(triage.TriageError):
            triage.complaint_merge(complaint=complaint, actor=actor, into=earlier)
    assert unchanged(complaint)


# --- merge --------------------------------------------------------------------------------------------


def test_a_duplicate_is_merged_into_the_earlier_complaint(complaint, earlier, regulator_user):
    triage.complaint_merge(complaint=complaint, actor=regulator_user, into=earlier)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.DUPLICATE and complaint.duplicate_of == earlier
    assert complaint.triaged_by == regulator_user
    assert events("complaint.merge").get().data == {"into": earlier.pk, "moved": []}


def test_merging_a_complaint_moves_its_own_duplicates_along(enterprise, complaint, earlier, regulator_user):
    third = complaint_about(enterprise, text="又看到老鼠")
    triage.complaint_merge(complaint=third, actor=regulator_user, into=complaint)
    triage.complaint_merge(complaint=complaint, actor=regulator_user, into=earlier)
    third.refresh_from_db()
    assert third.duplicate_of == earlier  # never a chain: a duplicate points at a complaint that is not one
    assert events("complaint.merge").order_by("seq").last().data == {"into": earlier.pk, "moved": [third.pk]}


def test_it_refuses_to_merge_a_complaint_into_itself(complaint, regulator_user):
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_merge(complaint=complaint, actor=regulator_user, into=complaint)
    assert (refused.value.code, refused.value.status) == ("merge_into_self", 422)
    assert unchanged(complaint)


def test_it_refuses_to_merge_into_another_enterprises_complaint(complaint, other_enterprise, regulator_user):
    elsewhere = complaint_about(other_enterprise)
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_merge(complaint=complaint, actor=regulator_user, into=elsewhere)
    assert refused.value.code == "merge_other_enterprise"
    assert unchanged(complaint) and unchanged(elsewhere)


def test_it_refuses_to_merge_into_a_duplicate(enterprise, complaint, earlier, regulator_user):
    duplicate = complaint_about(enterprise, status=Complaint.Status.DUPLICATE, duplicate_of=earlier)
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_merge(complaint=complaint, actor=regulator_user, into=duplicate)
    assert refused.value.code == "merge_into_duplicate"
    assert unchanged(complaint)
    assert not events("complaint.merge").exists()


def test_it_refuses_a_merge_naming_no_complaint(complaint, regulator_user):
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_merge(complaint=complaint, actor=regulator_user, into=None)
    assert refused.value.code == "merge_target_unknown"
    assert unchanged(complaint)


# --- task ---------------------------------------------------------------------------------------------


def test_a_complaint_becomes_a_complaint_sourced_task(complaint, regulator_user, team):
    task = triage.complaint_to_task(
        complaint=complaint, actor=regulator_user, inspectors=team, note="带上手电", **window()
    )
    assert task.source == InspectionTask.Source.COMPLAINT and task.complaint == complaint
    assert set(task.inspectors.all()) == set(team)
    assert task.department.code == "market_regulation"
    # The inspectors read what to check on the tablet; the reporter's contact is not in it.
    assert task.note == "带上手电" and CONTACT not in task.origin_text()
    # The complaint is said in the reader's language, whoever planned the task.
    with translation.override("en"):
        assert task.origin_text() == f"Complaint #{complaint.pk}: {complaint.text}"
    with translation.override("zh-hans"):
        assert task.origin_text() == f"投诉举报 #{complaint.pk}：{complaint.text}"
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.TASKED and complaint.triaged_by == regulator_user
    assert events("complaint.task").get().data == {"task": task.pk, "department": "market_regulation"}
    assert events("task.create").get().data["source"] == "complaint"


def test_a_task_with_too_few_inspectors_is_refused_and_nothing_is_written(complaint, regulator_user, team):
    with pytest.raises(workflow.WorkflowError) as refused:
        triage.complaint_to_task(complaint=complaint, actor=regulator_user, inspectors=team[:1], **window())
    assert refused.value.code == "too_few_inspectors"
    assert unchanged(complaint)
    assert not InspectionTask.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_leading_department_must_have_an_inspector_in_the_team(complaint, regulator_user, team):
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_to_task(
            complaint=complaint, actor=regulator_user, inspectors=team, department="fire_rescue", **window()
        )
    assert refused.value.code == "department_not_in_team"
    with pytest.raises(triage.TriageError) as refused:
        triage.complaint_to_task(
            complaint=complaint, actor=regulator_user, inspectors=team, department="health", **window()
        )
    assert refused.value.code == "unknown_department"  # health does not supervise catering
    assert unchanged(complaint) and not InspectionTask.objects.exists()


def test_a_window_in_the_past_is_refused_whole(complaint, regulator_user, team):
    yesterday = timezone.localdate() - timedelta(days=1)
    with pytest.raises(workflow.WorkflowError) as refused:
        triage.complaint_to_task(
            complaint=complaint, actor=regulator_user, inspectors=team, due_from=yesterday, due_to=yesterday
        )
    assert refused.value.code == "window_in_past"
    assert unchanged(complaint) and not InspectionTask.objects.exists()


# --- verification on submit, and the risk score ---------------------------------------------------------


def inspect(task, team, failing, conclusion=None) -> Inspection:
    inspection = workflow.inspection_start(task=task, actor=team[0].user)
    make_ready(inspection, team[0].user, team, failing)
    return submit(inspection, team[0].user, conclusion)


@pytest.fixture
def complaint_task(complaint, regulator_user, team, loop_checklist):
    return triage.complaint_to_task(complaint=complaint, actor=regulator_user, inspectors=team, **window())


def complaints_factor(enterprise) -> float:
    return EnterpriseScore.objects.get(enterprise=enterprise).risk_complaints


def test_findings_on_the_complaint_task_verify_the_complaint_and_weigh_more(
    complaint_task, complaint, team, django_capture_on_commit_callbacks
):
    recompute_enterprise(enterprise_id=complaint.enterprise_id)  # as it stands: tasked
    tasked = complaints_factor(complaint.enterprise)
    assert tasked > 0
    with django_capture_on_commit_callbacks(execute=True):
        inspection = inspect(complaint_task, team, FAILING)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.VERIFIED
    event = events("complaint.verify").get()
    assert event.data["inspection"] == inspection.pk and event.data["outcome"] == "verified"
    assert event.data["findings"] == 2
    assert complaints_factor(complaint.enterprise) > tasked


def test_a_pass_without_findings_leaves_the_complaint_unfounded_and_uncounted(
    complaint_task, complaint, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        inspect(complaint_task, team, {})
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.UNFOUNDED
    assert events("complaint.verify").get().data["outcome"] == "unfounded"
    assert complaints_factor(complaint.enterprise) == 0


def test_a_referral_without_findings_still_verifies_the_complaint(complaint_task, complaint, team):
    inspect(complaint_task, team, {}, Inspection.Conclusion.REFER)
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.VERIFIED


def test_an_inspection_of_another_source_touches_no_complaint(
    enterprise, complaint, regulator_user, team, loop_checklist
):
    task = workflow.task_create(
        actor=regulator_user, enterprise=enterprise, inspectors=team, **window(), source="complaint"
    )
    inspect(task, team, FAILING)
    assert unchanged(complaint)
    assert not events("complaint.verify").exists()


def test_each_triage_rescores_the_enterprise_once_it_commits(
    enterprise, complaint, earlier, regulator_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        triage.complaint_merge(complaint=complaint, actor=regulator_user, into=earlier)
    assert len(callbacks) == 1
    one_counted = complaints_factor(enterprise)
    assert one_counted > 0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        triage.complaint_dismiss(complaint=earlier, actor=regulator_user, reason="不属实")
    assert len(callbacks) == 1
    assert complaints_factor(enterprise) == 0


def test_the_audit_chain_never_holds_the_reporters_contact(
    complaint, earlier, regulator_user, team, loop_checklist
):
    triage.complaint_merge(complaint=earlier, actor=regulator_user, into=complaint)
    task = triage.complaint_to_task(complaint=complaint, actor=regulator_user, inspectors=team, **window())
    inspect(task, team, FAILING)
    assert AuditEvent.objects.filter(action__startswith="complaint.").count() == 3
    assert not any(CONTACT in str(event.data) for event in AuditEvent.objects.all())


# --- masking --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "861****5678"),
        ("6512345", "65****45"),
        ("laowang@example.cn", "l***@example.cn"),
        ("王先生", "王**"),
        ("", ""),
    ],
)
def test_a_contact_is_masked_to_show_only_that_there_is_one(contact, masked):
    assert contact_masked(contact) == masked


# --- the complaint desk pages ---------------------------------------------------------------------------


@pytest.fixture
def haidian_regulator(db):
    return RegulatorFactory(district=District.objects.get(code="110108")).user


def test_the_regulator_in_scope_reads_the_contact_in_full(complaint, regulator_user):
    client = client_for(regulator_user)
    listing = client.get("/complaints/")
    assert listing.status_code == 200 and CONTACT in listing.content.decode()
    detail = client.get(f"/complaints/{complaint.pk}/")
    page = detail.content.decode()
    assert CONTACT in page and complaint.text in page
    assert 'id="dismiss-form"' in page and "csrfmiddlewaretoken" in page


def test_an_inspector_on_the_complaint_task_reads_it_with_the_contact_masked(complaint_task, complaint, team):
    client = client_for(team[1].user)
    for url in ("/complaints/", f"/complaints/{complaint.pk}/"):
        page = client.get(url).content.decode()
        assert MASKED in page and CONTACT not in page
    assert 'id="triage"' not in client.get(f"/complaints/{complaint.pk}/").content.decode()
    response = client.post(f"/complaints/{complaint.pk}/dismiss", {"reason": "no"})
    assert response.status_code == 403
    assert Complaint.objects.get(pk=complaint.pk).status == Complaint.Status.TASKED


def test_others_do_not_find_the_complaint(complaint, haidian_regulator, outsider, enterprise):
    member = MembershipFactory(enterprise=enterprise).user
    unassigned_inspector = make_team(1)[0].user
    for user in (haidian_regulator, unassigned_inspector):
        client = client_for(user)
        assert client.get("/complaints/").status_code == 200
        assert CONTACT not in client.get("/complaints/").content.decode()
        assert client.get(f"/complaints/{complaint.pk}/").status_code == 404
        assert client.post(f"/complaints/{complaint.pk}/dismiss", {"reason": "x"}).status_code == 404
    for user in (member, outsider):
        assert client_for(user).get("/complaints/").status_code == 404
        assert client_for(user).get(f"/complaints/{complaint.pk}/").status_code == 404
    assert client_for().get("/complaints/").status_code == 302
    assert unchanged(complaint)


def test_the_list_filters_by_status_district_and_enterprise(complaint, admin_user, far_enterprise):
    other = complaint_about(EnterpriseFactory(), text="噪音扰民")
    complaint_about(EnterpriseFactory(), text="已驳回的", status=Complaint.Status.DISMISSED)
    client = client_for(admin_user)  # every complaint
    complaint_about(far_enterprise, text="海淀的投诉")
    page = client.get("/complaints/", {"status": "new", "district": "110105"}).content.decode()
    assert complaint.text in page and other.text in page
    assert "已驳回的" not in page and "海淀的投诉" not in page
    page = client.get("/complaints/", {"enterprise": complaint.enterprise.uscc}).content.decode()
    assert complaint.text in page and other.text not in page
    assert client.get("/complaints/", {"district": "999999"}).status_code == 400
    assert client.get("/complaints/", {"status": "nonsense"}).status_code == 400


def test_the_list_is_paginated_without_counting(enterprise, regulator_user, django_assert_max_num_queries):
    for n in range(52):
        complaint_about(enterprise, text=f"投诉{n:02d}")
    client = client_for(regulator_user)
    with django_assert_max_num_queries(12):
        first = client.get("/complaints/")
    assert "投诉51" in first.content.decode() and "投诉01" not in first.content.decode()
    assert "page=2" in first.content.decode()
    second = client.get("/complaints/", {"page": 2}).content.decode()
    assert "投诉01" in second and "投诉51" not in second


def test_the_detail_page_dismisses_and_shows_a_refusal_without_writing(complaint, regulator_user):
    client = client_for(regulator_user)
    refused = client.post(f"/complaints/{complaint.pk}/dismiss", {"reason": "  "})
    assert refused.status_code == 422
    assert 'data-code="reason_required"' in refused.content.decode()
    assert unchanged(complaint)
    done = client.post(f"/complaints/{complaint.pk}/dismiss", {"reason": "不属于监管范围"})
    assert done.status_code == 302 and done["Location"] == f"/complaints/{complaint.pk}/"
    assert Complaint.objects.get(pk=complaint.pk).status == Complaint.Status.DISMISSED


def test_the_detail_page_merges_only_into_a_complaint_the_user_sees(
    complaint, earlier, regulator_user, far_enterprise
):
    client = client_for(regulator_user)
    far = complaint_about(far_enterprise)
    refused = client.post(f"/complaints/{complaint.pk}/merge", {"into": far.pk})
    assert refused.status_code == 422 and 'data-code="merge_target_unknown"' in refused.content.decode()
    assert unchanged(complaint)
    assert client.post(f"/complaints/{complaint.pk}/merge", {"into": earlier.pk}).status_code == 302
    assert Complaint.objects.get(pk=complaint.pk).duplicate_of == earlier


def test_the_detail_page_plans_the_task_and_keeps_the_form_on_a_refusal(complaint, regulator_user, team):
    client = client_for(regulator_user)
    today = timezone.localdate()
    form = {"inspectors": [team[0].pk], "due_from": today.isoformat(), "due_to": today.isoformat()}
    refused = client.post(f"/complaints/{complaint.pk}/task", form)
    assert refused.status_code == 422 and 'data-code="too_few_inspectors"' in refused.content.decode()
    assert f'value="{team[0].pk}" checked' in refused.content.decode()
    assert unchanged(complaint) and not InspectionTask.objects.exists()
    bad_dates = client.post(f"/complaints/{complaint.pk}/task", {**form, "due_to": "soon"})
    assert bad_dates.status_code == 422 and 'data-code="invalid_date"' in bad_dates.content.decode()
    done = client.post(
        f"/complaints/{complaint.pk}/task", {**form, "inspectors": [i.pk for i in team], "note": "夜间去"}
    )
    assert done.status_code == 302
    task = InspectionTask.objects.get()
    assert task.complaint == complaint and task.source == "complaint"
    assert Complaint.objects.get(pk=complaint.pk).status == Complaint.Status.TASKED


def test_the_detail_page_offers_no_triage_once_triaged(complaint, regulator_user):
    triage.complaint_dismiss(complaint=complaint, actor=regulator_user, reason="重复")
    page = client_for(regulator_user).get(f"/complaints/{complaint.pk}/").content.decode()
    assert 'id="triage"' not in page and "重复" in page
    again = client_for(regulator_user).post(f"/complaints/{complaint.pk}/dismiss", {"reason": "again"})
    assert again.status_code == 409 and 'data-code="not_new"' in again.content.decode()
