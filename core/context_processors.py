from functools import partial

from core.permissions import can_manage_scoring, roles_of


def roles(request):
    """The signed-in user's roles, for the navigation of every page, and what the navigation may
    offer them (evaluated only by a template that asks: a template calls a callable)."""
    user = getattr(request, "user", None)
    return {"roles": roles_of(user), "may_manage_scoring": partial(can_manage_scoring, user)}
