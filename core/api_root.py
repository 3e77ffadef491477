"""The project's single NinjaAPI, mounted at /api/v1/: authentication, the error format and the
OpenAPI document. The packages' routers are mounted on it in config/api.py."""

import logging

import orjson
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import WSGIRequest
from django.db import Error as DatabaseError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.schema import NinjaGenerateJsonSchema

from core.api_auth import SIGNED_IN, anonymous
from core.api_schemas import ErrorOut
from core.errors import DomainError
from core.middleware import RETRY_AFTER

logger = logging.getLogger(__name__)


# --- the OpenAPI document ------------------------------------------------------------------------------


class _QualifiedDefinitions(NinjaGenerateJsonSchema):
    """Names each definition by module and qualified name (``supervision.models.InspectionTask.Status``).

    Ninja files the definitions of every operation under one ``components/schemas`` keyed by the bare
    class name, so same-named classes overwrote one another: the ``Status`` choices of every model, the
    ``ItemOut`` of three apps. The document then described the wrong shapes. The document's names are
    made short again afterwards, wherever the short name is unique (``_shorten_names``)."""

    def get_defs_ref(self, core_mode_ref):
        defs_ref = super().get_defs_ref(core_mode_ref)
        # Pydantic's choices run from the bare name to the most qualified; drop the two bare ones.
        self._prioritized_defsref_choices[defs_ref] = self._prioritized_defsref_choices[defs_ref][2:]
        return defs_ref


class _Qualified:
    """A ninja parameter or response model whose JSON schema names its definitions in full."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def model_json_schema(self, **kwargs):
        return self._model.model_json_schema(**{**kwargs, "schema_generator": _QualifiedDefinitions})


_ERROR_RESPONSE = type("NinjaResponseSchema", (Schema,), {"__annotations__": {"response": ErrorOut}})


class _Document(OpenAPISchema):
    """Ninja's document, plus what the API layer itself answers before or around a handler, in the
    error format: 401 (authentication), 400 (a body that does not parse, or a control character in
    the path, query or body: core.middleware.InvalidCharactersMiddleware, on every operation), 422
    (input validation), 429 (throttling); and an empty security requirement where an anonymous
    caller is let in."""

    def __init__(self, api, path_prefix):
        super().__init__(api, path_prefix)
        _shorten_names(self, published_names=api.published_module_names)

    def _create_schema_from_model(self, model, *args, **kwargs):
        return super()._create_schema_from_model(_Qualified(model), *args, **kwargs)

    def _extract_parameters(self, model):
        return super()._extract_parameters(_Qualified(model))

    def responses(self, operation):
        result = super().responses(operation)
        error = {"content": {self.api.renderer.media_type: {"schema": self._error_schema()}}}
        callbacks = operation.auth_callbacks or []
        if callbacks and anonymous not in callbacks:
            result.setdefault(401, {"description": "Unauthorized", **error})
        bad_request = (
            "Bad Request: the body does not parse, or a text holds a control character"
            if self.request_body(operation)
            else "Bad Request: the path or query holds a control character"
        )
        result.setdefault(400, {"description": bad_request, **error})
        if operation.models:
            result.setdefault(422, {"description": "Unprocessable Entity: the input is not valid", **error})
        if operation.throttle_objects:
            result.setdefault(429, {"description": "Too Many Requests", **error})
        return dict(sorted(result.items()))

    def operation_security(self, operation):
        security = super().operation_security(operation)
        if security and anonymous in operation.auth_callbacks:
            security.append({})
        return security

    def _error_schema(self) -> dict:
        return self._create_schema_from_model(_ERROR_RESPONSE, mode="serialization")[0]


def _shorten_names(document: dict, *, published_names: dict[str, str]) -> None:
    """Each definition takes the shortest tail of its qualified name that no other one ends with:
    ``ErrorOut``, ``InspectionTask.Status``; in full where a module tells them apart:
    ``supervision.api_loop.ItemOut`` (a module under its published name, see published_module_names)."""
    schemas = document["components"]["schemas"]
    parts = {qualified: qualified.split("__") for qualified in schemas}  # pydantic writes "." as "__"
    names = {}
    for qualified, own in parts.items():
        for size in range(1, len(own) + 1):
            if not any(other[-size:] == own[-size:] for name, other in parts.items() if name != qualified):
                break
        if own[-size][:1].islower():  # told apart by a module: name it in full
            size = len(own)
        if size == len(own):
            # Modules are lower case, classes not: split the module from the (nested) class name.
            split = next(i for i, part in enumerate(own) if not part[:1].islower())
            names[qualified] = _published(".".join(own[:split]), ".".join(own[split:]), published_names, ".")
        else:
            names[qualified] = ".".join(own[-size:])
    document["components"]["schemas"] = {names[name]: schema for name, schema in schemas.items()}
    prefix = "#/components/schemas/"

    def rename(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                node["$ref"] = prefix + names.get(ref[len(prefix) :], ref[len(prefix) :])
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    rename(document)


# --- requests -------------------------------------------------------------------------------------------


class _ObjectBodies(Parser):
    """A JSON request body of this API is an object (the document says so of each; see
    tests/api/test_openapi.py). Ninja would read any other JSON value as an object without
    attributes, so that ``0`` or ``[]`` passed as "all defaults"; it is refused (400) instead. No body
    at all, or an empty form, is "all defaults"."""

    EMPTY_FORMS = {"multipart/form-data", "application/x-www-form-urlencoded"}

    def parse_body(self, request):
        # A POST with nothing to say (an action whose body fields are all optional) may come without
        # a JSON body: as an empty form, which is what browsers, curl -d "" and test clients send.
        # It means "all defaults"; a required field then answers 422 like any missing field.
        if (
            isinstance(request, WSGIRequest | ASGIRequest)
            and request.content_type in self.EMPTY_FORMS
            and not request.POST
            and not request.FILES
        ):
            return {}
        data = super().parse_body(request)
        # The fields of a multipart body are parsed one by one, on bare HttpRequests of their own.
        if not isinstance(data, dict) and isinstance(request, WSGIRequest | ASGIRequest):
            raise ValueError("The body is not a JSON object.")
        return data


def _published(module: str, name: str, published_names: dict[str, str], sep: str) -> str:
    """``module.name`` with the module under its published name: a module registered in
    ``published_names``, or any module inside it, answers to the registered one's published name."""
    for current, published in published_names.items():
        if module == current or module.startswith(current + "."):
            module = published
            break
    return f"{module}.{name}".replace(".", sep)


# --- the responses' JSON -------------------------------------------------------------------------------


class FastJSONRenderer(BaseRenderer):
    """JSON by orjson: the values ninja's JSONRenderer writes, in half the time (a ranking page of 50
    rows of a dozen factors: 0.74 ms in the standard library's encoder, 0.36 ms here, with its
    dates still formatted by ninja's encoder; 47 KB become 41).

    The same values as ninja's encoder writes: dates, times, datetimes and what orjson does not know
    (Decimal, lazy translations, schemas, URLs) go through ninja's own NinjaJSONEncoder.default, so a
    datetime still reads "2026-12-06T08:30:00.123Z"; str and int subclasses (TextChoices) are written
    as their values, dictionaries' int keys as strings, as the standard library does. What differs is
    the spelling, not the values: no spaces between items, non-ASCII text as UTF-8 rather than \\u
    escapes (the response is UTF-8), and a float that is not a number is null (the standard library
    wrote NaN, which is not JSON); NumPy numbers are numbers. Anything neither encoder knows is a
    TypeError, as before."""

    media_type = "application/json"
    _encoder = NinjaJSONEncoder()
    _options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

    def render(self, request, data, *, response_status: int) -> bytes:
        return orjson.dumps(data, default=self._encoder.default, option=self._options)


class SupervisionAPI(NinjaAPI):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Operation ids and the names of same-named schemas are made from the handler's module;
        # clients generate code from them, so a module that moved keeps the name it was published
        # under ({current module: published name}, filled where the routers are mounted).
        self.published_module_names: dict[str, str] = {}

    def get_openapi_operation_id(self, operation) -> str:
        function = operation.view_func
        return _published(function.__module__, function.__name__, self.published_module_names, "_")

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return _Document(self, path_prefix)


api = SupervisionAPI(
    title="Supervision platform API",
    version="1",
    description="Post-licensing supervision: enterprises, codes, checklists, inspections, the closed loop.",
    urls_namespace="api",
    auth=SIGNED_IN,
    parser=_ObjectBodies(),
    renderer=FastJSONRenderer(),
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


@api.exception_handler(DatabaseError)
def on_database_error(request, exc: DatabaseError):
    # Lost or refused connections (a database restart, a failover) are worth retrying: 503 says
    # so, and the tablet's outbox retries with the same submission id. Other database errors
    # are bugs: 500 like any other.
    if not isinstance(exc, OperationalError | InterfaceError):
        return on_unexpected(request, exc)
    logger.warning("database unavailable: %s", exc)
    response = _error(
        request, 503, "unavailable", _("The service is briefly unavailable; try again in a moment.")
    )
    response["Retry-After"] = RETRY_AFTER
    return response


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    if settings.DEBUG:
        raise exc
    logger.exception("unhandled API error", exc_info=exc)
    return _error(request, 500, "server_error", _("Something went wrong on our side; it has been logged."))
