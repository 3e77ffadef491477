"""One world for the permission table (tests/test_permission_table.py): every role, and for every
kind of object one that is the role's own, one of another business in the same district, and
one in another district.

- ``own``: a catering business in Chaoyang whose member is the ``business`` role; its tasks are
  assigned to the ``inspector`` / ``partner`` pair.
- ``other``: the same, next door (same district and scene), another member, another pair.
- ``far``: the same in Haidian, worked by the ``inspector_far`` pair.

Each of the three has an active code, a complaint, a finished task whose submitted inspection
(with a photo on a finding) issued an order and its two documents, an open task with a draft
inspection, a submitted self-inspection (with a photo and one open issue) and the next draft, an
API token of its member and a printed code batch. Content objects are own / other / far in the
content sense: the published version, a draft of the regulator's department (or of a scene it
supervises), and a draft of another department (or of a scene it does not supervise).

Notifications are their recipient's alone, so own / other / far are three recipients' notices: the
business's order notice, the inspector's task notice about the same enterprise, and the far
inspector's (see ``World.notification``).

Data sources (history) are not scoped by district: whoever manages them manages all of them, so
the world has one source, with a live key and the revoked one it replaced.

Built once per test module, inside a transaction the module rolls back (see the ``world``
fixture); every test runs in a savepoint of its own, so a write a test makes is gone afterwards.

PYTEST_DONT_REWRITE: plain builders, no asserts.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.utils import timezone

from core import codes
from core.models import ApiToken, CodeBatch, Complaint, Department, District
from core.photos import photo_ingest
from history.models import DataSource
from history.sources import credential_rotate, source_create
from supervision.inspections import services as workflow
from supervision.inspections.documents import document_for
from supervision.models import (
    Document,
    Inspection,
    Notification,
    RectificationOrder,
    Result,
    SelfIdentifiedIssue,
)
from supervision.self_inspection import services as self_service
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    InspectorFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
    items_of,
    jpeg,
    make_checklist,
    make_manual,
    make_task,
    sign_all,
    submit,
)

# The roles of the table, in its column order.
ROLES = (
    "anonymous",
    "outsider",  # signed in, no role at all
    "business",  # member of the own enterprise
    "inspector",  # market regulation, Chaoyang; assigned (first of the pair) to the own enterprise's tasks
    "partner",  # the second inspector of that pair
    "colleague",  # market regulation, Chaoyang; in scope of own and other, assigned to nothing
    "inspector_far",  # Haidian; out of scope of own and other, assigned to the far enterprise's tasks
    "regulator",  # market regulation within Chaoyang: own and other in scope, far not
    "regulator_far",  # Haidian, every department: far in scope, own and other not
    "admin",  # platform superuser
)
OBJECTS = ("own", "other", "far")

PDF_STUB = b"%PDF-1.7\n%permission-table stub\n%%EOF\n"


def stub_pdf(html: str) -> bytes:
    """The table asks who may have a document, not how it looks: skip WeasyPrint's second."""
    return PDF_STUB


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> user (AnonymousUser for "anonymous")
    sessions: dict = field(default_factory=dict)  # role -> session key (the test module signs them in)
    teams: dict = field(default_factory=dict)  # object -> the two inspectors of its tasks
    enterprise: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)
    complaint: dict = field(default_factory=dict)
    task: dict = field(default_factory=dict)  # open (in progress): its inspection is a draft
    done_task: dict = field(default_factory=dict)
    inspection: dict = field(default_factory=dict)  # submitted, conclusion rectify
    inspection_photo: dict = field(default_factory=dict)  # on a finding of `inspection`
    draft: dict = field(default_factory=dict)  # the draft inspection of `task`
    draft_item: dict = field(default_factory=dict)  # an item of the draft's checklist
    order: dict = field(default_factory=dict)  # issued by `inspection`, not yet answered
    record: dict = field(default_factory=dict)  # `inspection`'s record PDF (for /v/<public_id>)
    self_inspection: dict = field(default_factory=dict)  # submitted
    self_photo: dict = field(default_factory=dict)
    issue: dict = field(default_factory=dict)  # open, from `self_inspection`
    self_draft: dict = field(default_factory=dict)
    self_draft_item: dict = field(default_factory=dict)
    token: dict = field(default_factory=dict)  # an API token of the enterprise's member
    # A finished code batch: own requested by `regulator`, other by a peer, far by `regulator_far`.
    batch: dict = field(default_factory=dict)
    manual: dict = field(default_factory=dict)  # published / catering draft / medical draft
    checklist: dict = field(default_factory=dict)  # published / market regulation draft / fire draft
    # Scoring and planning. Plans and draws: own by `regulator` in its area (market regulation,
    # Chaoyang), other by a peer regulator in the same area, far by the admin for Haidian.
    policy: object = None  # the current scoring policy
    score_run: object = None  # a finished recompute
    backtest: object = None  # a kept back-test
    plan: dict = field(default_factory=dict)
    draw: dict = field(default_factory=dict)
    # Conflict declarations: own by `inspector` (about the other enterprise), other by `colleague`
    # (about the own one), far by `inspector_far`'s partner (about the far one).
    conflict: dict = field(default_factory=dict)
    # A data source of another department (history), created by the admin; its key issued twice,
    # so "revoked" is the first key and "live" the one that replaced it. ``source_key`` is the
    # live key itself (the only place it is kept: the platform stores its hash).
    source: object = None
    source_credential: dict = field(default_factory=dict)
    source_key: str = ""
    # Notifications (the inbox): each is its recipient's alone. own: the order notice of the own
    # enterprise's member (``business``); other: ``inspector``'s notice of the open task at the
    # same enterprise (which its partner, the business and the regulator in scope may not read
    # either); far: ``inspector_far``'s notice of the far open task.
    notification: dict = field(default_factory=dict)


def _member(username: str, enterprise):
    return MembershipFactory(user=UserFactory(username=username), enterprise=enterprise).user


def _pair(prefix: str, district: str):
    return [
        InspectorFactory(
            user=UserFactory(username=f"{prefix}-{n}", first_name=f"{prefix} {n}"), districts=[district]
        )
        for n in (1, 2)
    ]


def _token(user) -> ApiToken:
    raw = secrets.token_urlsafe(32)
    return ApiToken.objects.create(
        user=user,
        device="phone",
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        prefix=raw[:8],
        expires_at=timezone.now() + timedelta(days=30),
    )


def _batch(user, enterprise) -> CodeBatch:
    batch = CodeBatch.objects.create(
        requested_by=user,
        usccs=[enterprise.uscc],
        status=CodeBatch.Status.DONE,
        total=1,
        done=1,
        finished_at=timezone.now(),
    )
    batch.file.save(f"perm-batch-{batch.pk}.pdf", ContentFile(PDF_STUB))
    return batch


def _loop(world: World, which: str, *, planner) -> None:
    """A finished visit that issued an order, and an open one with its record still a draft."""
    enterprise, team = world.enterprise[which], world.teams[which]
    lead = team[0].user
    done = make_task(enterprise=enterprise, team=team, actor=planner)
    inspection = workflow.inspection_start(task=done, actor=lead)
    items = items_of(inspection)
    for item in items.values():
        workflow.inspection_answer(
            inspection=inspection,
            actor=lead,
            item_id=item.pk,
            result=FAILING.get(item.code, Result.COMPLIANT),
            note=f"seen: {item.code}",
        )
    answer = workflow.inspection_answer(
        inspection=inspection, actor=lead, item_id=items["mar-1"].pk, photos=[jpeg()]
    )
    sign_all(inspection, lead, team)
    inspection = submit(inspection, lead, Inspection.Conclusion.RECTIFY)
    world.done_task[which] = done
    world.inspection[which] = inspection
    world.inspection_photo[which] = answer.photos.get()
    world.order[which] = RectificationOrder.objects.get(inspection=inspection)
    world.record[which] = document_for(inspection=inspection, kind=Document.Kind.INSPECTION_RECORD)
    document_for(inspection=inspection, kind=Document.Kind.RECTIFICATION_ORDER)

    world.task[which] = make_task(enterprise=enterprise, team=team, actor=planner)
    world.draft[which] = workflow.inspection_start(task=world.task[which], actor=lead)
    world.draft_item[which] = items_of(world.draft[which])["mar-1"]


def _self_inspections(world: World, which: str, member) -> None:
    """A submitted self-inspection (one finding, with a photo) and the next draft."""
    enterprise = world.enterprise[which]
    submitted, _ = self_service.self_inspection_start(enterprise=enterprise, user=member)
    for row in self_service.self_inspection_sheet(self_inspection=submitted).rows:
        failing = row.item.code == "mar-2"
        answer = self_service.self_inspection_answer(
            self_inspection=submitted,
            user=member,
            item_id=row.item.pk,
            result=Result.NON_COMPLIANT if failing else Result.COMPLIANT,
            note="the licence is not on the wall" if failing else "",
            photos=[jpeg()] if failing else [],
        )
        if failing:
            world.self_photo[which] = answer.photos.get()
    world.self_inspection[which] = self_service.self_inspection_submit(self_inspection=submitted, user=member)
    world.issue[which] = SelfIdentifiedIssue.objects.get(answer__self_inspection=submitted)
    world.self_draft[which], _ = self_service.self_inspection_start(enterprise=enterprise, user=member)
    world.self_draft_item[which] = (
        self_service.self_inspection_sheet(self_inspection=world.self_draft[which]).rows[0].item
    )


def _notifications(world: World) -> None:
    """The notices the loop's receivers wrote in the same transactions (supervision.notifications.
    receivers): the order issued to the business, the open tasks to their inspectors."""
    recipients = {
        "own": (world.users["business"], f"order.issued:{world.order['own'].pk}"),
        "other": (world.users["inspector"], f"task.assigned:{world.task['own'].pk}"),
        "far": (world.users["inspector_far"], f"task.assigned:{world.task['far'].pk}"),
    }
    for which, (user, event_key) in recipients.items():
        world.notification[which] = Notification.objects.get(user=user, event_key=event_key)


def _scoring(world: World, admin) -> None:
    from supervision.models import BacktestRun, ScoreRun
    from supervision.risk import scoring
    from tests.factories import make_score

    world.policy = scoring.current_policy()
    for which, (risk, tier) in {"own": (80, 4), "other": (50, 3), "far": (65, 4)}.items():
        make_score(world.enterprise[which], risk=risk, tier=tier, open_orders=1)
    world.score_run = ScoreRun.objects.create(
        policy=world.policy,
        status=ScoreRun.Status.DONE,
        requested_by=admin,
        total=3,
        done=3,
        enterprises=3,
        finished_at=timezone.now(),
    )
    series = {"actual": [0.5, 1.0], "ranked": [1.0, 1.0], "random": [0.5, 1.0]}
    world.backtest = BacktestRun.objects.create(
        policy=world.policy,
        start=timezone.localdate() - timedelta(days=60),
        days=2,
        created_by=admin,
        result={
            "n_inspections": 4,
            "n_critical": 2,
            "days_earlier": 0.5,
            "first_half_share_actual": 0.5,
            "first_half_share_ranked": 1.0,
            "first_half_share_random": 0.5,
            "auc": 0.75,
            "random_days_earlier": 0.0,
            "seed": 0,
            "series": series,
        },
    )


def _planning(world: World, *, planners: dict) -> None:
    from planning import conflicts, draws, plans
    from planning.common import area_resolve

    # Declared first: a plan or draw made before a declaration can no longer be confirmed.
    declarers = {
        "own": (world.users["inspector"], "other"),
        "other": (world.users["colleague"], "own"),
        "far": (world.teams["far"][1].user, "far"),
    }
    for which, (inspector, about) in declarers.items():
        world.conflict[which] = conflicts.conflict_declare(
            actor=inspector, enterprise=world.enterprise[about], reason="my cousin runs it"
        )
    today = timezone.localdate()
    period = {"period_from": today + timedelta(days=30), "period_to": today + timedelta(days=60)}
    for which, planner in planners.items():
        district = world.enterprise[which].district.code
        area = area_resolve(actor=planner, department="market_regulation", district=district)
        world.plan[which] = plans.plan_generate(actor=planner, area=area, capacity=10, **period)
        world.draw[which] = draws.draw_create(
            actor=planner, area=area, ratios={"3": 1, "4": 1}, max_tasks_per_inspector=5, **period
        )


def _sources(world: World, admin) -> None:
    world.source = source_create(
        actor=admin,
        code="perm-register",
        name="权限表登记",
        name_en="Permission table register",
        kind=DataSource.Kind.REGISTER,
        attribute_schema={"tobacco": {"type": "flag"}},
        signal_schema={"garbage_complaint": {"value": "none", "keyed": True, "located": True}},
    )
    first, _raw, _ = credential_rotate(source=world.source, actor=admin)
    live, world.source_key, _ = credential_rotate(source=world.source, actor=admin)
    first.refresh_from_db()
    world.source_credential = {"live": live, "revoked": first}


def build_world() -> World:
    """Call inside a transaction, with MEDIA_ROOT pointing where the tests will read photos from
    and render_pdf stubbed (see the ``world`` fixture)."""
    chaoyang, haidian = District.objects.get(code="110105"), District.objects.get(code="110108")
    market = Department.objects.get(code="market_regulation")
    world = World()
    users = world.users
    users["anonymous"] = AnonymousUser()
    users["outsider"] = UserFactory(username="perm-outsider")
    users["admin"] = UserFactory(username="perm-admin", is_superuser=True, is_staff=True)
    admin = users["admin"]

    # Content: catering's manual and market regulation checklist are published (the loop and the
    # self-inspections need them); the drafts come after, so they are not what is current.
    world.manual["own"] = make_manual("catering", actor=admin)
    world.checklist["own"] = make_checklist("catering", "market_regulation", items=3, actor=admin)

    world.enterprise["own"] = EnterpriseFactory(district=chaoyang, name="权限表本店")
    world.enterprise["other"] = EnterpriseFactory(district=chaoyang, name="权限表邻店")
    world.enterprise["far"] = EnterpriseFactory(district=haidian, name="权限表海淀店")
    members = {
        "own": _member("perm-business", world.enterprise["own"]),
        "other": _member("perm-business-other", world.enterprise["other"]),
        "far": _member("perm-business-far", world.enterprise["far"]),
    }
    users["business"] = members["own"]

    world.teams["own"] = _pair("perm-pair", "110105")
    world.teams["other"] = _pair("perm-other-pair", "110105")
    world.teams["far"] = _pair("perm-far-pair", "110108")
    # A draw does not send the inspectors of the last visit again: Haidian needs a second pair.
    _pair("perm-far-reserve", "110108")
    users["inspector"], users["partner"] = (i.user for i in world.teams["own"])
    users["inspector_far"] = world.teams["far"][0].user
    users["colleague"] = InspectorFactory(
        user=UserFactory(username="perm-colleague"), districts=["110105"]
    ).user

    users["regulator"] = RegulatorFactory(
        user=UserFactory(username="perm-regulator"), department=market, district=chaoyang
    ).user
    users["regulator_far"] = RegulatorFactory(
        user=UserFactory(username="perm-regulator-far"), department=None, district=haidian
    ).user
    peer = RegulatorFactory(
        user=UserFactory(username="perm-regulator-peer"), department=market, district=chaoyang
    )

    for which in OBJECTS:
        enterprise = world.enterprise[which]
        world.code[which] = codes.code_issue(enterprise=enterprise)
        world.complaint[which] = Complaint.objects.create(
            enterprise=enterprise,
            code=world.code[which],
            text="后厨有老鼠",
            client="perm-table",
            photo=photo_ingest(upload=jpeg()),
        )
        _loop(world, which, planner=admin)
        _self_inspections(world, which, members[which])
        world.token[which] = _token(members[which])
    world.batch["own"] = _batch(users["regulator"], world.enterprise["own"])
    world.batch["other"] = _batch(peer.user, world.enterprise["other"])
    world.batch["far"] = _batch(users["regulator_far"], world.enterprise["far"])

    _notifications(world)
    _scoring(world, admin)
    _planning(world, planners={"own": users["regulator"], "other": peer.user, "far": admin})
    _sources(world, admin)

    world.manual["other"] = make_manual("catering", publish=False)
    world.manual["far"] = make_manual("medical", publish=False, title="医疗机构合规手册")
    world.checklist["other"] = make_checklist("catering", "market_regulation", publish=False)
    world.checklist["far"] = make_checklist("catering", "fire_rescue", publish=False)
    return world
