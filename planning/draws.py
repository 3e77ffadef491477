"""Double-random draws (双随机): random enterprises, random inspectors, reproducible by anyone.

A draw is a pure function of its seed and its recorded inputs (``draw_compute``); the database is
read once, at creation, to record those inputs. Format of ``Draw.inputs`` (algorithm "draw-v1"):

    department            code of the department whose inspectors are drawn
    filters               {"district": code | null, "scene": code | null, "tiers": [1, 2, ...]}
    period                [from, to] (ISO dates, both inclusive)
    ratios                {"<tier>": "<decimal 0..1>"}: the share of each tier's pool to draw
    policy_version        the scoring policy the default ratios and the tiers came from
    inspectors_per_task   how many inspectors each drawn enterprise gets (>= 2)
    max_tasks_per_inspector
    pool                  [[enterprise id, tier, district path], ...] by ascending id
    pool_sha256           SHA-256 of the canonical JSON of ``pool``
    unscored              enterprises of the area and filters without a score (not in the pool)
    inspectors            [[inspector id, tasks in the period, [district paths]], ...] by id
    last_inspection       [[inspector id, enterprise id], ...]  } for the drawn enterprises,
    declared_conflicts    [[inspector id, enterprise id], ...]  } sorted

The algorithm (``draw_compute``), with ``rng = random.Random(int(seed, 16))``:

1. For each tier of ``ratios`` in ascending order, take that tier's pool ids (ascending) and
   draw ``round_half_up(ratio * count)`` of them without replacement. Default ratios are the
   current policy's yearly ``draw_ratio`` scaled to the period (ratio * days / 365, at most 1),
   kept to 6 decimals; 0.5 rounds up, so a ratio never yields fewer than the nearest count.
2. Sort the drawn ids ascending. For each, the eligible inspectors are found by the rules of
   planning.eligibility (jurisdiction, last inspection, declared conflict, overload counting
   the ones assigned earlier in this draw); ``inspectors_per_task`` of them are drawn, in the
   same way, from the eligible ids in ascending order. Too few eligible: the whole draw is
   refused, naming the enterprise and what excluded whom — never a partial draw. The greedy
   order is part of the algorithm: it may refuse where another assignment order would fit.

Sampling uses only ``rng.random()`` (a partial Fisher-Yates shuffle), the one generator output
Python promises to keep identical across versions for the same seed; ``random.sample`` may
change between releases, and a draw must verify years later.

The seed comes from ``secrets`` (128 bits) when the draft is recorded; creating a draft records
the seed and the hashes of the inputs and of the result in the audit chain, so re-drawing until
a result pleases is visible, and a changed seed, input or result is detected by ``draw_verify``.
"""

import hashlib
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record, canonical
from core.models import AuditEvent, Department, District, Enterprise, Scene
from planning import eligibility, joint
from planning.common import (
    Area,
    PlanningError,
    area_check,
    area_enterprises,
    max_tasks_check,
    period_check,
    refuse,
    team_size_check,
)
from planning.models import Draw, DrawEntry, Status
from supervision.models import InspectionTask
from supervision.risk import scoring

ALGORITHM = "draw-v1"
TIERS = (1, 2, 3, 4)
RATIO_PLACES = Decimal("0.000001")
DEFAULT_MAX_TASKS = 10


def sha256(value) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


class DrawInfeasible(Exception):
    """Too few eligible inspectors for one drawn enterprise."""

    def __init__(self, *, enterprise_id: int, eligible: list[int], needed: int, excluded: dict):
        super().__init__(f"enterprise {enterprise_id}: {len(eligible)} eligible, {needed} needed")
        self.enterprise_id, self.eligible, self.needed, self.excluded = (
            enterprise_id,
            eligible,
            needed,
            excluded,
        )


# --- the pure function ---------------------------------------------------------------------------------


def _sample(rng: random.Random, population: list[int], k: int) -> list[int]:
    """k distinct elements, in draw order: a partial Fisher-Yates shuffle driven by rng.random()."""
    items = list(population)
    for i in range(k):
        j = i + int(rng.random() * (len(items) - i))
        items[i], items[j] = items[j], items[i]
    return items[:k]


def tier_quota(ratio: str, count: int) -> int:
    """round_half_up(ratio * count), in exact decimal arithmetic."""
    return int((Decimal(ratio) * count).to_integral_value(rounding=ROUND_HALF_UP))


def _draw_enterprises(rng: random.Random, inputs: dict) -> list[int]:
    by_tier: dict[int, list[int]] = {}
    for enterprise_id, tier, _path in inputs["pool"]:
        by_tier.setdefault(tier, []).append(enterprise_id)
    drawn: list[int] = []
    for tier in sorted(inputs["ratios"], key=int):
        ids = by_tier.get(int(tier), [])
        drawn += _sample(rng, ids, tier_quota(inputs["ratios"][tier], len(ids)))
    return sorted(drawn)


def drawn_tiers(inputs: dict) -> list[tuple[int, str, int, int]]:
    """(tier, ratio, pool size, enterprises drawn) for each tier the draw took someone from, in
    ascending order: a tier of the filters whose share rounds to nobody was not drawn."""
    pool_sizes = Counter(tier for _id, tier, _path in inputs["pool"])
    rows = []
    for tier in sorted(inputs["ratios"], key=int):
        ratio, size = inputs["ratios"][tier], pool_sizes[int(tier)]
        if quota := tier_quota(ratio, size):
            rows.append((int(tier), ratio, size, quota))
    return rows


def draw_compute(*, seed: str, inputs: dict) -> list[list]:
    """The draw's entries, [[enterprise id, tier, [inspector ids ascending]], ...] by enterprise id,
    from the seed and the recorded inputs alone. Raises DrawInfeasible."""
    rng = random.Random(int(seed, 16))
    drawn = _draw_enterprises(rng, inputs)
    pool = {enterprise_id: (tier, path) for enterprise_id, tier, path in inputs["pool"]}
    index = eligibility.JurisdictionIndex((row[0], row[2]) for row in inputs["inspectors"])
    base = {row[0]: row[1] for row in inputs["inspectors"]}
    last = {tuple(pair) for pair in inputs["last_inspection"]}
    declared = {tuple(pair) for pair in inputs["declared_conflicts"]}
    needed, max_tasks = inputs["inspectors_per_task"], inputs["max_tasks_per_inspector"]
    assigned: Counter[int] = Counter()
    entries = []
    for enterprise_id in drawn:
        tier, path = pool[enterprise_id]
        eligible, excluded = eligibility.screen(
            enterprise_id=enterprise_id,
            path=path,
            index=index,
            last=last,
            declared=declared,
            load=lambda inspector_id: base.get(inspector_id, 0) + assigned[inspector_id],
            max_tasks=max_tasks,
        )
        if len(eligible) < needed:
            raise DrawInfeasible(
                enterprise_id=enterprise_id, eligible=eligible, needed=needed, excluded=excluded
            )
        team = sorted(_sample(rng, eligible, needed))
        assigned.update(team)
        entries.append([enterprise_id, tier, team])
    return entries


# --- inputs ------------------------------------------------------------------------------------------------


def ratios_resolve(
    *, ratios: dict | None, tiers: list[int] | None, period_from: date, period_to: date, policy
) -> dict[str, str]:
    """Per-tier ratios as 6-decimal strings: the explicit ones, checked to lie in 0..1, and the
    policy's yearly draw ratio scaled to the period for the tiers not given."""
    explicit: dict[str, Decimal] = {}
    problems = {}
    for key, value in (ratios or {}).items():
        tier = str(key).strip()
        if tier not in {str(t) for t in TIERS}:
            problems[str(key)] = "unknown tier"
            continue
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            problems[tier] = "not a number"
            continue
        if not number.is_finite() or not Decimal(0) <= number <= Decimal(1) or isinstance(value, bool):
            problems[tier] = "must be between 0 and 1"
            continue
        explicit[tier] = number.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
    if problems:
        raise refuse(
            _("Each ratio is a share between 0 and 1 (0%–100%) of a tier 1–4."),
            "invalid_ratio",
            details=problems,
        )
    wanted = sorted({int(t) for t in tiers} if tiers else ({int(t) for t in explicit} or set(TIERS)))
    if not wanted or any(t not in TIERS for t in wanted) or any(int(t) not in wanted for t in explicit):
        raise refuse(_("Tiers are 1 to 4, and every ratio's tier is one of them."), "invalid_tiers")
    days = Decimal((period_to - period_from).days + 1)
    resolved = {}
    for tier in wanted:
        if str(tier) in explicit:
            resolved[str(tier)] = explicit[str(tier)]
        else:
            yearly = Decimal(str(policy.params["tiers"][str(tier)]["draw_ratio"]))
            resolved[str(tier)] = min(Decimal(1), yearly * days / Decimal(365)).quantize(
                RATIO_PLACES, rounding=ROUND_HALF_UP
            )
    return {tier: str(value) for tier, value in resolved.items()}


def draw_pool(*, area: Area, scene: Scene | None, tiers: list[int]) -> list[list]:
    """[[enterprise id, tier, district path], ...] by id: the scored enterprises of the area."""
    rows = (
        area_enterprises(area=area, scene=scene)
        .filter(score__tier__in=tiers)
        .order_by("pk")
        .values_list("pk", "score__tier", "district__path")
    )
    return [[pk, tier, path] for pk, tier, path in rows.iterator(chunk_size=5000)]


def _infeasible_error(exc: DrawInfeasible, pool_labels: dict[int, str]) -> PlanningError:
    label = pool_labels.get(exc.enterprise_id, str(exc.enterprise_id))
    return refuse(
        _(
            "Not enough eligible inspectors for %(enterprise)s: %(eligible)d eligible, %(needed)d needed. "
            "Nothing was drawn."
        )
        % {"enterprise": label, "eligible": len(exc.eligible), "needed": exc.needed},
        "too_few_inspectors",
        details={
            "enterprise": label,
            "eligible": exc.eligible,
            "needed": exc.needed,
            "excluded": exc.excluded,
        },
    )


# --- services ---------------------------------------------------------------------------------------------


def draw_create(
    *,
    actor,
    area: Area,
    period_from: date,
    period_to: date,
    scene: Scene | None = None,
    tiers: list[int] | None = None,
    ratios: dict | None = None,
    inspectors_per_task: int = 2,
    max_tasks_per_inspector: int = DEFAULT_MAX_TASKS,
) -> Draw:
    """Record a draft draw: the seed, the inputs, the result. Every check runs before anything is
    written; a refusal leaves no draw, no entry, no audit event."""
    area_check(actor=actor, area=area)
    period_check(period_from=period_from, period_to=period_to)
    team_size_check(inspectors_per_task)
    max_tasks_check(max_tasks_per_inspector)
    if scene is not None and not scene.departments.filter(pk=area.department.pk).exists():
        raise refuse(_("The department does not supervise this scene."), "scene_not_supervised")
    policy = scoring.current_policy()
    resolved = ratios_resolve(
        ratios=ratios, tiers=tiers, period_from=period_from, period_to=period_to, policy=policy
    )
    wanted = [int(tier) for tier in resolved]
    pool = draw_pool(area=area, scene=scene, tiers=wanted)
    if not pool:
        raise refuse(_("The pool is empty: no scored enterprise matches these filters."), "empty_pool")
    seed = secrets.token_hex(16)
    inputs = {
        "algorithm": ALGORITHM,
        "department": area.department.code,
        "filters": {
            "district": area.district.code if area.district else None,
            "scene": scene.code if scene else None,
            "tiers": wanted,
        },
        "period": [period_from.isoformat(), period_to.isoformat()],
        "ratios": resolved,
        "policy_version": policy.version,
        "inspectors_per_task": inspectors_per_task,
        "max_tasks_per_inspector": max_tasks_per_inspector,
        "pool": pool,
        "pool_sha256": sha256(pool),
        "unscored": area_enterprises(area=area, scene=scene).filter(score__isnull=True).count(),
    }
    drawn = _draw_enterprises(random.Random(int(seed, 16)), inputs)
    if not drawn:
        raise refuse(
            _("At these ratios no enterprise of the pool is drawn; raise a ratio or widen the pool."),
            "nothing_drawn",
            details={"pool": len(pool), "ratios": resolved},
        )
    inspectors = eligibility.area_inspectors(area=area)
    ids = [inspector_id for inspector_id, _paths in inspectors]
    loads = eligibility.inspector_loads(inspector_ids=ids, period_from=period_from, period_to=period_to)
    inputs["inspectors"] = [[pk, loads[pk], paths] for pk, paths in inspectors]
    # Exclusions are recorded for the drawn enterprises only: step 1 of the algorithm does not
    # read them, so the record stays small for a large pool and the re-run is the same.
    inputs["last_inspection"] = sorted(
        [list(pair) for pair in eligibility.last_inspection_pairs(enterprise_ids=drawn, inspector_ids=ids)]
    )
    inputs["declared_conflicts"] = sorted(
        [list(pair) for pair in eligibility.declared_conflict_pairs(enterprise_ids=drawn, inspector_ids=ids)]
    )
    try:
        result = draw_compute(seed=seed, inputs=inputs)
    except DrawInfeasible as exc:
        labels = {e.pk: f"{e.name} ({e.uscc})" for e in Enterprise.objects.filter(pk=exc.enterprise_id)}
        raise _infeasible_error(exc, labels) from None
    with transaction.atomic():
        draw = Draw.objects.create(
            department=area.department,
            district=area.district,
            scene=scene,
            period_from=period_from,
            period_to=period_to,
            seed=seed,
            inputs=inputs,
            inputs_sha256=sha256(inputs),
            result_sha256=sha256(result),
            created_by=actor,
        )
        DrawEntry.objects.bulk_create(
            DrawEntry(draw=draw, position=position, enterprise_id=eid, tier=tier, inspector_ids=team)
            for position, (eid, tier, team) in enumerate(result, start=1)
        )
        audit_record(
            actor=actor,
            action="draw.create",
            target=draw,
            data={
                "seed": seed,
                "algorithm": ALGORITHM,
                "inputs_sha256": draw.inputs_sha256,
                "pool_sha256": inputs["pool_sha256"],
                "result_sha256": draw.result_sha256,
                "pool": len(pool),
                "drawn": len(result),
            },
        )
    return draw


def _recorded_result(draw: Draw) -> list[list]:
    return [
        [entry.enterprise_id, entry.tier, list(entry.inspector_ids)]
        for entry in draw.entries.order_by("position")
    ]


def draw_confirm(*, draw: Draw, actor) -> Draw:
    """Create the drawn tasks (source "random"), merge them into joint tasks where other
    departments have a visit planned, and freeze the draw. All or nothing."""
    with transaction.atomic():
        draw = (
            Draw.objects.select_for_update(of=("self",))
            .select_related("department", "district")
            .get(pk=draw.pk)
        )
        area_check(actor=actor, area=Area(draw.department, draw.district))
        if draw.status != Status.DRAFT:
            raise refuse(_("This draw is already confirmed."), "already_confirmed", 409)
        if draw.period_to < timezone.localdate():
            raise refuse(_("The period is in the past; make a new draw."), "period_in_past")
        entries = list(draw.entries.select_related("enterprise__district").order_by("position"))
        refuse_new_conflicts([(i, e.enterprise_id) for e in entries for i in e.inspector_ids])
        tasks, joint_ids = joint.tasks_create_joined(
            entries=entries,
            actor=actor,
            period_from=draw.period_from,
            period_to=draw.period_to,
            source=InspectionTask.Source.RANDOM,
            origin={"draw": draw.pk},
        )
        draw.status, draw.confirmed_at, draw.confirmed_by = Status.CONFIRMED, timezone.now(), actor
        draw.save(update_fields=["status", "confirmed_at", "confirmed_by"])
        audit_record(
            actor=actor,
            action="draw.confirm",
            target=draw,
            data={
                "seed": draw.seed,
                "inputs_sha256": draw.inputs_sha256,
                "result_sha256": draw.result_sha256,
                "tasks": [task.pk for task in tasks],
                "joint": joint_ids,
            },
        )
    return draw


def refuse_new_conflicts(pairs: list[tuple[int, int]]) -> None:
    """A conflict declared after the draft was drawn (or the plan generated) still counts."""
    wanted = set(pairs)
    found = wanted & eligibility.declared_conflict_pairs(
        enterprise_ids=sorted({e for _i, e in wanted}), inspector_ids=sorted({i for i, _e in wanted})
    )
    if found:
        raise refuse(
            _("An inspector has since declared a conflict of interest with an enterprise; start again."),
            "conflict_declared",
            409,
            details={"pairs": sorted([list(pair) for pair in found])},
        )


# --- verification ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolComparison:
    """Today's pool for the recorded filters against the recorded one (reported, not a mismatch:
    enterprises open, close and change tier after every draw)."""

    changed: bool
    added: int = 0
    removed: int = 0
    retiered: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class DrawVerification:
    ok: bool
    mismatch: str = ""
    entries: int = 0
    pool: PoolComparison = field(default_factory=lambda: PoolComparison(changed=False))


def draw_verify(*, draw: Draw) -> DrawVerification:
    """Re-run the draw from its recorded seed and inputs and compare with the recorded entries;
    check the record against its hashes and against what the audit chain recorded at creation.
    The first discrepancy is the mismatch."""
    pool = _pool_today(draw)
    result = _recorded_result(draw)

    def mismatch(message: str) -> DrawVerification:
        return DrawVerification(ok=False, mismatch=message, entries=len(result), pool=pool)

    inputs = draw.inputs
    if sha256(inputs) != draw.inputs_sha256:
        return mismatch("the recorded inputs do not match their hash (inputs edited)")
    if sha256(inputs.get("pool")) != inputs.get("pool_sha256"):
        return mismatch("the recorded pool does not match its hash (pool edited)")
    try:
        rerun = draw_compute(seed=draw.seed, inputs=inputs)
    except DrawInfeasible as exc:
        return mismatch(f"the re-run refuses the draw: {exc}")
    except (KeyError, TypeError, ValueError) as exc:
        return mismatch(f"the recorded inputs cannot be read: {exc!r}")
    for position, (recorded, again) in enumerate(zip(result, rerun, strict=False), start=1):
        if recorded != again:
            return mismatch(
                f"entry {position}: recorded enterprise {recorded[0]} with inspectors {recorded[2]}, "
                f"the re-run gives enterprise {again[0]} with inspectors {again[2]}"
            )
    if len(result) != len(rerun):
        return mismatch(f"{len(result)} entries recorded, the re-run gives {len(rerun)}")
    if sha256(result) != draw.result_sha256:
        return mismatch("the recorded entries do not match the result hash")
    created = (
        AuditEvent.objects.filter(action="draw.create", target_type="planning.draw", target_id=str(draw.pk))
        .order_by("seq")
        .first()
    )
    if created is None:
        return mismatch("the audit chain has no record of this draw's creation")
    for key, value in (
        ("seed", draw.seed),
        ("inputs_sha256", draw.inputs_sha256),
        ("result_sha256", draw.result_sha256),
    ):
        if created.data.get(key) != value:
            return mismatch(f"the {key.replace('_', ' ')} differs from the one audited at creation")
    return DrawVerification(ok=True, entries=len(result), pool=pool)


def _pool_today(draw: Draw) -> PoolComparison:
    inputs = draw.inputs if isinstance(draw.inputs, dict) else {}
    filters = inputs.get("filters") or {}
    department = Department.objects.filter(code=inputs.get("department")).first()
    district = District.objects.filter(code=filters["district"]).first() if filters.get("district") else None
    scene = Scene.objects.filter(code=filters["scene"]).first() if filters.get("scene") else None
    if (
        department is None
        or (filters.get("district") and district is None)
        or (filters.get("scene") and scene is None)
    ):
        return PoolComparison(changed=True)
    today = draw_pool(area=Area(department, district), scene=scene, tiers=list(filters.get("tiers") or TIERS))
    recorded = {row[0]: row[1] for row in inputs.get("pool") or []}
    now = {row[0]: row[1] for row in today}
    digest = sha256(today)
    return PoolComparison(
        changed=digest != inputs.get("pool_sha256"),
        added=len(now.keys() - recorded.keys()),
        removed=len(recorded.keys() - now.keys()),
        retiered=sum(1 for pk in now.keys() & recorded.keys() if now[pk] != recorded[pk]),
        sha256=digest,
    )
