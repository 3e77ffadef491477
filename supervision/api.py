"""Supervision API: self-inspections now; tasks, inspections and the loop with their issues."""

from ninja import Router

router = Router(tags=["supervision"])
