"""Who reaches the risk pages. The ranking and the policies behind it are for regulators and admins:
anyone else gets 404, as for a page that does not exist. Changing the policy, recomputing and the
back-test are for those who may manage scoring: a regulator who may not gets 403 (through
core.pages.DomainErrorMiddleware), since the page exists for them."""

from django.http import Http404
from django.utils.translation import gettext as _

from core import permissions
from core.errors import DomainError


def ranking_only(user) -> None:
    if not permissions.may_see_ranking(user):
        raise Http404


def scoring_managers_only(user) -> None:
    if not permissions.can_manage_scoring(user):
        raise forbidden()


def forbidden() -> DomainError:
    return DomainError(_("You may not do this."), code="forbidden", status=403)
