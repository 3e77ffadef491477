"""One row of a batch against its source's schema: every problem of the row is named (field, code,
reason), and a row without problems comes out in the form it is stored in.

What needs the database (business keys, duplicates, rows already stored) is checked a batch at a
time in history.sources.ingest.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from core import uscc
from history.models import DataSource, Signal
from history.sources.schema import (
    KIND_MAX,
    NAME_MAX,
    attribute_value,
    bounds_problem,
    parse_date,
    parse_number,
)

# How far ahead of the platform's clock a date or time may be: the sender's clock may run a few
# minutes fast, nothing more (a register's future-dated fact waits until its day).
FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST = date(1900, 1, 1)
KEY_MAX = Signal._meta.get_field("business_key").max_length
REF_MAX = Signal._meta.get_field("source_ref").max_length
DESCRIPTION_MAX = Signal._meta.get_field("description").max_length
ATTRIBUTE_FIELDS = ("business_key", "name", "value", "valid_from")
SIGNAL_FIELDS = (
    "signal_id",
    "kind",
    "occurred_at",
    "latitude",
    "longitude",
    "business_key",
    "value",
    "description",
)


@dataclass(frozen=True)
class RowError:
    """``row``: the row's position in what was sent (0 = first)."""

    row: int
    field: str
    code: str
    message: str
    duplicate_of: int | None = None  # the earlier row a duplicate repeats

    def as_dict(self) -> dict:
        found = {"row": self.row, "field": self.field, "code": self.code, "message": self.message}
        if self.duplicate_of is not None:
            found["duplicate_of"] = self.duplicate_of
        return found


@dataclass
class AttributeRow:
    position: int
    business_key: str
    name: str
    value: str
    valid_from: date


@dataclass
class SignalRow:
    position: int
    source_ref: str
    kind: str
    occurred_at: datetime
    latitude: float | None
    longitude: float | None
    business_key: str
    value: float | None
    description: str

    def payload(self) -> tuple:
        """What a retry must repeat exactly (the enterprise is derived, not sent)."""
        return (
            self.kind,
            self.occurred_at,
            self.latitude,
            self.longitude,
            self.business_key,
            self.value,
            self.description,
        )


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class RowChecker:
    """Checks the rows of one batch of one source, as of one moment."""

    def __init__(self, source: DataSource, *, now: datetime | None = None):
        self.source = source
        self.now = now or timezone.now()
        self.latest = self.now + FUTURE_TOLERANCE
        self.errors: list[RowError] = []
        self._midnights: dict[date, datetime] = {}

    def _error(self, position: int, field: str, code: str, message: str) -> None:
        self.errors.append(RowError(position, field, code, str(message)))

    def _fields(self, position: int, row, allowed: tuple[str, ...]) -> bool:
        if not isinstance(row, dict):
            self._error(position, "", "not_an_object", _("a row is a JSON object"))
            return False
        for field in sorted(set(row) - set(allowed)):
            self._error(position, str(field), "unknown_field", _("unknown field"))
        return True

    def _text(self, position: int, row: dict, field: str, limit: int, *, required: bool) -> str | None:
        """The field as stripped text ("" when absent and optional); None after an error."""
        value = row.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # business ids and signal ids sent as JSON numbers
        if value is None:
            value = ""
        if not isinstance(value, str):
            self._error(position, field, "bad_type", _("must be text"))
            return None
        value = value.strip()
        if "\x00" in value:
            self._error(position, field, "nul_byte", _("contains a NUL character"))
            return None
        if required and not value:
            self._error(position, field, "required", _("is required"))
            return None
        if len(value) > limit:
            self._error(position, field, "too_long", _("longer than %(n)d characters") % {"n": limit})
            return None
        return value

    def _business_key(self, position: int, row: dict, *, required: bool) -> str | None:
        key = self._text(position, row, "business_key", KEY_MAX, required=required)
        if not key:
            return key
        if self.source.business_key == DataSource.BusinessKey.USCC:
            try:
                return uscc.check(key)
            except uscc.USCCError as exc:
                self._error(position, "business_key", "bad_business_key", exc.message)
                return None
        if not key.isdigit():
            self._error(
                position, "business_key", "bad_business_key", _("a LIVES business id is a whole number")
            )
            return None
        return str(int(key))

    def _midnight(self, day: date) -> datetime:
        """The start of ``day`` in the platform's time zone (a date-only value means that moment)."""
        if day not in self._midnights:  # a batch repeats few days: localise each once
            self._midnights[day] = timezone.make_aware(datetime.combine(day, time()))
        return self._midnights[day]

    def _not_future(self, position: int, field: str, moment: datetime) -> bool:
        if moment > self.latest:
            self._error(position, field, "future", _("is in the future"))
            return False
        if moment.date() < EARLIEST:
            self._error(position, field, "too_old", _("is before %(date)s") % {"date": EARLIEST.isoformat()})
            return False
        return True

    def _day(self, position: int, row: dict, field: str) -> date | None:
        day = parse_date(row.get(field))
        if day is None:
            code = "required" if _blank(row.get(field)) else "bad_date"
            self._error(position, field, code, _("must be a date, YYYY-MM-DD"))
            return None
        start = self._midnight(day)
        return day if self._not_future(position, field, start) else None

    def _moment(self, position: int, row: dict, field: str) -> datetime | None:
        value = row.get(field)
        day = parse_date(value)
        moment = self._midnight(day) if day else None
        # A moment is a date, or an ISO 8601 date and time (with a T or a space; without an
        # offset it is the platform's time zone).
        if (
            moment is None
            and isinstance(value, str)
            and len(value.strip()) >= 16
            and value.strip()[10] in "T "
        ):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                moment = None
            if moment is not None and timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        if moment is None:
            code = "required" if _blank(value) else "bad_date"
            self._error(position, field, code, _("must be an ISO 8601 date and time, or a date"))
            return None
        return moment if self._not_future(position, field, moment) else None

    # --- attributes -------------------------------------------------------------------------------

    def attribute(self, position: int, row) -> AttributeRow | None:
        before = len(self.errors)
        if not self._fields(position, row, ATTRIBUTE_FIELDS):
            return None
        key = self._business_key(position, row, required=True)
        name = self._text(position, row, "name", NAME_MAX, required=True)
        entry = self.source.attribute_schema.get(name) if name else None
        if name and entry is None:
            self._error(position, "name", "unknown_name", _("not an attribute this source may send"))
        value = None
        if entry is not None:
            if _blank(row.get("value")) and entry["type"] != "text":
                self._error(position, "value", "required", _("is required"))
            else:
                value, code, problem = attribute_value(
                    "" if row.get("value") is None else row["value"], entry
                )
                if value is None:
                    self._error(position, "value", code, problem)
        valid_from = self._day(position, row, "valid_from")
        if len(self.errors) > before:
            return None
        return AttributeRow(position, key, name, value, valid_from)

    # --- signals ----------------------------------------------------------------------------------

    def _point(self, position: int, row: dict) -> tuple[float | None, float | None, bool]:
        """(latitude, longitude, ok): both or neither, each finite and in range."""
        coordinates, ok = {}, True
        for field, limit in (("latitude", 90), ("longitude", 180)):
            raw = row.get(field)
            if _blank(raw):
                coordinates[field] = None
                continue
            number = parse_number(raw)
            if number is None or not -limit <= number <= limit:
                self._error(
                    position,
                    field,
                    "bad_coordinates",
                    _("must be a number from -%(n)d to %(n)d") % {"n": limit},
                )
                ok = False
            coordinates[field] = number
        if ok and (coordinates["latitude"] is None) != (coordinates["longitude"] is None):
            missing = "latitude" if coordinates["latitude"] is None else "longitude"
            self._error(position, missing, "bad_coordinates", _("latitude and longitude come together"))
            ok = False
        return coordinates["latitude"], coordinates["longitude"], ok

    def _signal_value(self, position: int, row: dict, kind: str, entry: dict) -> tuple[float | None, bool]:
        raw = row.get("value")
        if entry["value"] == "none":
            if not _blank(raw):
                self._error(
                    position,
                    "value",
                    "bad_value",
                    _("signals of kind %(kind)s carry no value") % {"kind": kind},
                )
                return None, False
            return None, True
        if _blank(raw):
            self._error(position, "value", "required", _("is required"))
            return None, False
        number = parse_number(raw)
        problem = _("must be a number") if number is None else bounds_problem(number, entry)
        if problem:
            self._error(position, "value", "bad_value", problem)
            return None, False
        return number, True

    def _where(self, position: int, kind: str, entry: dict, key: str, has_point: bool) -> bool:
        """The business key and the point the kind allows, and at least one of them."""
        ok = True
        if key and not entry["keyed"]:
            self._error(
                position,
                "business_key",
                "not_allowed",
                _("signals of kind %(kind)s name no business") % {"kind": kind},
            )
            ok = False
        if has_point and not entry["located"]:
            self._error(
                position,
                "latitude",
                "not_allowed",
                _("signals of kind %(kind)s carry no point") % {"kind": kind},
            )
            ok = False
        if ok and not key and not has_point:
            field = "business_key" if entry["keyed"] else "latitude"
            message = {
                (True, True): _("a business key or a point (latitude, longitude) is required"),
                (True, False): _("a business key is required"),
                (False, True): _("a point (latitude, longitude) is required"),
            }[(entry["keyed"], entry["located"])]
            self._error(position, field, "required", message)
            ok = False
        return ok

    def signal(self, position: int, row) -> SignalRow | None:
        before = len(self.errors)
        if not self._fields(position, row, SIGNAL_FIELDS):
            return None
        ref = self._text(position, row, "signal_id", REF_MAX, required=True)
        kind = self._text(position, row, "kind", KIND_MAX, required=True)
        entry = self.source.signal_schema.get(kind) if kind else None
        if kind and entry is None:
            self._error(position, "kind", "unknown_kind", _("not a kind of signal this source may send"))
        occurred_at = self._moment(position, row, "occurred_at")
        latitude, longitude, point_ok = self._point(position, row)
        key = self._business_key(position, row, required=False)
        description = self._text(position, row, "description", DESCRIPTION_MAX, required=False)
        value = None
        if entry is not None:
            value, _ok = self._signal_value(position, row, kind, entry)
            if point_ok and key is not None:
                self._where(position, kind, entry, key, latitude is not None)
        if len(self.errors) > before:
            return None
        return SignalRow(position, ref, kind, occurred_at, latitude, longitude, key, value, description)
