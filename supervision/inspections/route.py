"""The inspector's day in a route order: nearest neighbour over the enterprises' coordinates.

Nearest neighbour is not the shortest tour, but for the handful of visits of one day it is
within a few percent of it, needs no map service, and an inspector can follow its logic
("the closest next"). Distances are great-circle (haversine) kilometres, not road distances.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Stop:
    task: object
    leg_km: float | None  # from the previous stop (or the start); None without coordinates
    total_km: float | None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _point(task) -> tuple[float, float] | None:
    enterprise = task.enterprise
    if enterprise.latitude is None or enterprise.longitude is None:
        return None
    return float(Decimal(enterprise.latitude)), float(Decimal(enterprise.longitude))


def day_route(tasks, *, start: tuple[float, float] | None = None) -> tuple[list[Stop], list[object]]:
    """Order ``tasks`` (most urgent first as given) into a route; return (stops, unplaced).

    Without a start point the route begins at the first task that has coordinates, so the most
    urgent visit comes first. Tasks whose enterprise has no coordinates cannot be placed: they
    come back separately, never dropped.
    """
    located = [(task, _point(task)) for task in tasks]
    remaining = [(task, point) for task, point in located if point is not None]
    unplaced = [task for task, point in located if point is None]
    stops: list[Stop] = []
    total = 0.0
    here = start
    if here is None and remaining:
        task, here = remaining.pop(0)
        stops.append(Stop(task=task, leg_km=0.0, total_km=0.0))
    while remaining:
        # Ties go to the earlier (more urgent) task: min() keeps the first of equals.
        index = min(range(len(remaining)), key=lambda i: distance_km(here, remaining[i][1]))
        task, point = remaining.pop(index)
        leg = distance_km(here, point)
        total += leg
        stops.append(Stop(task=task, leg_km=leg, total_km=total))
        here = point
    return stops, unplaced


def sketch(stops: list[Stop], *, width: int = 600, height: int = 360, margin: int = 24) -> dict:
    """Screen coordinates for an SVG sketch of the route (no map tiles: points and legs only)."""
    points = [_point(stop.task) for stop in stops]
    if not points:
        return {"width": width, "height": height, "points": [], "path": ""}
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    # Longitude degrees shrink with latitude: scale them so the sketch is not stretched.
    squeeze = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    # Centred: the drawing's spare room goes equally to both sides (one stop sits in the middle).
    left = (width - (max(lons) - min(lons)) * squeeze * scale) / 2
    bottom = (height - (max(lats) - min(lats)) * scale) / 2
    coords = [
        (
            round(left + (lon - min(lons)) * squeeze * scale, 1),
            round(height - bottom - (lat - min(lats)) * scale, 1),
        )
        for lat, lon in points
    ]
    return {
        "width": width,
        "height": height,
        "points": [{"x": x, "y": y, "n": n} for n, (x, y) in enumerate(coords, 1)],
        "path": " ".join(f"{'M' if n == 0 else 'L'}{x},{y}" for n, (x, y) in enumerate(coords)),
    }
