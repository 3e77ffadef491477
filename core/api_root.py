"""The project's single NinjaAPI, mounted at /api/v1/: authentication, the
error format, and the app routers."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from core.api_auth import SIGNED_IN
from core.errors import DomainError

logger = logging.getLogger(__name__)


api = NinjaAPI(
    title="Supervision platform API",
    version="1",
    description="Post-licensing supervision: enterprises, codes, checklists, inspections, the closed loop.",
    urls_namespace="api",
    auth=SIGNED_IN,
)


def _error(request, status: int, code: str, message: str, details=None):
    return api.create_response(request, {"code": code, "message": message, "details": details}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return _error(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    return _error(request, 422, "invalid_input", _("The request is not valid."), exc.errors)


@api.exception_handler(DjangoValidationError)
def on_model_validation_error(request, exc: DjangoValidationError):
    details = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return _error(request, 422, "invalid_input", _("The request is not valid."), details)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return _error(request, 401, "not_authenticated", _("Sign in or send a valid bearer token."))


@api.exception_handler(Throttled)
def on_throttled(request, exc: Throttled):
    response = _error(request, 429, "throttled", _("Too many requests; try again later."), {"wait": exc.wait})
    if exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, f"http_{exc.status_code}", str(exc))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return _error(request, 403, "forbidden", _("You may not do this."))


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    if settings.DEBUG:
        raise exc
    logger.exception("unhandled API error", exc_info=exc)
    return _error(request, 500, "server_error", _("Something went wrong on our side; it has been logged."))


api.add_router("/", "core.api.router")
api.add_router("/", "checklists.api.router")
api.add_router("/", "supervision.api.router")
api.add_router("/", "supervision.api_loop.router")
