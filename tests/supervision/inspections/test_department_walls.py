"""Department walls on joint inspections (进一次门、查多项事): a joint market + health visit to a
school canteen, with findings, evidence photos and the business's answers on items of both
departments. Each department's officials see their own department's items on EVERY surface that
shows the record (supervision.inspections.permissions.item_wall): the sheet, the record PDF, the
order in the API and on its page, the order notice PDF, the photos and the timeline; and act only
on orders whose every finding they see.

The people, against the joint record:
- market_regulator / health_regulator: a department's regulator of Chaoyang;
- market_inspector / health_inspector: a department's inspector of Chaoyang, not on the visit;
- all_regulator: Chaoyang's regulator of every department;
- team_inspector: one of the four inspectors who made the visit (they signed the whole record);
- outsider: signed in, no role; every address is a 404.
"""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent, Scene
from planning.joint import task_merge_joint
from supervision.inspections import services as workflow
from supervision.inspections import timeline
from supervision.inspections.documents import document_compare, document_verify
from supervision.models import (
    Document,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    RectificationEntry,
    RectificationOrder,
    Result,
)
from tests.factories import (
    TZ,
    EnterpriseFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
    answer_all,
    department,
    district,
    items_of,
    jpeg,
    make_checklist,
    make_inspectors,
    make_task,
    sign_all,
    submit,
)
from tests.supervision.inspections.test_documents import pdf_text

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 7, 1, 9, 0, tzinfo=TZ)
NC = Result.NON_COMPLIANT
# Two findings of each department; evidence photos on mar-1 and hea-2.
FAILING = {"mar-1": NC, "mar-2": NC, "hea-2": NC, "hea-3": NC}
MARKET, HEALTH = "market_regulation", "health"
BOTH = {"mar", "hea"}
# Whose items each person sees (by the items' code prefix); None: the record does not exist for them.
SEES = {
    "market_regulator": {"mar"},
    "market_inspector": {"mar"},
    "health_regulator": {"hea"},
    "health_inspector": {"hea"},
    "all_regulator": BOTH,
    "team_inspector": BOTH,
    "outsider": None,
}
# Item codes in a PDF's text (extracted without spaces: no word boundaries to rely on).
CODE = re.compile(r"(mar|hea)-\d")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def canteen(db):
    """A school canteen in Chaoyang: supervised by market regulation, health and education."""
    return EnterpriseFactory(scene=Scene.objects.get(code="school_canteen"), name="朝阳实验小学食堂")


@pytest.fixture
def member(canteen):
    return MembershipFactory(enterprise=canteen).user


@pytest.fixture
def teams(db):
    make_checklist("school_canteen", MARKET, items=3)  # mar-1 .. mar-3
    make_checklist("school_canteen", HEALTH, items=3)  # hea-1 .. hea-3
    return {
        MARKET: make_inspectors(2, MARKET, prefix="mkt"),
        HEALTH: make_inspectors(2, HEALTH, prefix="hlt"),
    }


@pytest.fixture
def people(db, teams):
    chaoyang = district("110105")
    return {
        "market_regulator": RegulatorFactory(department=department(MARKET), district=chaoyang).user,
        "health_regulator": RegulatorFactory(department=department(HEALTH), district=chaoyang).user,
        "market_inspector": make_inspectors(1, MARKET, prefix="mkt-colleague")[0].user,
        "health_inspector": make_inspectors(1, HEALTH, prefix="hlt-colleague")[0].user,
        "all_regulator": RegulatorFactory(department=None, district=chaoyang).user,
        "team_inspector": teams[HEALTH][1].user,
        "outsider": UserFactory(username="walls-outsider"),
    }


def joint_visit(canteen, teams, people, failing: dict[str, str]) -> Inspection:
    """Each department plans its own visit; the two are merged into one joint task (planning.joint),
    whose four inspectors check both departments' items and submit the record."""
    market_task = make_task(enterprise=canteen, team=teams[MARKET], actor=people["market_regulator"])
    make_task(enterprise=canteen, team=teams[HEALTH], actor=people["health_regulator"])
    task = task_merge_joint(task=market_task, actor=people["all_regulator"])
    assert set(task.departments.values_list("code", flat=True)) == {MARKET, HEALTH}
    everyone = teams[MARKET] + teams[HEALTH]
    lead = everyone[0].user
    inspection = workflow.inspection_start(task=task, actor=lead)
    answer_all(inspection, lead, failing)
    items = items_of(inspection)
    for code, color in (("mar-1", "red"), ("hea-2", "blue")):
        if code in failing:
            workflow.inspection_answer(
                inspection=inspection, actor=lead, item_id=items[code].pk, photos=[jpeg(color=color)]
            )
    sign_all(inspection, lead, everyone)
    return submit(inspection, lead)


@pytest.fixture
def joint_record(canteen, teams, people) -> Inspection:
    return joint_visit(canteen, teams, people, FAILING)


@pytest.fixture
def order(joint_record) -> RectificationOrder:
    return RectificationOrder.objects.get(inspection=joint_record)


def rectify(order: RectificationOrder, member) -> None:
    """The business answers every finding, with a photo each."""
    entries = {
        finding.pk: {"text": f"fixed {finding.item.code}", "photos": [jpeg(color="green")]}
        for finding in order.findings.select_related("item")
    }
    workflow.rectification_submit(order=order, actor=member, note="all done", entries=entries)


@pytest.fixture
def rectified(order, member) -> RectificationOrder:
    rectify(order, member)
    order.refresh_from_db()
    return order


def client_of(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def prefixes(codes) -> set[str]:
    return {code.split("-")[0] for code in codes}


def answer_photo(inspection: Inspection, code: str):
    return InspectionAnswer.objects.get(inspection=inspection, item__code=code).photos.get()


def rectification_photo(order: RectificationOrder, code: str):
    return RectificationEntry.objects.get(rectification__order=order, finding__item__code=code).photos.get()


def pdf_of(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return pdf_text(b"".join(response.streaming_content))


def own_and_other(sees: set[str]) -> tuple[str, str]:
    """(an item code of the person's department, one of the other's) for a one-department person."""
    return ("mar", "hea") if sees == {"mar"} else ("hea", "mar")


# --- the record: sheet, page, photos -------------------------------------------------------------------


def test_the_record_and_its_photos_show_each_department_its_own_items(joint_record, people):
    photos = {"mar": answer_photo(joint_record, "mar-1"), "hea": answer_photo(joint_record, "hea-2")}
    for who, sees in SEES.items():
        client = client_of(people[who])
        api = client.get(f"/api/v1/inspections/{joint_record.pk}")
        page = client.get(reverse("loop:inspection", args=[joint_record.pk]))
        urls = {
            prefix: reverse("loop:inspection-photo", args=[joint_record.pk, photo.pk, "thumbnail"])
            for prefix, photo in photos.items()
        }
        if sees is None:
            assert (api.status_code, page.status_code) == (404, 404), who
            assert {client.get(url).status_code for url in urls.values()} == {404}, who
            continue
        assert prefixes(item["code"] for item in api.json()["items"]) == sees, who
        html = page.content.decode()
        assert prefixes(re.findall(r"seen: ([a-z]{3}-\d)", html)) == sees, who
        for prefix, url in urls.items():
            # The page links the photos it shows; a photo behind the wall is a 404, like a stranger's.
            assert (url in html, client.get(url).status_code) == (
                (True, 200) if prefix in sees else (False, 404)
            ), (who, prefix)


# --- the record PDF --------------------------------------------------------------------------------------


def test_the_record_pdf_is_rendered_for_the_viewers_departments(joint_record, people):
    url = f"/api/v1/inspections/{joint_record.pk}/record.pdf"
    for who, sees in SEES.items():
        response = client_of(people[who]).get(url)
        if sees is None:
            assert response.status_code == 404, who
            continue
        text = pdf_of(response)
        assert prefixes(CODE.findall(text)) == sees, who
        shown = {code for code in ("mar-1", "mar-2", "hea-2", "hea-3") if f"seen:{code}" in text}
        assert prefixes(shown) == sees, who
        if sees == BOTH:
            assert "节录" not in text and "共检查6项：符合2项，不符合4项" in text, who
        else:
            own = "市场监督管理局" if sees == {"mar"} else "卫生健康委员会"
            assert "现场检查笔录（节录）" in text, who
            assert f"节录：本件仅载明{own}的检查项目" in text, who
            assert "本节录列出3项：符合1项，不符合2项" in text, who


def test_an_extract_is_a_document_of_its_own_that_verifies_as_an_extract(joint_record, people):
    url = f"/api/v1/inspections/{joint_record.pk}/record.pdf"
    complete = b"".join(client_of(people["all_regulator"]).get(url).streaming_content)
    market = b"".join(client_of(people["market_regulator"]).get(url).streaming_content)
    # The market inspector is handed the same stored extract, not a second rendering.
    assert b"".join(client_of(people["market_inspector"]).get(url).streaming_content) == market
    health = b"".join(client_of(people["health_regulator"]).get(url).streaming_content)

    documents = {
        d.extract_departments: d
        for d in Document.objects.filter(inspection=joint_record, kind=Document.Kind.INSPECTION_RECORD)
    }
    assert set(documents) == {"", MARKET, HEALTH}
    assert len({d.public_id for d in documents.values()}) == 3
    assert len({complete, market, health}) == 3
    for key, pdf, printed in (
        ("", complete, None),
        (MARKET, market, "市场监督管理局"),
        (HEALTH, health, "卫生健康委员会"),
    ):
        document = documents[key]
        # Each is issued and audited like any document, and verifies at /v/ as itself.
        event = AuditEvent.objects.get(action="document.issue", data__public_id=document.public_id)
        assert event.data["extract"] == ([key] if key else None)
        assert document_verify(public_id=document.public_id).valid, key
        assert document.public_id in pdf_text(pdf)
        page = Client().get(f"/v/{document.public_id}")
        assert page.status_code == 200, key
        if printed:
            # What /v/ vouches for says it is an extract: the words are inside the hashed bytes.
            assert f"节录：本件仅载明{printed}" in pdf_text(pdf)

    # An extract never passes for the complete record, nor the other way round.
    for other in (market, health):
        assert not document_compare(document=documents[""], upload=_upload(other))
    assert not document_compare(document=documents[MARKET], upload=_upload(complete))
    assert document_compare(document=documents[MARKET], upload=_upload(market))


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("copy.pdf", content, content_type="application/pdf")


def test_a_department_with_no_item_on_the_record_gets_no_document(joint_record, order):
    education = RegulatorFactory(department=department("education"), district=district("110105")).user
    client = client_of(education)
    for url in (
        f"/api/v1/inspections/{joint_record.pk}/record.pdf",
        f"/api/v1/orders/{order.pk}/notice.pdf",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["code"] == "no_items_of_your_department"
    assert not Document.objects.filter(inspection=joint_record).exists()


# --- the order: API, page, notice, photos -----------------------------------------------------------------


def test_the_order_in_the_api_shows_each_department_its_own_findings(rectified, people):
    codes_by_finding = {f.pk: f.item.code for f in rectified.findings.select_related("item")}
    for who, sees in SEES.items():
        client = client_of(people[who])
        response = client.get(f"/api/v1/orders/{rectified.pk}")
        listed = client.get("/api/v1/orders")
        if sees is None:
            assert response.status_code == 404, who
            assert listed.json()["items"] == [], who
            continue
        body = response.json()
        assert prefixes(f["item_code"] for f in body["findings"]) == sees, who
        (answer,) = body["rectifications"]
        assert prefixes(codes_by_finding[e["finding_id"]] for e in answer["entries"]) == sees, who
        assert all(len(e["photos"]) == 1 for e in answer["entries"])
        (in_list,) = listed.json()["items"]
        assert prefixes(f["item_code"] for f in in_list["findings"]) == sees, who


def test_the_order_page_and_its_photos_show_each_department_its_own_findings(rectified, people):
    photos = {
        "mar": [answer_photo(rectified.inspection, "mar-1"), rectification_photo(rectified, "mar-2")],
        "hea": [answer_photo(rectified.inspection, "hea-2"), rectification_photo(rectified, "hea-3")],
    }
    for who, sees in SEES.items():
        client = client_of(people[who])
        page = client.get(reverse("loop:order", args=[rectified.pk]))
        urls = {
            prefix: [reverse("loop:order-photo", args=[rectified.pk, p.pk, "display"]) for p in found]
            for prefix, found in photos.items()
        }
        if sees is None:
            assert page.status_code == 404, who
            assert {client.get(url).status_code for found in urls.values() for url in found} == {404}
            continue
        assert page.status_code == 200, who
        html = page.content.decode()
        assert prefixes(re.findall(r"Inspector's note: seen: ([a-z]{3}-\d)", html)) == sees, who
        assert prefixes(re.findall(r"fixed ([a-z]{3}-\d)", html)) == sees, who
        for prefix, found in urls.items():
            for url in found:
                assert (url in html, client.get(url).status_code) == (
                    (True, 200) if prefix in sees else (False, 404)
                ), (who, url)


def test_the_order_notice_pdf_is_rendered_for_the_viewers_departments(order, people):
    url = f"/api/v1/orders/{order.pk}/notice.pdf"
    for who, sees in SEES.items():
        response = client_of(people[who]).get(url)
        if sees is None:
            assert response.status_code == 404, who
            continue
        text = pdf_of(response)
        assert prefixes(CODE.findall(text)) == sees, who
        assert order.number in text
        if sees == BOTH:
            assert "节录" not in text, who
        else:
            own = "市场监督管理局" if sees == {"mar"} else "卫生健康委员会"
            assert "责令改正通知书（节录）" in text and f"节录：本件仅列出{own}的检查项目" in text, who
    kinds = Document.objects.filter(order=order).values_list("extract_departments", flat=True)
    assert sorted(kinds) == ["", HEALTH, MARKET]


def test_an_order_of_one_departments_findings_is_served_whole_to_that_department(canteen, teams, people):
    """Only market items failed: the notice shows nothing of health, so the market officials get the
    complete notice (no extract); the record still has health's items, so theirs is an extract."""
    inspection = joint_visit(canteen, teams, people, {"mar-1": NC})
    order = RectificationOrder.objects.get(inspection=inspection)
    client = client_of(people["market_regulator"])
    notice = pdf_of(client.get(f"/api/v1/orders/{order.pk}/notice.pdf"))
    assert "节录" not in notice and "mar-1" in notice
    assert "节录" in pdf_of(client.get(f"/api/v1/inspections/{inspection.pk}/record.pdf"))
    health = client_of(people["health_regulator"]).get(f"/api/v1/orders/{order.pk}/notice.pdf")
    assert health.status_code == 403 and health.json()["code"] == "no_items_of_your_department"


def test_the_timeline_counts_the_findings_each_department_sees(order, canteen, people):
    for who, sees in SEES.items():
        if sees is None:
            continue
        found = timeline.entries(enterprise=canteen, viewer=people[who], limit=20, now=NOW)
        (issued,) = [entry for entry in found if entry.kind == "order_issued"]
        (inspected,) = [entry for entry in found if entry.kind == "inspection"]
        n = 2 * len(sees)
        assert f"{n} findings to rectify" in str(issued.detail), who
        assert sum(int(x) for x in re.findall(r"\d+", str(inspected.detail))) == n, who


# --- acting on an order: only on orders whose every finding one sees ----------------------------------


def _api(client, method: str, url: str, payload: dict):
    return getattr(client, method)(url, payload, content_type="application/json")


def _refused_across(response, who):
    assert response.status_code == 403, (who, response.content[:300])
    assert response.json()["code"] == "other_department_findings", who


def test_verifying_an_order_with_another_departments_findings_is_refused(rectified, people):
    url = f"/api/v1/orders/{rectified.pk}/verify"
    for who in ("market_inspector", "health_inspector"):
        client = client_of(people[who])
        _refused_across(_api(client, "post", url, {"accepted": True}), who)
        # Nor is it offered on the page, nor accepted from a posted form.
        page = client.get(reverse("loop:order", args=[rectified.pk])).content.decode()
        assert 'id="verify"' not in page
        posted = client.post(reverse("loop:verify", args=[rectified.pk]), {"decision": "accept"})
        assert posted.status_code == 403, who
    rectified.refresh_from_db()
    assert rectified.status == RectificationOrder.Status.SUBMITTED
    assert not AuditEvent.objects.filter(action="order.verify").exists()

    # An inspector of the visit saw every item: they close it.
    team = client_of(people["team_inspector"])
    assert 'id="verify"' in team.get(reverse("loop:order", args=[rectified.pk])).content.decode()
    assert _api(team, "post", url, {"accepted": True}).json()["status"] == "closed"


def test_an_inspector_verifies_an_order_of_their_own_departments_findings(canteen, teams, people, member):
    inspection = joint_visit(canteen, teams, people, {"hea-2": NC, "hea-3": NC})
    order = RectificationOrder.objects.get(inspection=inspection)
    rectify(order, member)
    url = f"/api/v1/orders/{order.pk}/verify"

    _refused_across(_api(client_of(people["market_inspector"]), "post", url, {"accepted": True}), "market")
    response = _api(client_of(people["health_inspector"]), "post", url, {"accepted": True})
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_reinspecting_an_order_with_another_departments_findings_is_refused(order, people, teams):
    url = f"/api/v1/orders/{order.pk}/reinspection"
    payload = {
        "inspectors": [i.pk for i in teams[MARKET]],
        "due_from": "2025-07-02",
        "due_to": "2025-07-04",
    }
    for who in ("market_inspector", "market_regulator", "health_inspector"):
        _refused_across(_api(client_of(people[who]), "post", url, payload), who)
    page = client_of(people["market_regulator"]).get(reverse("loop:order", args=[order.pk]))
    assert 'id="reinspect"' not in page.content.decode()
    assert not InspectionTask.objects.filter(origin_order=order).exists()

    everyone = {**payload, "inspectors": [i.pk for team in teams.values() for i in team]}
    response = _api(client_of(people["all_regulator"]), "post", url, everyone)
    assert response.status_code == 201, response.content
    assert InspectionTask.objects.get(origin_order=order).inspectors.count() == 4


def test_escalating_an_order_with_another_departments_findings_is_refused(order, people):
    url = f"/api/v1/orders/{order.pk}/escalate"
    with time_machine.travel(order.deadline + timedelta(days=1), tick=False):
        for who in ("market_inspector", "health_regulator", "market_regulator"):
            client = client_of(people[who])
            _refused_across(_api(client, "post", url, {"reason": "ignored the order"}), who)
            page = client.get(reverse("loop:order", args=[order.pk])).content.decode()
            assert 'id="escalate"' not in page, who
        order.refresh_from_db()
        assert order.status == RectificationOrder.Status.ISSUED
        assert not AuditEvent.objects.filter(action="order.escalate").exists()

        response = _api(client_of(people["all_regulator"]), "post", url, {"reason": "ignored the order"})
        assert response.status_code == 200 and response.json()["status"] == "escalated"
