"""Other departments' data made by hand for the off-site factors' tests: data sources, register
attributes and signals written straight through the ORM (the ingest has its own tests), and policies
declaring off-site factors."""

import copy
import itertools
import math
from datetime import date, datetime

from django.utils import timezone

from core.models import Enterprise
from history.models import DataSource, EnterpriseAttribute, Signal, SourceBatch
from supervision.risk import offsite_sql, scoring

_refs = itertools.count(1)
# Where the nearby tests put enterprises: central Beijing.
ORIGIN = (39.9, 116.4)


def data_source(code: str = "licence_register", kind: str = DataSource.Kind.REGISTER) -> DataSource:
    source, _created = DataSource.objects.get_or_create(
        code=code, defaults={"kind": kind, "name": code, "name_en": code}
    )
    return source


def _batch(source: DataSource, content: str) -> SourceBatch:
    return SourceBatch.objects.create(
        source=source, content=content, channel=SourceBatch.Channel.FILE, rows=1, created=1, sha256="0" * 64
    )


def attribute(
    enterprise: Enterprise, name: str, value: str, valid_from: date, *, source: DataSource | None = None
) -> EnterpriseAttribute:
    source = source or data_source()
    return EnterpriseAttribute.objects.create(
        source=source,
        enterprise=enterprise,
        name=name,
        value=value,
        valid_from=valid_from,
        batch=_batch(source, SourceBatch.Content.ATTRIBUTES),
    )


def signal(
    kind: str,
    occurred_at: datetime,
    *,
    enterprise: Enterprise | None = None,
    point: tuple[float, float] | None = None,
    value: float | None = None,
    source: DataSource | None = None,
) -> Signal:
    source = source or data_source("hotline_12345", DataSource.Kind.HOTLINE)
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    return Signal.objects.create(
        source=source,
        source_ref=f"s{next(_refs)}",
        kind=kind,
        occurred_at=occurred_at,
        latitude=point[0] if point else None,
        longitude=point[1] if point else None,
        business_key=enterprise.uscc if enterprise else "",
        enterprise=enterprise,
        value=value,
        batch=_batch(source, SourceBatch.Content.SIGNALS),
    )


def label(name: str) -> dict:
    return {"zh": f"{name}（中文）", "en": f"{name} (English)"}


def definition(name: str, factor_type: str, **fields) -> dict:
    return {"name": name, "label": label(name), "type": factor_type, **fields}


def offsite_policy(*definitions: dict, only: bool = True, adopt: bool = False, credit=None, **weights):
    """A policy declaring ``definitions``. ``only``: every built-in weight is zero and each off-site
    factor weighs 1 (or as given), so a single factor's score is 100 x its feature."""
    params = copy.deepcopy(scoring.DEFAULT_PARAMS)
    params["offsite"] = list(definitions)
    if credit:
        params["credit"].update(credit)
    base = dict.fromkeys(scoring.FACTORS, 0) if only else dict(scoring.DEFAULT_WEIGHTS)
    base.update({d["name"]: weights.get(d["name"], 1) for d in definitions})
    return scoring.policy_create(actor=None, weights=base, params=params, adopt=adopt)


def at_metres(north_m: float, east_m: float, origin=ORIGIN) -> tuple[float, float]:
    """A point north_m / east_m metres from ``origin``, on the grid's own scale (its metres per
    degree and the cosine of the reference latitude, which is the origin's in these tests)."""
    lat0, lon0 = origin
    return (
        lat0 + north_m / offsite_sql.METRES_PER_DEGREE,
        lon0 + east_m / (offsite_sql.METRES_PER_DEGREE * math.cos(math.radians(round(lat0, 1)))),
    )
