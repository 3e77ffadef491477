"""The demo logins: one per role and scope, all with one password, and the table that lists them."""

import secrets
import unicodedata
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from core.models import Department, District, EnterpriseMembership, Inspector, Regulator
from demo.enterprises import business_enterprise


def demo_password() -> str:
    """Readable: lower case and digits without look-alikes (0/o, 1/l/i), in dashed groups; ~59 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


@dataclass(frozen=True)
class DemoUser:
    username: str
    last_name: str
    first_name: str
    role: str  # admin | regulator | inspector | business
    department: str | None = None
    districts: tuple[str, ...] = ()
    certificate_no: str = ""
    membership: str = ""  # EnterpriseMembership.Role, for business users


# One login per role and scope. The market-regulation inspectors share Chaoyang, where
# demo enterprise #0 (the business logins' catering shop) is. Certificate numbers use a
# department digit pair other than the factories' "00", so test data never collides.
DEMO_USERS = (
    DemoUser("admin", "李", "明", "admin"),
    DemoUser("regulator", "王", "建国", "regulator", "market_regulation", ("110000",)),
    DemoUser("regulator_health", "赵", "敏", "regulator", "health", ("110108",)),
    DemoUser("regulator_chaoyang", "周", "志强", "regulator", None, ("110105",)),
    DemoUser("inspector", "张", "伟", "inspector", "market_regulation", ("110105",), "110105010001"),
    DemoUser("inspector2", "刘", "洋", "inspector", "market_regulation", ("110105",), "110105010002"),
    DemoUser("inspector_haidian", "孙", "磊", "inspector", "health", ("110108",), "110108020001"),
    DemoUser("business", "陈", "静", "business", membership=EnterpriseMembership.Role.OWNER),
    DemoUser("business_staff", "杨", "帆", "business", membership=EnterpriseMembership.Role.STAFF),
)


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    scope: str


def _scope(department: Department | None, district: District | None) -> str:
    parts = [department.name if department else "全部部门", district.name if district else "全市"]
    return " · ".join(parts)


@transaction.atomic
def users_seed(*, password: str) -> tuple[list[str], list[str], list[Login]]:
    """Create or reset the demo logins: the given password, names, flags and the role each one shows."""
    User = get_user_model()
    # One hash for all of them: they share the password anyway, and hashing is the slow part.
    encoded = make_password(password)
    departments = {d.code: d for d in Department.objects.all()}
    districts = {d.code: d for d in District.objects.filter(level__in=["city", "district"])}
    enterprise = business_enterprise()
    created, updated, logins = [], [], []
    for spec in DEMO_USERS:
        user, was_created = User.objects.get_or_create(username=spec.username)
        (created if was_created else updated).append(spec.username)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.is_active = True
        user.is_superuser = user.is_staff = spec.role == "admin"
        user.password = encoded
        user.save()

        department = departments[spec.department] if spec.department else None
        if spec.role == "admin":
            scope = "全部"
        elif spec.role == "regulator":
            district = districts[spec.districts[0]]
            Regulator.objects.update_or_create(
                user=user, defaults={"department": department, "district": district}
            )
            scope = _scope(department, district)
        elif spec.role == "inspector":
            inspector, _ = Inspector.objects.update_or_create(
                user=user,
                defaults={"department": department, "certificate_no": spec.certificate_no, "active": True},
            )
            inspector.districts.set([districts[code] for code in spec.districts])
            scope = _scope(department, districts[spec.districts[0]])
        else:
            EnterpriseMembership.objects.update_or_create(
                user=user, enterprise=enterprise, defaults={"role": spec.membership}
            )
            scope = f"{spec.membership} · {enterprise.name} ({enterprise.uscc})"
        logins.append(Login(spec.username, spec.role, scope))
    return created, updated, logins


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def login_table(logins: list[Login], password: str) -> str:
    rows = [("username", "role", "scope", "password")] + [
        (x.username, x.role, x.scope, password) for x in logins
    ]
    widths = [max(display_width(row[col]) for row in rows) for col in range(3)]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (width - display_width(cell)) for cell, width in zip(row[:3], widths, strict=True)
        ]
        lines.append("  ".join([*cells, row[3]]))
    lines.insert(1, "  ".join("-" * width for width in [*widths, len(password)]))
    return "\n".join(lines)
