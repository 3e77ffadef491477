"""Other departments' data for the demo city: what a city's data office would have connected by the
time the platform has two years behind it.

Four sources (history.models.DataSource), each declaring what it may send:

- ``licence_register`` (the market regulator's licence register): per enterprise its risk class,
  facility type (the register's own codes), licensed activities (tobacco, alcohol on the premises,
  tavern, packaged liquor, outdoor seating) and the day its licence was first issued; one in ten
  enterprises was reclassed a year ago, so the register has an older value too;
- ``hotline_12345`` (the 12345 citizens' hotline): sanitation complaints about the street (rubbish,
  sewage, fumes, rats), located by a point and naming no business, around the streets where the
  demo enterprises are, more around some than others, over the last year;
- ``kitchen_cameras`` (明厨亮灶 cameras in kitchens): alerts keyed to catering businesses;
- ``urban_management`` (城管, another bureau): penalties keyed to businesses, which count in credit.

Everything arrives through the ingest the real sources use (history.sources.file_ingest: the rows
are checked against the schemas, one SourceBatch and one audit event per batch), as a data office's
first load from files would. Two hotline rows name businesses that are not registered here, so the
sources' page has unmatched keys to show. The example off-site factors
(supervision.risk.offsite.EXAMPLE_OFFSITE) are added as a candidate scoring policy, not adopted: a
regulator back-tests and compares it, then adopts it or not (/ranking/policies/).

Told from the demo's seed, relative to today: the same seed on the same day gives the same data.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from core import uscc
from core.models import Enterprise
from history.models import DataSource, Signal
from history.sources import file_ingest, source_create
from history.sources.registry import owner_candidates
from supervision.models import ScoringPolicy
from supervision.risk import offsite
from supervision.risk.scoring import current_policy, policy_offsite_example

REGISTER = "licence_register"
HOTLINE = "hotline_12345"
CAMERAS = "kitchen_cameras"
BUREAU = "urban_management"
FLAGS = ("tobacco", "consumption_on_premises_incidental_activity", "tavern", "package_goods", "outdoor_patio")

SOURCES = {
    REGISTER: {
        "name": "市场监管局许可登记",
        "name_en": "Licence register (market regulation)",
        "kind": DataSource.Kind.REGISTER,
        "attribute_schema": {
            "risk_class": {"type": "choice", "choices": ["high", "medium", "low"]},
            "facility_type": {"type": "text", "max_length": 60},
            **{flag: {"type": "flag"} for flag in FLAGS},
            "licence_first_issued": {"type": "date"},
        },
    },
    HOTLINE: {
        "name": "12345市民服务热线",
        "name_en": "12345 citizens' hotline",
        "kind": DataSource.Kind.HOTLINE,
        "signal_schema": {
            "sanitation_complaint": {"value": "none", "keyed": True, "located": True},
        },
    },
    CAMERAS: {
        "name": "明厨亮灶智能监控",
        "name_en": "Kitchen cameras",
        "kind": DataSource.Kind.CAMERA,
        "signal_schema": {"camera_alert": {"value": "none", "keyed": True, "located": False}},
    },
    BUREAU: {
        "name": "城市管理综合执法局",
        "name_en": "Urban management bureau",
        "kind": DataSource.Kind.BUREAU,
        "signal_schema": {
            "penalty": {"value": "number", "unit": "元", "min": 0, "keyed": True, "located": False}
        },
    },
}
FACILITY = {  # the register's codes, by scene
    "catering": ("Restaurant", "Restaurant", "Restaurant", "Bakery", "Catering"),
    "retail": ("Grocery Store",),
    "food_production": ("Bakery", "Catering"),
    "medical": ("Long Term Care",),
    "hotel": ("Restaurant",),
}
RISK_CLASS = {4: "high", 3: "high", 2: "medium", 1: "low"}
COMPLAINTS = (
    "垃圾清运不及时，门前堆放",
    "污水外溢，气味难闻",
    "油烟直排扰民",
    "发现老鼠出没",
    "餐厨垃圾桶未加盖",
)
CAMERA_ALERTS = ("后厨人员未戴帽子", "后厨人员未戴口罩", "操作间发现鼠迹", "生熟案板混用")
# Businesses the hotline names that are not registered here (a new shop, another city's code).
UNREGISTERED = (("110105", "MA01XK7D"), ("110108", "MA02RQ3T"))
METRES = 1 / 111_195  # degrees of latitude per metre


@dataclass
class OffsiteResult:
    attributes: int = 0
    signals: dict[str, int] = field(default_factory=dict)
    policy_version: int | None = None


def _source(code: str) -> DataSource:
    found = DataSource.objects.filter(code=code).first()
    if found:
        return found
    # Owned at the platform by the city-level regulator, who manages scoring.
    owner = owner_candidates().filter(username="regulator").first()
    return source_create(actor=None, code=code, owner=owner, **SOURCES[code])


def _day(value: date) -> str:
    return value.isoformat()


def _moment(rng: random.Random, now: datetime, days: int) -> str:
    """A moment in the last ``days`` days, to the minute, as the sources send it."""
    return timezone.localtime(now - timedelta(minutes=rng.randrange(10, days * 24 * 60))).isoformat(
        timespec="minutes"
    )


def _register_rows(rng: random.Random, enterprises: list[Enterprise], today: date) -> list[dict]:
    rows = []
    for e in enterprises:
        scene = e.scene.code
        risk = RISK_CLASS.get(e.scene.inherent_risk, "medium")
        if rng.random() < 0.15:
            risk = rng.choice(("high", "medium", "low"))
        issued = e.opened_on or today - timedelta(days=rng.randrange(200, 5000))
        values = {
            "risk_class": risk,
            "facility_type": rng.choice(FACILITY.get(scene, ("Other",))),
            "tobacco": int((scene == "retail" and rng.random() < 0.4) or rng.random() < 0.04),
            "consumption_on_premises_incidental_activity": int(scene == "catering" and rng.random() < 0.3),
            "tavern": int(scene in ("catering", "entertainment") and rng.random() < 0.05),
            "package_goods": int(scene == "retail" and rng.random() < 0.25),
            "outdoor_patio": int(scene == "catering" and rng.random() < 0.1),
            "licence_first_issued": _day(issued),
        }
        for name, value in values.items():
            rows.append(
                {"business_key": e.uscc, "name": name, "value": str(value), "valid_from": _day(issued)}
            )
        if issued < today - timedelta(days=400) and rng.random() < 0.1:
            # Reclassed a year ago: the register keeps the value before.
            older = rng.choice([c for c in ("high", "medium", "low") if c != risk])
            rows[-len(values)]["valid_from"] = _day(today - timedelta(days=365))
            rows.append(
                {"business_key": e.uscc, "name": "risk_class", "value": older, "valid_from": _day(issued)}
            )
    return rows


def _hotline_rows(
    rng: random.Random, enterprises: list[Enterprise], now: datetime, *, first: bool
) -> list[dict]:
    """Complaints about the street around the enterprises: some streets much worse than others.
    ``first``: the hotline's first load, which also names two businesses not registered here."""
    rows = []
    located = [e for e in enterprises if e.latitude is not None and e.longitude is not None]
    for e in located:
        lat, lon = float(e.latitude), float(e.longitude)
        for n in range(min(int(rng.expovariate(1 / 4)), 20)):
            dy, dx = rng.gauss(0, 120), rng.gauss(0, 120)
            rows.append(
                {
                    "signal_id": f"12345-{e.uscc}-{n}",
                    "kind": "sanitation_complaint",
                    "occurred_at": _moment(rng, now, 365),
                    "latitude": round(lat + dy * METRES, 6),
                    "longitude": round(lon + dx * METRES / 0.766, 6),
                    "description": rng.choice(COMPLAINTS),
                }
            )
    unregistered = (uscc.build(authority="9", kind="1", division=d, body8=b) for d, b in UNREGISTERED)
    for n, business_id in enumerate(unregistered if first else ()):
        # Complaints naming businesses not (yet) registered here: kept, and listed as unmatched.
        rows.append(
            {
                "signal_id": f"12345-unregistered-{n}",
                "kind": "sanitation_complaint",
                "occurred_at": _moment(rng, now, 30),
                "business_key": business_id,
                "description": rng.choice(COMPLAINTS),
            }
        )
    return rows


def _keyed_rows(rng: random.Random, enterprises: list[Enterprise], now: datetime) -> tuple[list, list]:
    alerts, penalties = [], []
    for e in enterprises:
        if e.scene.code == "catering" and rng.random() < 0.15:
            for n in range(rng.randint(1, 5)):
                alerts.append(
                    {
                        "signal_id": f"cam-{e.uscc}-{n}",
                        "kind": "camera_alert",
                        "occurred_at": _moment(rng, now, 180),
                        "business_key": e.uscc,
                        "description": rng.choice(CAMERA_ALERTS),
                    }
                )
        if rng.random() < 0.03:
            penalties.append(
                {
                    "signal_id": f"cg-{e.uscc}",
                    "kind": "penalty",
                    "occurred_at": _moment(rng, now, 700),
                    "business_key": e.uscc,
                    "value": rng.choice((200, 500, 1000, 2000)),
                    "description": "占道经营" if rng.random() < 0.5 else "违规设置户外广告",
                }
            )
    return alerts, penalties


def offsite_seed(*, seed: int, enterprises: list[Enterprise], now: datetime | None = None) -> OffsiteResult:
    """Send the demo enterprises' off-site data through the sources' ingest, and add the example
    off-site factors as a candidate policy (once)."""
    now = now or timezone.now()
    rng = random.Random(f"offsite-{seed}")
    result = OffsiteResult()
    if not enterprises:
        return result
    register = _register_rows(rng, enterprises, timezone.localdate(now))
    hotline_source = _source(HOTLINE)
    hotline = _hotline_rows(
        rng, enterprises, now, first=not Signal.objects.filter(source=hotline_source).exists()
    )
    alerts, penalties = _keyed_rows(rng, enterprises, now)
    result.attributes = file_ingest(
        source=_source(REGISTER), content="attributes", rows=register, chunk_rows=5000
    ).rows
    for code, rows in ((HOTLINE, hotline), (CAMERAS, alerts), (BUREAU, penalties)):
        if rows:
            file_ingest(source=_source(code), content="signals", rows=rows, chunk_rows=5000)
        result.signals[code] = len(rows)
    if not any(
        offsite.definitions(params) for params in ScoringPolicy.objects.values_list("params", flat=True)
    ):
        base = current_policy()
        result.policy_version = policy_offsite_example(actor=None, base=base, adopt=False).version
    return result
