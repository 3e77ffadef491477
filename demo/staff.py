"""The people the demo city's past needs besides the demo logins (demo.logins).

- Four inspectors per department and district: a pair can always be sent to any demo enterprise,
  also when the pair of its last visit is excluded (planning.eligibility), so plans schedule and
  draws draw across the whole city. The demo's own inspectors join their district's team.
- A city-wide lead (a regulator) per department, who planned the tasks, triaged the complaints
  and recorded the credit events; market regulation's is the demo ``regulator`` login.
- A business account (owner) per demo enterprise with a past, who self-inspected, answered the
  orders and rated the visits; the business login's enterprise has ``business``.

None of them can sign in (unusable passwords): they are there so every recorded act has its actor.
Usernames say what each one stands for, so a second run finds them instead of adding more; names
come from ``random.Random(f"{seed}:{username}")``, the same whatever else is seeded.
"""

import random
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from core import reference
from core.models import Department, District, EnterpriseMembership, Inspector, Regulator
from demo.rows import COMPOUND_SURNAMES, person_name

TEAM_SIZE = 4
# The department's digit pair in certificate numbers: its place in the reference list, as the demo
# logins' numbers have it (market regulation 01, health 02). History staff number from 1001 on.
DEPARTMENT_NUMBERS = {code: number for number, (code, _name, _en) in enumerate(reference.DEPARTMENTS, 1)}
LEAD_OF_MARKET_REGULATION = "regulator"
BUSINESS_OWNER = "business"


@dataclass(frozen=True)
class Staff:
    teams: dict  # (department code, district code) -> ids of active inspectors with that district
    leads: dict  # department code -> user id of its city-wide lead
    inspector_users: dict  # inspector id -> user id
    certificates: dict  # inspector id -> certificate number
    owners: dict  # enterprise id -> user id of its owner account


def split_name(name: str) -> tuple[str, str]:
    """(family name, given name) of a Chinese name."""
    family = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    return family, name[len(family) :]


def _new_user(username: str, *, seed: int, joined: datetime, name: str | None = None):
    family, given = split_name(name or person_name(random.Random(f"{seed}:{username}")))
    return get_user_model()(
        username=username,
        last_name=family,
        first_name=given,
        password=make_password(None),
        date_joined=joined,
    )


def _create_users(specs: dict[str, str | None], *, seed: int, joined: datetime) -> dict[str, int]:
    """Username -> id for every username of ``specs`` (username -> name, or None for a drawn
    one), creating the missing ones."""
    User = get_user_model()
    existing = dict(User.objects.filter(username__in=list(specs)).values_list("username", "id"))
    missing = [
        _new_user(username, seed=seed, joined=joined, name=name)
        for username, name in specs.items()
        if username not in existing
    ]
    User.objects.bulk_create(missing, batch_size=1000)
    existing.update({user.username: user.pk for user in missing})
    return existing


def _inspectors_seed(*, seed: int, joined: datetime) -> None:
    departments = list(Department.objects.filter(code__in=list(DEPARTMENT_NUMBERS)).order_by("code"))
    districts = list(District.objects.filter(level=District.Level.DISTRICT).order_by("code"))
    wanted = {
        f"{district.code}{DEPARTMENT_NUMBERS[department.code]:02d}{1000 + n:04d}": (department, district)
        for department in departments
        for district in districts
        for n in range(1, TEAM_SIZE + 1)
    }
    known = set(
        Inspector.objects.filter(certificate_no__in=list(wanted)).values_list("certificate_no", flat=True)
    )
    todo = {certificate: place for certificate, place in wanted.items() if certificate not in known}
    if not todo:
        return
    users = _create_users({f"insp{certificate}": None for certificate in todo}, seed=seed, joined=joined)
    inspectors = Inspector.objects.bulk_create(
        [
            Inspector(user_id=users[f"insp{certificate}"], department=department, certificate_no=certificate)
            for certificate, (department, _district) in todo.items()
        ],
        batch_size=1000,
    )
    Inspector.districts.through.objects.bulk_create(
        [
            Inspector.districts.through(
                inspector_id=inspector.pk, district_id=todo[inspector.certificate_no][1].pk
            )
            for inspector in inspectors
        ],
        batch_size=1000,
    )


def _leads_seed(*, seed: int, joined: datetime) -> dict[str, int]:
    departments = {d.code: d for d in Department.objects.all()}
    usernames = {
        code: LEAD_OF_MARKET_REGULATION if code == "market_regulation" else f"lead_{code}"
        for code in departments
    }
    users = _create_users({username: None for username in usernames.values()}, seed=seed, joined=joined)
    city = District.objects.get(level=District.Level.CITY)
    have = set(Regulator.objects.filter(user_id__in=list(users.values())).values_list("user_id", flat=True))
    Regulator.objects.bulk_create(
        [
            Regulator(user_id=users[username], department=departments[code], district=city)
            for code, username in usernames.items()
            if users[username] not in have
        ]
    )
    return {code: users[username] for code, username in usernames.items()}


def _owners_seed(
    *, seed: int, joined: datetime, enterprises: list[tuple[int, str, str]], business_enterprise_id: int
) -> dict[int, int]:
    specs = {
        (BUSINESS_OWNER if pk == business_enterprise_id else f"owner_{uscc.lower()}"): representative
        for pk, uscc, representative in enterprises
    }
    users = _create_users(specs, seed=seed, joined=joined)
    owners = {
        pk: users[BUSINESS_OWNER if pk == business_enterprise_id else f"owner_{uscc.lower()}"]
        for pk, uscc, _representative in enterprises
    }
    members = set(
        EnterpriseMembership.objects.filter(enterprise_id__in=list(owners)).values_list(
            "enterprise_id", "user_id"
        )
    )
    EnterpriseMembership.objects.bulk_create(
        [
            EnterpriseMembership(
                user_id=user, enterprise_id=pk, role=EnterpriseMembership.Role.OWNER, created_at=joined
            )
            for pk, user in owners.items()
            if (pk, user) not in members
        ],
        batch_size=1000,
    )
    return owners


def staff_seed(
    *, seed: int, joined: datetime, enterprises: list[tuple[int, str, str]], business_enterprise_id: int
) -> Staff:
    """Create what is missing of the staff and return all of it. ``enterprises``: (id, USCC, legal
    representative) of the enterprises that need an owner account (the legal representative's name)."""
    _inspectors_seed(seed=seed, joined=joined)
    leads = _leads_seed(seed=seed, joined=joined)
    owners = _owners_seed(
        seed=seed, joined=joined, enterprises=enterprises, business_enterprise_id=business_enterprise_id
    )
    teams: dict[tuple[str, str], list[int]] = {}
    inspector_users, certificates = {}, {}
    rows = Inspector.districts.through.objects.filter(
        inspector__active=True, inspector__user__is_active=True
    ).values_list(
        "inspector_id",
        "inspector__user_id",
        "inspector__certificate_no",
        "inspector__department__code",
        "district__code",
    )
    for inspector, user, certificate, department, district in rows.order_by("inspector_id"):
        teams.setdefault((department, district), []).append(inspector)
        inspector_users[inspector], certificates[inspector] = user, certificate
    return Staff(
        teams={key: tuple(ids) for key, ids in teams.items()},
        leads=leads,
        inspector_users=inspector_users,
        certificates=certificates,
        owners=owners,
    )
