"""Creating and editing data sources. The schemas are checked by history.sources.schema; every
change is audited with the names of the fields it changed."""

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import DomainError
from core.models import Department
from history.models import DataSource
from history.sources.schema import schemas_check

# Codes that would shadow a page of history.urls (/sources/new/).
RESERVED_CODES = {"new"}
CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")
CODE_MAX = DataSource._meta.get_field("code").max_length
MAX_RATE = 600  # batches a minute
MAX_BATCH_ROWS = 50_000  # beyond this a batch no longer fits the request size limit anyway
EDITABLE = (
    "name",
    "name_en",
    "kind",
    "department",
    "owner",
    "business_key",
    "attribute_schema",
    "signal_schema",
    "rate_limit_per_minute",
    "max_batch_rows",
    "active",
)


class SourceError(DomainError):
    status = 422


def owner_candidates():
    """Who may own a source at the platform: regulators and platform admins, active."""
    return (
        get_user_model()
        .objects.filter(Q(regulator__isnull=False) | Q(is_superuser=True), is_active=True)
        .order_by("username")
    )


def _check(values: dict) -> None:
    details = {}
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        details["name"] = _("is required")
    if values["kind"] not in DataSource.Kind.values:
        details["kind"] = _("must be one of %(values)s") % {"values": ", ".join(DataSource.Kind.values)}
    if values["business_key"] not in DataSource.BusinessKey.values:
        details["business_key"] = _("must be one of %(values)s") % {
            "values": ", ".join(DataSource.BusinessKey.values)
        }
    rate = values["rate_limit_per_minute"]
    if not isinstance(rate, int) or not 1 <= rate <= MAX_RATE:
        details["rate_limit_per_minute"] = _("must be a whole number from 1 to %(n)d") % {"n": MAX_RATE}
    rows = values["max_batch_rows"]
    if not isinstance(rows, int) or not 1 <= rows <= MAX_BATCH_ROWS:
        details["max_batch_rows"] = _("must be a whole number from 1 to %(n)d") % {"n": MAX_BATCH_ROWS}
    owner = values.get("owner")
    if owner is not None and not owner_candidates().filter(pk=owner.pk).exists():
        details["owner"] = _("must be an active regulator or platform administrator")
    if details:
        raise SourceError(_("The data source is not valid."), code="invalid_source", details=details)
    schemas_check(attribute_schema=values["attribute_schema"], signal_schema=values["signal_schema"])


def _audit_data(source: DataSource) -> dict:
    return {
        "code": source.code,
        "kind": source.kind,
        "business_key": source.business_key,
        "active": source.active,
        "rate_limit_per_minute": source.rate_limit_per_minute,
        "max_batch_rows": source.max_batch_rows,
        # In full: what a source may send is what steers the score, so every version is on record.
        "attribute_schema": source.attribute_schema,
        "signal_schema": source.signal_schema,
    }


@transaction.atomic
def source_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    name_en: str = "",
    department: Department | None = None,
    owner=None,
    business_key: str = DataSource.BusinessKey.USCC,
    attribute_schema: dict | None = None,
    signal_schema: dict | None = None,
    rate_limit_per_minute: int = 30,
    max_batch_rows: int = 10_000,
    active: bool = True,
) -> DataSource:
    code = (code or "").strip()
    if not CODE.fullmatch(code) or len(code) > CODE_MAX or code in RESERVED_CODES:
        raise SourceError(
            _("The code is lower-case letters, digits, hyphens and underscores, up to %(n)d characters.")
            % {"n": CODE_MAX},
            code="invalid_source",
            details={"code": _("not a valid code")},
        )
    values = {
        "name": name,
        "name_en": name_en or "",
        "kind": kind,
        "department": department,
        "owner": owner,
        "business_key": business_key,
        "attribute_schema": attribute_schema if attribute_schema is not None else {},
        "signal_schema": signal_schema if signal_schema is not None else {},
        "rate_limit_per_minute": rate_limit_per_minute,
        "max_batch_rows": max_batch_rows,
        "active": active,
    }
    _check(values)
    if DataSource.objects.filter(code=code).exists():
        raise SourceError(
            _("A data source with this code exists."),
            code="code_taken",
            status=409,
            details={"code": _("already taken")},
        )
    values["name"], values["name_en"] = values["name"].strip(), values["name_en"].strip()
    source = DataSource.objects.create(code=code, **values)
    audit_record(actor=actor, action="source.create", target=source, data=_audit_data(source))
    return source


@transaction.atomic
def source_update(*, actor, source: DataSource, **changes) -> DataSource:
    """Change any of EDITABLE (not the code: it is the ``source`` column of the senders' files)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise SourceError(
            _("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
            code="invalid_source",
            details={name: _("cannot be changed") for name in sorted(unknown)},
        )
    source = DataSource.objects.select_for_update().get(pk=source.pk)
    values = {name: getattr(source, name) for name in EDITABLE}
    values.update(changes)
    _check(values)
    changed = sorted(name for name in EDITABLE if values[name] != getattr(source, name))
    if not changed:
        return source
    for name in changed:
        value = values[name]
        setattr(source, name, value.strip() if isinstance(value, str) and name.startswith("name") else value)
    source.save()
    audit_record(
        actor=actor, action="source.update", target=source, data={**_audit_data(source), "changed": changed}
    )
    return source
