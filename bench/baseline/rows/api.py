"""GET /api/rows?district=N: the 50 riskiest rows of a district, through a Schema of explicit fields."""

from datetime import date

from ninja import NinjaAPI, Schema

from rows.models import Row

api = NinjaAPI(title="baseline")


class RowOut(Schema):
    id: int
    code: str
    name: str
    district: int
    scene: str
    tier: int
    risk: float
    credit_points: float
    open_orders: int
    last_inspected_on: date | None
    active: bool


@api.get("/rows", response=list[RowOut])
def rows(request, district: int):
    return Row.objects.filter(district=district).order_by("-risk", "id")[:50]
