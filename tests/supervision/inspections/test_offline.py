"""A tablet's day without a signal, through the API a native app would use (docs/OFFLINE.md): the day
pack, photos under the tablet's own ids, the journal of one inspection replayed whole, conflicts
between two tablets, and replays that must be refused with nothing half-written."""

import base64
import hashlib
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from checklists.models import ChecklistItem
from core.models import AuditEvent, Photo
from supervision.inspections import services as workflow
from supervision.models import (
    AnswerEvent,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Signature,
    TabletPhoto,
)
from tests.factories import (
    EnterpriseFactory,
    items_of,
    jpeg_bytes,
    make_checklist,
    make_manual,
    make_ready,
    make_task,
    make_team,
    png_bytes,
    submit,
    tablet_for,
)
from tests.factories.inspections import loop_state

pytestmark = pytest.mark.django_db

JSON = "application/json"
# The server's clock for every test here; the tablets' times are before it.
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def state() -> dict:
    """loop_state with the tablets' tables: what a refused replay must leave as it was."""
    rows = loop_state()
    for model in (AnswerEvent, TabletPhoto):
        rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def at(minutes: int) -> str:
    """A time on the tablet's clock, ``minutes`` after an hour before the server's now."""
    return (NOW - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()


def pack_of(tablet, **params) -> dict:
    response = tablet.get("/api/v1/daypack", params)
    assert response.status_code == 200, response.content
    return response.json()


def task_in(pack: dict, task) -> dict:
    return next(t for t in pack["tasks"] if t["id"] == task.pk)


def upload(tablet, task, item_id, *, client_id=None, data=None, name="photo.jpg"):
    client_id = client_id or uuid.uuid4()
    response = tablet.post(
        f"/api/v1/inspections/photos/{client_id}",
        {
            "photo": _file(data if data is not None else jpeg_bytes(), name),
            "task": task.pk,
            "item": item_id,
            "taken_at": at(5),
        },
    )
    return client_id, response


def _file(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def journal(task_pack: dict, *, results=None, photos=None, sign=None, submission=None, inspection=None):
    """A tablet's journal: every item answered (compliant unless ``results`` says), ``photos``
    {item code: [photo ids]}, the ``sign`` list of (role, inspector id, png) and a submission."""
    results, photos = results or {}, photos or {}
    codes = dict(ChecklistItem.objects.filter(pk__in=task_pack["items"]).values_list("pk", "code"))
    body = {
        "inspection": str(inspection or uuid.uuid4()),
        "task": task_pack["id"],
        "started_at": at(0),
        "checklists": task_pack["checklists"],
        "answers": [
            {
                "id": str(uuid.uuid4()),
                "item": item,
                "result": results.get(codes[item], "compliant"),
                "note": f"seen {codes[item]}",
                "photos": [str(p) for p in photos.get(codes[item], [])],
                "at": at(10 + n),
            }
            for n, item in enumerate(task_pack["items"])
        ],
        "representative_name": "王经理",
        "signatures": [
            {
                "role": role,
                "inspector_id": inspector,
                "png_base64": base64.b64encode(png).decode(),
                "at": at(30),
            }
            for role, inspector, png in (sign or [])
        ],
        "submission": submission,
    }
    return body


@pytest.fixture
def manual(db):
    return make_manual()


@pytest.fixture
def tablet(lead, task, manual):
    return tablet_for(lead)


@pytest.fixture
def pack(tablet):
    return pack_of(tablet)


def signatures(team):
    return [
        ("inspector", team[0].pk, png_bytes()),
        ("inspector", team[1].pk, png_bytes(color="navy")),
        ("representative", None, png_bytes(color="blue")),
    ]


def sync(tablet, body):
    return tablet.post("/api/v1/inspections/sync", body, content_type=JSON)


# --- the day pack ---------------------------------------------------------------------------------------


def test_the_day_pack_has_each_tasks_card_checklist_clauses_orders_findings_and_co_inspectors(
    tablet, task, team, enterprise, regulator_user, loop_checklist
):
    # A finding and an open order of the enterprise from an earlier visit.
    earlier = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    done = workflow.inspection_start(task=earlier, actor=team[0].user)
    make_ready(done, team[0].user, team, {"mar-2": "non_compliant"})
    submit(done, team[0].user)

    body = pack_of(tablet)

    entry = task_in(body, task)
    assert entry["enterprise"]["uscc"] == enterprise.uscc
    assert entry["enterprise"]["legal_representative"] == enterprise.legal_representative
    assert entry["checklists"] == [loop_checklist.pk]
    assert [i["id"] for c in body["checklists"] for i in c["items"]] == entry["items"]
    assert body["manuals"]["catering"]["clause-1"]["text"]
    assert [i["id"] for i in entry["inspectors"]] == [team[0].pk, team[1].pk]
    assert entry["co_inspectors"] == [team[1].pk]
    assert [o["findings"][0]["item_code"] for o in entry["open_orders"]] == ["mar-2"]
    assert [f["item_code"] for f in entry["previous_findings"]] == ["mar-2"]
    assert entry["inspection"] is None
    assert body["inspector"]["id"] == team[0].pk
    assert earlier.pk not in [t["id"] for t in body["tasks"]]  # done: not in the pack


def test_the_day_pack_takes_the_next_days_as_configured_and_only_the_inspectors_open_tasks(
    tablet, task, team, enterprise, regulator_user, settings
):
    today = timezone.localdate()
    soon = make_task(
        enterprise=enterprise, team=team, actor=regulator_user, due_from=today + timedelta(days=2)
    )
    later = make_task(
        enterprise=enterprise, team=team, actor=regulator_user, due_from=today + timedelta(days=3)
    )
    cancelled = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    workflow.task_cancel(task=cancelled, actor=regulator_user, reason="closed")
    others = make_task(enterprise=enterprise, team=make_team(), actor=regulator_user)

    settings.TABLET_DAYS_AHEAD = 2
    ids = [t["id"] for t in pack_of(tablet)["tasks"]]
    assert task.pk in ids and soon.pk in ids
    assert later.pk not in ids and cancelled.pk not in ids and others.pk not in ids
    assert later.pk in [t["id"] for t in pack_of(tablet, days=3)["tasks"]]
    assert [t["id"] for t in pack_of(tablet, days=0)["tasks"]] == [task.pk]


def test_only_inspectors_take_a_day_pack(regulator_user, business_user, outsider):
    for user in (regulator_user, business_user, outsider):
        assert tablet_for(user).get("/api/v1/daypack").status_code == 404
    assert Client().get("/api/v1/daypack").status_code == 401


def test_the_day_pack_of_twenty_tasks_is_small_and_quick(tablet, team, regulator_user, manual):
    for _ in range(19):
        make_task(enterprise=EnterpriseFactory(), team=team, actor=regulator_user)
    started = time.perf_counter()
    response = tablet.get("/api/v1/daypack")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert len(response.json()["tasks"]) == 20
    # Measured for the report: about 30 KB and well under a second here.
    print(f"day pack, 20 tasks: {len(response.content)} bytes, {elapsed:.3f} s")
    assert len(response.content) < 200_000


# --- a whole inspection offline, replayed --------------------------------------------------------------


def test_a_journal_replays_a_whole_inspection_once_with_the_tablets_times(tablet, pack, task, team, lead):
    entry = task_in(pack, task)
    codes = {i["code"]: i["id"] for c in pack["checklists"] for i in c["items"]}
    photo_a, reply_a = upload(tablet, task, codes["mar-1"], data=jpeg_bytes("red"))
    photo_b, reply_b = upload(tablet, task, codes["mar-1"], data=jpeg_bytes("green"))
    assert (reply_a.status_code, reply_b.status_code) == (201, 201)
    submission = {"id": str(uuid.uuid4()), "conclusion": "rectify", "rectify_deadline": None, "at": at(40)}
    body = journal(
        entry,
        results={"mar-1": "non_compliant"},
        photos={"mar-1": [photo_a, photo_b]},
        sign=signatures(team),
        submission=submission,
    )

    response = sync(tablet, body)

    assert response.status_code == 200, response.content
    reply = response.json()
    assert (reply["status"], reply["submitted"], reply["new_answers"]) == ("submitted", True, 3)
    inspection = Inspection.objects.get(task=task)
    assert str(inspection.client_id) == body["inspection"]
    assert str(inspection.submission_id) == submission["id"]
    assert inspection.device_started_at == datetime.fromisoformat(body["started_at"])
    assert inspection.device_submitted_at == datetime.fromisoformat(submission["at"])
    assert inspection.started_at == NOW > inspection.device_started_at
    answer = InspectionAnswer.objects.get(inspection=inspection, item_id=codes["mar-1"])
    assert sorted(p.sha256 for p in answer.photos.all()) == sorted(
        hashlib.sha256(jpeg_bytes(c)).hexdigest() for c in ("red", "green")
    )
    events = AnswerEvent.objects.filter(inspection=inspection)
    assert events.count() == 3 and all(e.source == "tablet" and e.received_at > e.device_at for e in events)
    assert Signature.objects.filter(inspection=inspection).count() == 3
    assert {s.device_signed_at for s in Signature.objects.filter(inspection=inspection)} == {
        datetime.fromisoformat(at(30))
    }
    assert inspection.order.findings.count() == 1

    # Sent again (the answer was lost on the way): the same record, nothing twice.
    again = sync(tablet, body)
    assert (
        again.status_code == 200 and again.json()["new_answers"] == 0 and again.json()["id"] == inspection.pk
    )
    assert AnswerEvent.objects.filter(inspection=inspection).count() == 3
    assert AuditEvent.objects.filter(action="inspection.submit", target_id=str(inspection.pk)).count() == 1
    assert AuditEvent.objects.filter(action="inspection.start", target_id=str(inspection.pk)).count() == 1
    assert Inspection.objects.filter(task=task).count() == 1


def test_the_record_keeps_the_day_packs_checklist_version_when_a_newer_one_is_published(
    tablet, pack, task, team, loop_checklist
):
    entry = task_in(pack, task)
    newer = make_checklist(items=4)  # published while the tablet was offline
    response = sync(tablet, journal(entry))
    assert response.status_code == 200, response.content
    record = Inspection.objects.get(task=task)
    assert list(record.checklists.values_list("pk", flat=True)) == [loop_checklist.pk]
    assert newer.pk != loop_checklist.pk
    assert InspectionAnswer.objects.filter(inspection=record).count() == 3


def test_a_draft_journal_starts_the_record_and_the_submission_comes_later(tablet, pack, task, team):
    entry = task_in(pack, task)
    body = journal(entry, sign=signatures(team))
    assert sync(tablet, body).json()["status"] == "draft"
    body["submission"] = {"id": str(uuid.uuid4()), "conclusion": "pass", "at": at(50)}
    response = sync(tablet, body)
    assert response.json()["status"] == "submitted" and response.json()["new_answers"] == 0


def test_a_journal_continues_a_record_started_online(tablet, pack, task, team, inspection):
    entry = task_in(pack_of(tablet), task)
    assert entry["inspection"]["id"] == inspection.pk
    response = sync(tablet, journal(entry, sign=signatures(team)))
    assert response.status_code == 200 and response.json()["id"] == inspection.pk
    assert Inspection.objects.filter(task=task).count() == 1


# --- refusals: kept on the tablet, nothing half-written -------------------------------------------------


def test_a_task_cancelled_while_the_tablet_was_offline_refuses_the_journal_with_the_reason(
    tablet, pack, task, team, regulator_user
):
    entry = task_in(pack, task)
    workflow.task_cancel(task=task, actor=regulator_user, reason="企业已停业")
    before = state()
    response = sync(tablet, journal(entry, sign=signatures(team)))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "task_cancelled" and "企业已停业" in body["message"]
    assert body["details"]["reason"] == "企业已停业"
    assert state() == before


def test_a_task_cancelled_after_its_record_was_sent_refuses_the_rest_with_the_reason(
    tablet, pack, task, team, regulator_user
):
    entry = task_in(pack, task)
    body = journal(entry)
    assert sync(tablet, body).status_code == 200
    workflow.task_cancel(task=task, actor=regulator_user, reason="重复任务")
    body["signatures"] = journal(entry, sign=signatures(team))["signatures"]
    before = state()
    response = sync(tablet, body)
    assert (response.status_code, response.json()["code"]) == (409, "task_cancelled")
    assert response.json()["details"]["reason"] == "重复任务"
    assert state() == before


def test_an_enterprise_that_left_the_inspectors_jurisdiction_refuses_the_journal(
    tablet, pack, task, enterprise
):
    from core.models import District

    entry = task_in(pack, task)
    enterprise.district = District.objects.get(code="110108")
    enterprise.save()
    before = state()
    response = sync(tablet, journal(entry))
    assert (response.status_code, response.json()["code"]) == (403, "out_of_jurisdiction")
    assert state() == before


def test_an_answer_for_an_item_outside_the_pinned_checklist_refuses_the_whole_journal(tablet, pack, task):
    entry = task_in(pack, task)
    other = make_checklist("catering", "market_regulation", items=4)  # a newer version's item
    body = journal(entry)
    body["answers"].append(
        {"id": str(uuid.uuid4()), "item": other.items.last().pk, "result": "compliant", "at": at(20)}
    )
    before = state()
    response = sync(tablet, body)
    assert (response.status_code, response.json()["code"]) == (422, "item_not_in_snapshot")
    assert state() == before


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_stored(tablet, pack, task):
    item = task_in(pack, task)["items"][0]
    before = state()
    _, response = upload(tablet, task, item, data=b"%PDF-1.4 not a photo")
    assert (response.status_code, response.json()["code"]) == (422, "not_an_image")
    assert state() == before


def test_a_submission_id_reused_for_another_inspection_is_refused_and_nothing_is_written(
    tablet, pack, task, team, lead, enterprise, regulator_user
):
    other_task = make_task(enterprise=enterprise, team=team, actor=regulator_user)
    other = workflow.inspection_start(task=other_task, actor=lead)
    make_ready(other, lead, team)
    used = submit(other, lead).submission_id
    entry = task_in(pack, task)
    body = journal(
        entry, sign=signatures(team), submission={"id": str(used), "conclusion": "pass", "at": at(40)}
    )
    before = state()
    response = sync(tablet, body)
    assert (response.status_code, response.json()["code"]) == (409, "submission_id_reused")
    assert state() == before


def test_ids_reused_and_photos_not_uploaded_are_refused(tablet, pack, task, team):
    entry = task_in(pack, task)
    body = journal(entry)
    assert sync(tablet, body).status_code == 200
    # The same answer id for another item.
    clash = journal(entry, inspection=body["inspection"])
    clash["answers"][0]["id"] = body["answers"][1]["id"]
    response = sync(tablet, clash)
    assert (response.status_code, response.json()["code"]) == (409, "answer_id_reused")
    # A photo the journal names but the server never got.
    missing = journal(entry, inspection=body["inspection"], photos={"mar-2": [uuid.uuid4()]})
    response = sync(tablet, missing)
    assert (response.status_code, response.json()["code"]) == (422, "photo_missing")
    # One id twice in one journal.
    twice = journal(entry, inspection=body["inspection"])
    twice["answers"][1]["id"] = twice["answers"][0]["id"]
    assert sync(tablet, twice).json()["code"] == "duplicate_id"
    # The record's id used for another task.
    other_task = make_task(enterprise=task.enterprise, team=team, actor=task.created_by)
    elsewhere = journal(entry, inspection=body["inspection"])
    elsewhere["task"] = other_task.pk
    response = sync(tablet, elsewhere)
    assert (response.status_code, response.json()["code"]) == (409, "inspection_id_reused")


def test_a_journal_for_a_task_of_someone_else_is_not_found(pack, task, outsider, regulator_user):
    far = make_team(1, districts=["110108"], prefix="far")[0].user
    for user in (outsider, far):
        response = sync(tablet_for(user), journal(task_in(pack, task)))
        assert response.status_code == 404
    assert not Inspection.objects.filter(task=task).exists()


# --- photos stored once ------------------------------------------------------------------------------


def test_a_photo_sent_again_is_stored_once_and_another_photo_under_its_id_is_refused(tablet, pack, task):
    item = task_in(pack, task)["items"][0]
    client_id, first = upload(tablet, task, item)
    _, again = upload(tablet, task, item, client_id=client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["sha256"] == again.json()["sha256"] == hashlib.sha256(jpeg_bytes()).hexdigest()
    assert Photo.objects.count() == 1 and TabletPhoto.objects.count() == 1
    _, other = upload(tablet, task, item, client_id=client_id, data=jpeg_bytes("blue"))
    assert (other.status_code, other.json()["code"]) == (409, "photo_id_reused")
    assert Photo.objects.count() == 1


def test_photos_of_a_task_the_inspector_is_not_on_are_refused_before_decoding(pack, task, outsider, team):
    item = task_in(pack, task)["items"][0]
    far = make_team(1, districts=["110108"], prefix="far")[0].user
    for user in (outsider, far):
        _, response = upload(tablet_for(user), task, item, data=b"not even read")
        assert response.status_code == 404
    assert not Photo.objects.exists()


# --- two tablets, one inspection ----------------------------------------------------------------------


def test_two_tablets_answering_one_item_keep_both_in_the_history_and_the_later_one_wins(
    pack, task, team, manual
):
    first, second = tablet_for(team[0].user), tablet_for(team[1].user)
    entry = task_in(pack, task)
    item = entry["items"][0]
    mine = journal(entry)
    theirs = journal(entry)
    mine["answers"] = [
        {"id": str(uuid.uuid4()), "item": item, "result": "compliant", "note": "clean", "at": at(10)}
    ]
    theirs["answers"] = [
        {"id": str(uuid.uuid4()), "item": item, "result": "non_compliant", "note": "mould", "at": at(12)}
    ]
    # The later answer arrives first; the earlier one, from a tablet offline longer, after it.
    assert sync(second, theirs).status_code == 200
    response = sync(first, mine)

    assert response.status_code == 200, response.content
    answer = InspectionAnswer.objects.get(item_id=item)
    assert (answer.result, answer.note, answer.updated_by) == ("non_compliant", "mould", team[1].user)
    events = AnswerEvent.objects.filter(item_id=item).order_by("device_at")
    assert [(e.result, e.actor, e.applied) for e in events] == [
        ("compliant", team[0].user, False),
        ("non_compliant", team[1].user, True),
    ]
    conflicts = response.json()["conflicts"]
    assert [(c["item"], c["kept"]["result"], [o["result"] for o in c["others"]]) for c in conflicts] == [
        (item, "non_compliant", ["compliant"])
    ]
    assert Inspection.objects.filter(task=task).count() == 1
    # The other tablet sees the conflict when it sends again, and the history says it all.
    assert sync(second, theirs).json()["conflicts"] == conflicts
    inspection = Inspection.objects.get(task=task)
    history = second.get(f"/api/v1/inspections/{inspection.pk}/history").json()
    assert [(h["result"], h["applied"], h["source"]) for h in history] == [
        ("compliant", False, "tablet"),
        ("non_compliant", True, "tablet"),
    ]


def test_the_answer_history_is_for_the_officials_who_see_the_record(
    inspection, lead, team, outsider, business_user, regulator_user
):
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(inspection=inspection, actor=lead, item_id=item.pk, result="compliant")
    url = f"/api/v1/inspections/{inspection.pk}/history"
    response = tablet_for(lead).get(url)
    assert [(h["result"], h["source"], h["by"]) for h in response.json()] == [
        ("compliant", "online", "Inspector 1")
    ]
    # A draft: its inspectors only. Submitted: officials in scope too, never the business.
    assert tablet_for(regulator_user).get(url).status_code == 404
    make_ready(inspection, lead, team)
    submit(inspection, lead)
    assert tablet_for(regulator_user).get(url).status_code == 200
    for user in (outsider, business_user):
        assert tablet_for(user).get(url).status_code == 404


def test_an_older_answer_from_a_tablet_does_not_replace_a_later_online_one(inspection, team):
    item = items_of(inspection)["mar-1"]
    workflow.inspection_answer(inspection=inspection, actor=team[0].user, item_id=item.pk, result="compliant")
    workflow.inspection_answer(
        inspection=inspection,
        actor=team[1].user,
        item_id=item.pk,
        result="non_compliant",
        device_at=timezone.now() - timedelta(hours=2),
        event_id=uuid.uuid4(),
    )
    answer = InspectionAnswer.objects.get(inspection=inspection, item=item)
    assert (answer.result, answer.updated_by) == ("compliant", team[0].user)
    assert AnswerEvent.objects.filter(inspection=inspection).count() == 2


def test_a_journal_after_the_other_tablet_submitted_is_refused_unless_it_adds_nothing(
    pack, task, team, manual
):
    first, second = tablet_for(team[0].user), tablet_for(team[1].user)
    entry = task_in(pack, task)
    done = journal(
        entry, sign=signatures(team), submission={"id": str(uuid.uuid4()), "conclusion": "pass", "at": at(40)}
    )
    assert sync(first, done).json()["status"] == "submitted"
    late = journal(entry)
    response = sync(second, late)
    assert (response.status_code, response.json()["code"]) == (409, "already_submitted")
    assert InspectionTask.objects.get(pk=task.pk).status == "done"
