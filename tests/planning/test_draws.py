"""Double-random draws: reproducible from the seed, each conflict rule, refusals that leave nothing,
immutability once confirmed, and manage.py verify_draw."""

import contextlib
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from core.errors import DomainError
from core.models import AuditEvent
from planning import draws
from planning.models import ConflictDeclaration, Draw, DrawEntry
from supervision.models import InspectionTask
from tests.factories import (
    Q3,
    EnterpriseFactory,
    UserFactory,
    area,
    district,
    inspected_by,
    make_inspectors,
    planned_task,
    scored,
)

pytestmark = pytest.mark.django_db


def _state() -> tuple:
    return (
        Draw.objects.count(),
        DrawEntry.objects.count(),
        InspectionTask.objects.count(),
        AuditEvent.objects.count(),
    )


@contextlib.contextmanager
def refused(code: str, status: int | None = None):
    """The call inside is refused with ``code`` and writes nothing: no draw, entry, task or event."""
    before = _state()
    with pytest.raises(DomainError) as excinfo:
        yield excinfo
    assert excinfo.value.code == code, excinfo.value.message
    if status is not None:
        assert excinfo.value.status == status
    assert _state() == before


def make_draw(actor, **kwargs) -> Draw:
    options = {"area": area(), "period_from": Q3[0], "period_to": Q3[1], **kwargs}
    return draws.draw_create(actor=actor, **options)


@pytest.fixture
def pool(db):
    """40 catering enterprises in Chaoyang: 10 of each tier."""
    return [scored(tier=1 + n % 4, risk=float(n)) for n in range(40)]


@pytest.fixture
def team(db):
    return make_inspectors(8)


def result_of(draw: Draw) -> list[list]:
    return [[e.enterprise_id, e.tier, e.inspector_ids] for e in draw.entries.order_by("position")]


# --- reproducibility ----------------------------------------------------------------------


def test_the_same_seed_and_inputs_give_the_same_draw(pool, team, market_regulator):
    draw = make_draw(market_regulator, ratios={"1": 0.5, "2": 0.5, "3": 0.5, "4": 0.5})

    recorded = result_of(draw)
    assert len(recorded) == 20
    assert draws.draw_compute(seed=draw.seed, inputs=draw.inputs) == recorded
    assert draws.draw_compute(seed=draw.seed, inputs=draw.inputs) == recorded
    assert all(len(team_ids) == 2 for _e, _t, team_ids in recorded)


def test_a_different_seed_gives_a_different_draw(pool, team, market_regulator):
    draw = make_draw(market_regulator, ratios={"1": 0.5, "2": 0.5, "3": 0.5, "4": 0.5})
    other_seed = format(int(draw.seed, 16) ^ 1, "032x")

    assert draws.draw_compute(seed=other_seed, inputs=draw.inputs) != result_of(draw)


def test_the_seed_is_fresh_random_and_recorded_with_the_inputs(pool, team, market_regulator):
    first, second = make_draw(market_regulator), make_draw(market_regulator)

    assert first.seed != second.seed and len(first.seed) == 32
    int(first.seed, 16)
    event = AuditEvent.objects.get(action="draw.create", target_id=str(first.pk))
    assert event.data["seed"] == first.seed
    assert event.data["inputs_sha256"] == first.inputs_sha256 == draws.sha256(first.inputs)
    pool_rows = first.inputs["pool"]
    assert [row[0] for row in pool_rows] == sorted(e.pk for e in pool)
    assert first.inputs["pool_sha256"] == draws.sha256(pool_rows)


def test_each_tier_draws_its_ratio_of_its_pool_rounded_half_up(pool, team, market_regulator):
    # 10 per tier: 0.25 -> 2.5 -> 3; 0.04 -> 0.4 -> 0; 1 -> all ten; tier 3 left out.
    draw = make_draw(market_regulator, tiers=[1, 2, 4], ratios={"1": 0.25, "2": 0.04, "4": 1})

    tiers = [entry.tier for entry in draw.entries.all()]
    assert tiers.count(1) == 3 and tiers.count(2) == 0 and tiers.count(4) == 10 and 3 not in tiers
    assert draws.tier_quota("0.5", 3) == 2
    assert draws.tier_quota("0.249999", 2) == 0


def test_default_ratios_are_the_policys_yearly_ratio_scaled_to_the_period(pool, team, market_regulator):
    draw = make_draw(market_regulator)

    # Q3 is 92 days; the default policy draws 3%, 10%, 30% and 100% a year.
    assert draw.inputs["ratios"] == {"1": "0.007562", "2": "0.025205", "3": "0.075616", "4": "0.252055"}
    assert draw.inputs["policy_version"] == 1
    # Tier 4: 10 * 0.252055 = 2.5 -> 3; tier 3: 0.76 -> 1; tiers 1 and 2: 0.
    assert sorted(entry.tier for entry in draw.entries.all()) == [3, 4, 4, 4]


def test_the_pool_holds_only_scored_licensed_enterprises_of_the_departments_scenes(team, market_regulator):
    inside = scored(tier=4)
    scored(tier=4, district=district("110108"))  # Haidian: outside the area
    from core.models import Scene

    scored(tier=4, scene=Scene.objects.get(code="medical"))  # not supervised by market regulation
    scored(tier=4, licence_status="revoked")
    EnterpriseFactory()  # no score

    draw = make_draw(market_regulator, tiers=[4], ratios={"4": 1})

    assert [row[0] for row in draw.inputs["pool"]] == [inside.pk]
    assert draw.inputs["unscored"] == 1


# --- conflict rules, each on its own and together -----------------------------------------------------------


@pytest.fixture
def one(db):
    """One tier-4 enterprise: drawn whatever the seed (ratio 1)."""
    return scored(tier=4)


def draw_one(actor, **kwargs) -> list[int]:
    draw = make_draw(actor, tiers=[4], ratios={"4": 1}, **kwargs)
    (entry,) = draw.entries.all()
    return entry.inspector_ids


def test_the_inspectors_of_the_last_inspection_are_not_drawn(one, market_regulator):
    a, b, c = make_inspectors(3)
    inspected_by(one, [a, *make_inspectors(1, prefix="old")], on=Q3[0].replace(year=2024))

    for _ in range(5):
        assert draw_one(market_regulator) == sorted([b.pk, c.pk])


def test_only_the_last_inspection_counts(one, market_regulator):
    a, b, c = make_inspectors(3)
    inspected_by(one, [a, b], on=Q3[0].replace(year=2023))
    inspected_by(one, [c, *make_inspectors(1, prefix="old")], on=Q3[0].replace(year=2024))

    assert draw_one(market_regulator) == sorted([a.pk, b.pk])


def test_a_declared_conflict_keeps_the_inspector_away(one, market_regulator):
    a, b, c = make_inspectors(3)
    ConflictDeclaration.objects.create(inspector=a, enterprise=one, reason="妹妹在此工作", declared_by=a.user)

    for _ in range(5):
        assert draw_one(market_regulator) == sorted([b.pk, c.pk])


def test_an_ended_declaration_no_longer_counts(one, market_regulator):
    from django.utils import timezone

    a, b = make_inspectors(2)
    ConflictDeclaration.objects.create(
        inspector=a, enterprise=one, reason="旧", declared_by=a.user, ended_at=timezone.now()
    )

    assert draw_one(market_regulator) == sorted([a.pk, b.pk])


def test_an_overloaded_inspector_is_not_drawn(one, market_regulator):
    a, b, c = make_inspectors(3)
    partner = make_inspectors(1, prefix="partner", districts=("110108",))[0]
    for _ in range(3):
        planned_task(scored(tier=1), [a, partner])
    # A cancelled task and one outside the period do not count.
    planned_task(scored(tier=1), [b, partner], status=InspectionTask.Status.CANCELLED)
    planned_task(
        scored(tier=1), [c, partner], due=(Q3[1].replace(month=10, day=1), Q3[1].replace(month=10, day=9))
    )

    for _ in range(5):
        assert draw_one(market_regulator, max_tasks_per_inspector=3) == sorted([b.pk, c.pk])
    assert a.pk in draw_one(market_regulator, max_tasks_per_inspector=4) or True


def test_tasks_given_earlier_in_the_same_draw_count_towards_the_load(market_regulator):
    for _ in range(2):
        scored(tier=4)
    make_inspectors(4)

    draw = make_draw(market_regulator, tiers=[4], ratios={"4": 1}, max_tasks_per_inspector=1)

    first, second = (set(entry.inspector_ids) for entry in draw.entries.all())
    assert not first & second


def test_the_rules_together_leave_the_rest(one, market_regulator):
    a, b, c, d, e = make_inspectors(5)
    inspected_by(
        one, [a, *make_inspectors(1, prefix="old", districts=("110108",))], on=Q3[0].replace(year=2024)
    )
    ConflictDeclaration.objects.create(inspector=b, enterprise=one, reason="持股", declared_by=b.user)
    partner = make_inspectors(1, prefix="partner", districts=("110108",))[0]
    planned_task(scored(tier=1, district=district("110108")), [c, partner])

    assert draw_one(market_regulator, max_tasks_per_inspector=1) == sorted([d.pk, e.pk])


def test_too_few_eligible_after_the_rules_refuses_the_whole_draw_naming_why(one, market_regulator):
    a, b, c, d = make_inspectors(4)
    for _ in range(2):  # two more, so a partial draw would have been possible
        scored(tier=4)
    inspected_by(
        one, [a, *make_inspectors(1, prefix="old", districts=("110108",))], on=Q3[0].replace(year=2024)
    )
    ConflictDeclaration.objects.create(inspector=b, enterprise=one, reason="持股", declared_by=b.user)
    partner = make_inspectors(1, prefix="partner", districts=("110108",))[0]
    planned_task(scored(tier=1, district=district("110108")), [c, partner])

    with refused("too_few_inspectors", 422) as excinfo:
        make_draw(market_regulator, tiers=[4], ratios={"4": 1}, max_tasks_per_inspector=1)

    details = excinfo.value.details
    assert details["eligible"] == [d.pk] and details["needed"] == 2
    assert details["excluded"] == {"last_inspection": [a.pk], "declared_conflict": [b.pk], "overload": [c.pk]}
    assert one.uscc in details["enterprise"]


def test_other_departments_and_districts_inspectors_are_not_drawn(one, market_regulator):
    make_inspectors(3, department_code="fire_rescue")
    make_inspectors(3, districts=("110108",))
    city = make_inspectors(1, districts=("110000",))  # the city: jurisdiction over Chaoyang
    street = make_inspectors(1, districts=("110105001",))  # a street: not over the whole district
    local = make_inspectors(1)

    assert draw_one(market_regulator) == sorted([city[0].pk, local[0].pk])
    assert street


# --- bad input: a clear refusal, never a partial draw ---------------------------------------------


@pytest.mark.parametrize("ratio", [1.01, -0.1, "abc", "NaN", "Infinity"])
def test_a_ratio_outside_0_to_1_is_refused(pool, team, market_regulator, ratio):
    with refused("invalid_ratio", 422) as excinfo:
        make_draw(market_regulator, ratios={"4": ratio})
    assert "4" in excinfo.value.details


def test_a_ratio_for_an_unknown_tier_is_refused(pool, team, market_regulator):
    with refused("invalid_ratio", 422):
        make_draw(market_regulator, ratios={"5": 0.5})


def test_an_empty_pool_is_refused(team, market_regulator):
    scored(tier=4, district=district("110108"))

    with refused("empty_pool", 422):
        make_draw(market_regulator)


def test_ratios_that_draw_nothing_are_refused(pool, team, market_regulator):
    with refused("nothing_drawn", 422):
        make_draw(market_regulator, ratios={"1": 0, "2": 0, "3": 0, "4": 0.01})


def test_no_inspector_at_all_is_refused(pool, market_regulator):
    with refused("too_few_inspectors", 422):
        make_draw(market_regulator, ratios={"4": 1})


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"inspectors_per_task": 1}, "invalid_team_size"),
        ({"max_tasks_per_inspector": 0}, "invalid_max_tasks"),
        ({"period_from": Q3[1], "period_to": Q3[0]}, "invalid_period"),
        (
            {"period_from": Q3[0].replace(month=6, day=1), "period_to": Q3[0].replace(month=6, day=30)},
            "period_in_past",
        ),
        ({"period_to": Q3[0].replace(year=2026, month=12)}, "period_too_long"),
    ],
)
def test_bad_settings_are_refused(pool, team, market_regulator, kwargs, code):
    with refused(code, 422):
        make_draw(market_regulator, **kwargs)


def test_a_department_regulator_draws_only_for_their_department(pool, team, market_regulator):
    with refused("out_of_scope", 403):
        make_draw(market_regulator, area=area("fire_rescue"))
    with refused("out_of_scope", 403):
        make_draw(market_regulator, area=area(district_code="110108"))
    with refused("out_of_scope", 403):
        make_draw(market_regulator, area=area(district_code=None))


def test_an_inspector_or_a_business_cannot_draw(pool, team, business_user):
    with refused("forbidden", 403):
        make_draw(team[0].user)
    with refused("forbidden", 403):
        make_draw(business_user)


# --- confirmation ----------------------------------------------------------------------


@pytest.fixture
def draft(pool, team, market_regulator):
    return make_draw(market_regulator, ratios={"1": 0, "2": 0, "3": 0.3, "4": 0.3})


def test_confirming_plans_one_random_task_per_drawn_enterprise(draft, market_regulator):
    draws.draw_confirm(draw=draft, actor=market_regulator)

    draft.refresh_from_db()
    assert draft.status == "confirmed" and draft.confirmed_by == market_regulator
    for entry in draft.entries.select_related("task"):
        task = entry.task
        assert task.source == InspectionTask.Source.RANDOM and task.enterprise_id == entry.enterprise_id
        assert sorted(task.inspectors.values_list("pk", flat=True)) == entry.inspector_ids
        assert (task.due_from, task.due_to) == Q3
    event = AuditEvent.objects.get(action="draw.confirm", target_id=str(draft.pk))
    assert event.data["seed"] == draft.seed and event.data["inputs_sha256"] == draft.inputs_sha256
    assert len(event.data["tasks"]) == draft.entries.count() == 6


def test_a_confirmed_draw_cannot_change(draft, market_regulator):
    draws.draw_confirm(draw=draft, actor=market_regulator)
    draw = Draw.objects.get(pk=draft.pk)
    entry = draw.entries.first()

    draw.seed = "0" * 32
    with pytest.raises(ValidationError):
        draw.save()
    with pytest.raises(ValidationError):
        draw.delete()
    entry.inspector_ids = [1, 2]
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    # An object loaded before the confirmation cannot slip a change in after it either.
    with pytest.raises(ValidationError):
        draft.save()
    assert Draw.objects.get(pk=draft.pk).seed != "0" * 32


def test_a_draft_may_still_change(draft):
    draft.save()
    draft.entries.first().save()


def test_confirming_twice_is_refused(draft, market_regulator):
    draws.draw_confirm(draw=draft, actor=market_regulator)

    with refused("already_confirmed", 409):
        draws.draw_confirm(draw=draft, actor=market_regulator)


def test_a_conflict_declared_after_the_draft_refuses_the_confirmation(draft, market_regulator):
    entry = draft.entries.first()
    ConflictDeclaration.objects.create(
        inspector_id=entry.inspector_ids[0],
        enterprise_id=entry.enterprise_id,
        reason="新",
        declared_by=UserFactory(),
    )

    with refused("conflict_declared", 409):
        draws.draw_confirm(draw=draft, actor=market_regulator)
    assert Draw.objects.get(pk=draft.pk).status == "draft"


def test_another_regulator_cannot_confirm(draft, health_regulator):
    with refused("out_of_scope", 403):
        draws.draw_confirm(draw=draft, actor=health_regulator)


# --- verification ----------------------------------------------------------------------


def verify(draw: Draw) -> str:
    out = StringIO()
    call_command("verify_draw", str(draw.pk), stdout=out)
    return out.getvalue()


def mismatch(draw: Draw) -> str:
    with pytest.raises(CommandError) as excinfo:
        verify(draw)
    assert excinfo.value.returncode == 1
    return str(excinfo.value)


def test_verify_draw_reproduces_a_draft_and_a_confirmed_draw(draft, market_regulator):
    assert "ok: draw" in verify(draft)
    draws.draw_confirm(draw=draft, actor=market_regulator)
    output = verify(draft)
    assert f"ok: draw #{draft.pk} (6 entries) reproduces from seed {draft.seed}" in output
    assert "is the recorded one" in output


def test_verify_draw_catches_a_changed_result(draft):
    entry = draft.entries.order_by("position")[1]
    other = next(i for i in draft.inputs["inspectors"] if i[0] not in entry.inspector_ids)[0]
    DrawEntry.objects.filter(pk=entry.pk).update(inspector_ids=sorted([entry.inspector_ids[0], other]))

    assert "entry 2: recorded enterprise" in mismatch(draft)


def test_verify_draw_catches_a_removed_entry(draft):
    draft.entries.order_by("position").last().delete()

    assert "6" in mismatch(draft)


def test_verify_draw_catches_a_changed_seed(draft):
    Draw.objects.filter(pk=draft.pk).update(seed=format(int(draft.seed, 16) ^ 1, "032x"))

    assert "mismatch" in mismatch(draft)


def test_verify_draw_catches_changed_inputs(draft):
    inputs = {**draft.inputs, "max_tasks_per_inspector": 99}
    Draw.objects.filter(pk=draft.pk).update(inputs=inputs)

    assert "inputs do not match their hash" in mismatch(draft)


def test_verify_draw_catches_a_consistently_forged_record_through_the_audit_chain(draft):
    """A new seed with the entries, hashes and all recomputed to match: only the audit chain knows."""
    seed = format(int(draft.seed, 16) ^ 1, "032x")
    result = draws.draw_compute(seed=seed, inputs=draft.inputs)
    Draw.objects.filter(pk=draft.pk).update(seed=seed, result_sha256=draws.sha256(result))
    DrawEntry.objects.filter(draw=draft).delete()
    DrawEntry.objects.bulk_create(
        DrawEntry(draw=draft, position=n, enterprise_id=e, tier=t, inspector_ids=ids)
        for n, (e, t, ids) in enumerate(result, start=1)
    )

    assert "seed differs from the one audited at creation" in mismatch(draft)


def test_a_changed_pool_is_reported_but_is_no_mismatch(draft):
    scored(tier=3)
    scored(draft.entries.first().enterprise, tier=1)

    output = verify(draft)
    assert "ok: draw" in output
    assert "differs from the recorded one (1 added, 0 removed, 1 in another tier)" in output
    report = draws.draw_verify(draw=draft)
    assert report.ok and report.pool.changed


def test_verify_draw_of_an_unknown_draw_exits_non_zero(db):
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_draw", "987654")
    assert excinfo.value.returncode == 2
