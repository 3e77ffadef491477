"""A small world for exercising the whole API: people of every role with a bearer token each, and at
least one row behind every kind of id the API takes (so fuzzed ids hit real rows, not only 404s)."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from core import code_documents, codes
from core.models import ApiToken, District, Scene
from supervision.inspections import services as workflow
from supervision.models import Inspection, RectificationOrder, Result
from supervision.self_inspection import services as self_inspection_service
from tests.factories import (
    FAILING,
    EnterpriseFactory,
    MembershipFactory,
    RegulatorFactory,
    UserFactory,
    jpeg,
    make_checklist,
    make_manual,
    make_ready,
    make_task,
    make_team,
    submit,
)


def bearer_token(user, device="fuzz") -> str:
    """A live bearer token for ``user``, made directly (the password endpoint is throttled)."""
    raw = "sp_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        device=device,
        key_hash=hashlib.sha256(raw.encode()).hexdigest(),
        prefix=raw[3:11],
        expires_at=timezone.now() + timedelta(days=30),
    )
    return raw


@dataclass
class World:
    tokens: dict[str, str | None]  # role -> bearer token (None: anonymous)
    values: dict[str, list] = field(default_factory=dict)  # parameter name -> real values

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens[role]
        return {"Authorization": f"Bearer {token}"} if token else {}


def build_world() -> World:
    regulator = RegulatorFactory().user
    admin = UserFactory(username="fuzz-admin", is_superuser=True, is_staff=True)
    team = make_team()
    inspector = team[0].user

    enterprise = EnterpriseFactory()
    other = EnterpriseFactory()
    far = EnterpriseFactory(
        district=District.objects.get(code="110108"), scene=Scene.objects.get(code="medical")
    )
    business = MembershipFactory(enterprise=enterprise).user

    manual = make_manual("catering", actor=regulator)
    draft_manual = make_manual("catering", publish=False, title="草稿手册")
    checklist = make_checklist("catering", "market_regulation", items=3, actor=regulator)
    draft_checklist = make_checklist("catering", "market_regulation", items=2, publish=False)

    code = codes.code_issue(enterprise=enterprise, actor=regulator)
    revoked = codes.code_issue(enterprise=other, actor=regulator)
    codes.code_revoke(enterprise=other, actor=regulator, reason="lost")
    batch = code_documents.code_batch_create(user=regulator, layout="sticker", usccs=[enterprise.uscc])

    # The closed loop: a submitted inspection with an order, a started one, a task not started.
    done_task = make_task(enterprise=enterprise, team=team, actor=regulator)
    submitted = workflow.inspection_start(task=done_task, actor=inspector)
    submit(make_ready(submitted, inspector, team, FAILING), inspector, Inspection.Conclusion.RECTIFY)
    order = RectificationOrder.objects.get(inspection=submitted)
    open_task = make_task(enterprise=other, team=team, actor=regulator)
    started = workflow.inspection_start(task=open_task, actor=inspector)
    fresh_task = make_task(enterprise=enterprise, team=team, actor=regulator)

    # Self-inspection: one submitted (with a photo and an open issue), then a new draft.
    first, _ = self_inspection_service.self_inspection_start(enterprise=enterprise, user=business)
    rows = self_inspection_service.self_inspection_sheet(self_inspection=first).rows
    for n, row in enumerate(rows):
        self_inspection_service.self_inspection_answer(
            self_inspection=first,
            user=business,
            item_id=row.item.pk,
            result=Result.NON_COMPLIANT if n == 0 else Result.COMPLIANT,
            note="seen",
            photos=[jpeg()] if n == 0 else (),
        )
    self_inspection_service.self_inspection_submit(self_inspection=first, user=business)
    draft, _ = self_inspection_service.self_inspection_start(enterprise=enterprise, user=business)
    photo_ids = [photo.pk for answer in first.answers.all() for photo in answer.photos.all()]
    issue_ids = list(
        self_inspection_service.self_issues_of(user=business, enterprise=enterprise).values_list(
            "pk", flat=True
        )
    )

    tokens = {
        "anonymous": None,
        "regulator": bearer_token(regulator),
        "inspector": bearer_token(inspector),
        "business": bearer_token(business),
        "admin": bearer_token(admin),
    }
    item_ids = [item.pk for c in (checklist, draft_checklist) for item in c.items.all()]
    values = {
        "uscc": [enterprise.uscc, other.uscc, far.uscc],
        "enterprise": [enterprise.uscc, other.uscc, far.uscc],
        "token": [code.token, revoked.token],
        "scene_code": ["catering", "medical"],
        "scene": ["catering", "medical"],
        "department": ["market_regulation", "health"],
        "district": ["110105", "110108", "11"],
        "token_id": list(ApiToken.objects.values_list("pk", flat=True)),
        "batch_id": [batch.pk],
        "manual_id": [manual.pk, draft_manual.pk],
        "checklist_id": [checklist.pk, draft_checklist.pk],
        "si_id": [first.pk, draft.pk],
        "item_id": item_ids,
        "photo_id": photo_ids,
        "issue_id": issue_ids,
        "task_id": [done_task.pk, open_task.pk, fresh_task.pk],
        "inspection_id": [submitted.pk, started.pk],
        "order_id": [order.pk],
        "inspectors": [[member.pk for member in team]],
        "inspector_id": [member.pk for member in team],
        "usccs": [[enterprise.uscc], [enterprise.uscc, far.uscc]],
    }
    return World(tokens=tokens, values=values)
