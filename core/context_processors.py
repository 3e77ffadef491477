from core.permissions import roles_of


def roles(request):
    """The signed-in user's roles, for the navigation of every page."""
    return {"roles": roles_of(getattr(request, "user", None))}
