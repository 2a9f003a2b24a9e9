"""One error shape for the whole API: {"detail": "...", "errors": [{"field", "reason"}]}.

Every answer under /api/ that is not a success has it: the endpoints' errors (install),
a body that cannot be read (JsonObjectParser), a URL or method the API does not have,
a request too large and a server error (the handlers at the end, named in the root
urls.py). Every reason is in the caller's language, pydantic's included (reason_for)."""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    QueryDict,
)
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views import defaults
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts) or "body"


def _field_of_model_error(field: str, error: DjangoValidationError) -> str:
    """The field a model error is about; a unique-together clash names its last field
    (an area's name within its unit, a membership's role for that person and unit)."""
    if field != NON_FIELD_ERRORS:
        return field
    unique_check = (error.params or {}).get("unique_check") if error.code else None
    if error.code == "unique_together" and unique_check:
        return str(unique_check[-1])
    return ""


def install(api: NinjaAPI) -> None:
    @api.exception_handler(NinjaValidationError)
    def invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {"field": _field_of(e.get("loc", [])), "reason": reason_for(e)} for e in exc.errors
        ]
        return api.create_response(
            request, {"detail": _("The input is not valid."), "errors": errors}, status=422
        )

    @api.exception_handler(DjangoValidationError)
    def refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            errors = [
                {"field": _field_of_model_error(field, e), "reason": " ".join(e.messages)}
                for field, e_list in exc.error_dict.items()
                for e in e_list
            ]
        else:
            errors = [{"field": "", "reason": m} for m in exc.messages]
        return api.create_response(
            request,
            {"detail": errors[0]["reason"] if errors else _("Refused."), "errors": errors},
            status=422,
        )

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return api.create_response(
            request,
            {"detail": str(exc) or _("You may not do this here."), "errors": []},
            status=403,
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": _("Not found."), "errors": []}, status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request,
            {"detail": _("Log in first: send 'Authorization: Bearer <token>'."), "errors": []},
            status=401,
        )

    @api.exception_handler(RequestDataTooBig)
    def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return _too_large()  # ninja reads the body first; Django's check raises this

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja answers a body its parser refused with a 400 of its own words: the
        # parser's reason (the cause) is the answer.
        if isinstance(exc.__cause__, BodyRefused):
            return _body_refused(exc.__cause__)
        if isinstance(exc.__cause__, RequestDataTooBig):
            return _too_large()
        return api.create_response(
            request, {"detail": str(exc), "errors": []}, status=exc.status_code
        )


# --- Null characters ------------------------------------------------------------------
# No PostgreSQL text can hold one (the write would fail as a 500) and the site's forms
# refuse it already (Django's CharField): in the query or in a string of the body, a
# NUL is a 422 naming the field (JsonObjectParser). Costs a substring search a request;
# the parsed body is walked only when it holds an escaped NUL.


def _null_in(value: Any, path: list[str]) -> str | None:
    if isinstance(value, str):
        return (".".join(path) or "body") if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return None
    for key, item in items:
        if "\x00" in key:
            return ".".join([*path, key.replace("\x00", "")]) or "body"
        found = _null_in(item, [*path, key])
        if found is not None:
            return found
    return None


# --- Pydantic's reasons, in the caller's language --------------------------------------

_WHOLE_NUMBER = gettext_lazy("Enter a whole number.")
_NUMBER = gettext_lazy("Enter a number.")
_TRUE_OR_FALSE = gettext_lazy("Enter true or false.")
_DATE = gettext_lazy("Enter a date as YYYY-MM-DD.")
_DATETIME = gettext_lazy("Enter a date and time as YYYY-MM-DDTHH:MM, with its time zone.")
_OBJECT = gettext_lazy("Must be a JSON object.")
_LIST = gettext_lazy("Must be a list.")
_NOT_VALID = gettext_lazy("This value is not valid.")

# Pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/)
# → a translatable reason, formatted with the error's context (its limits).
_REASONS: dict[str, Promise] = {
    "missing": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Enter text."),
    "string_too_short": ngettext_lazy(
        "Enter at least %(min_length)d character.",
        "Enter at least %(min_length)d characters.",
        "min_length",
    ),
    "string_too_long": ngettext_lazy(
        "Enter at most %(max_length)d character.",
        "Enter at most %(max_length)d characters.",
        "max_length",
    ),
    "string_pattern_mismatch": gettext_lazy("Enter a value in the expected format."),
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "int_parsing_size": gettext_lazy("This number is too large."),
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "finite_number": _NUMBER,
    "bool_type": _TRUE_OR_FALSE,
    "bool_parsing": _TRUE_OR_FALSE,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "json_invalid": gettext_lazy("This is not valid JSON."),
    "json_type": gettext_lazy("This is not valid JSON."),
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dict_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "iterable_type": _LIST,
    "greater_than": gettext_lazy("Enter a value greater than %(gt)s."),
    "greater_than_equal": gettext_lazy("Enter a value greater than or equal to %(ge)s."),
    "less_than": gettext_lazy("Enter a value less than %(lt)s."),
    "less_than_equal": gettext_lazy("Enter a value less than or equal to %(le)s."),
    "too_short": ngettext_lazy(
        "Enter at least %(min_length)d item.", "Enter at least %(min_length)d items.", "min_length"
    ),
    "too_long": ngettext_lazy(
        "Enter at most %(max_length)d item.", "Enter at most %(max_length)d items.", "max_length"
    ),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "enum": gettext_lazy("Choose one of: %(expected)s."),
    "extra_forbidden": gettext_lazy("This field is not expected here."),
    "recursion_loop": gettext_lazy("This value is nested too deeply."),
    "url_type": gettext_lazy("Enter a valid URL."),
    "url_parsing": gettext_lazy("Enter a valid URL."),
    "uuid_type": gettext_lazy("Enter a valid UUID."),
    "uuid_parsing": gettext_lazy("Enter a valid UUID."),
}


def reason_for(error: dict[str, Any]) -> str:
    """A pydantic error in the caller's language. A validator of ours raising ValueError
    (value_error) already speaks it: its own message, without pydantic's prefix. Any
    other type: a plain "not valid" rather than pydantic's English."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])
    try:  # a lazy plural reads its number from the context: format before str()
        return str(_REASONS.get(kind, _NOT_VALID) % ctx)
    except (KeyError, TypeError, ValueError):
        return str(_NOT_VALID)


# --- Bodies ------------------------------------------------------------------------------


class BodyRefused(ValueError):
    """Why a body cannot be an endpoint's input (JsonObjectParser): a 400 naming the
    body, or a 422 naming the field that holds a NUL."""

    def __init__(self, reason: str, field: str = "body", status: int = 400) -> None:
        super().__init__(reason)
        self.field, self.status = field, status


class JsonObjectParser(Parser):
    """The one place the API reads a body and a query (api.parser), once. A body is a
    JSON object: anything else (not JSON, nested beyond what json.loads can take, an
    array, a string, a number, null) is a 400 naming the body (install's http_error):
    left to the schemas, an array or a string would read as an object without fields,
    and a PATCH of `[null, null]` would change nothing and answer 200. A NUL in the body
    or the query is a 422 naming its field."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        body = request.body
        try:
            data = json.loads(body)
        except RecursionError as e:
            raise BodyRefused(_("The body is nested too deeply.")) from e
        except ValueError as e:  # UnicodeDecodeError too
            raise BodyRefused(_("The body is not valid JSON.")) from e
        if not isinstance(data, dict):
            raise BodyRefused(_("The body must be a JSON object."))
        if b"\\u0000" in body:
            try:
                field = _null_in(data, [])
            except RecursionError as e:  # json.loads went as deep: the stack is deeper here
                raise BodyRefused(_("The body is nested too deeply.")) from e
            if field is not None:
                raise BodyRefused(_("Null characters are not allowed."), field, 422)
        return data

    def parse_querydict(
        self, data: QueryDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        if "%00" in request.META.get("QUERY_STRING", ""):
            for key, values in data.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    field = key.replace("\x00", "") or "query"
                    raise DjangoValidationError({field: _("Null characters are not allowed.")})
        return super().parse_querydict(data, list_fields, request)


_JSON_TYPE = "application/json; charset=utf-8"  # as ninja answers


def _error(status: int, detail: str, field: str | None = None, **headers: str) -> JsonResponse:
    errors = [] if field is None else [{"field": field, "reason": detail}]
    response = JsonResponse(
        {"detail": detail, "errors": errors}, status=status, content_type=_JSON_TYPE
    )
    for name, value in headers.items():
        response[name] = value
    return response


def _body_refused(exc: BodyRefused) -> JsonResponse:
    return _error(exc.status, str(exc), exc.field)


def _too_large() -> JsonResponse:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return _error(
        413,
        _("The request is too large: at most %(size)s MB.") % {"size": f"{megabytes:g}"},
        "body",
    )


# --- Answers from outside the endpoints ------------------------------------------------
# Django answers these (the root urls.py names them: handler400 ...) for every URL; under
# /api/ they answer in the API's shape, elsewhere Django's pages as before.


def _in_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _in_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _too_large()
    return _error(400, _("The request could not be read."))


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _in_api(request):
        return defaults.permission_denied(request, exception)
    return _error(403, _("You may not do this here."))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _in_api(request):
        return defaults.page_not_found(request, exception)
    return _error(404, _("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    if not _in_api(request):
        return defaults.server_error(request)
    return _error(500, _("Something went wrong on our side. It has been logged; try again."))


def method_not_allowed_in_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps an API view: ninja answers a method a path does not take with a text 405."""

    @functools.wraps(view)  # its csrf_exempt too
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            detail = _("This address does not take %(method)s.") % {"method": request.method}
            return _error(405, detail, Allow=response["Allow"])
        return response

    return guarded


# --- The schema ----------------------------------------------------------------------------

_ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the caller's language."},
        "errors": {
            "type": "array",
            "items": {
                "title": "FieldError",
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "'body' for the whole body."},
                    "reason": {"type": "string"},
                },
                "required": ["field", "reason"],
            },
        },
    },
    "required": ["detail", "errors"],
}
_DESCRIPTIONS = {
    400: "The body cannot be read: not JSON, or not a JSON object.",
    401: "No valid token: send 'Authorization: Bearer <token>'.",
    403: "The caller may not do this.",
    404: "Not found, or not visible to the caller.",
    413: "The request is too large.",
    422: "The input is not valid: each field named with its reason.",
}


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """The errors each operation can answer, in the OpenAPI schema, all in the one shape
    (components/schemas/Error): 401 and 403 where a token is needed, 404 where the path
    names something, 422 where there is input, 400 and 413 where there is a body. An
    operation's own declared answers stay as they are; an error it declares
    (openapi_extra={"responses": {429: {"description": ...}}}) gets the shape."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(operation)):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status]})
            for status, response in responses.items():
                if int(status) >= 400:  # declared by the endpoint too (openapi_extra)
                    response.setdefault("content", content)
    return schema


def _statuses(operation: dict[str, Any]) -> set[int]:
    places = {p.get("in") for p in operation.get("parameters", [])}
    statuses = set()
    if operation.get("security"):
        statuses |= {401, 403}
    if "path" in places:
        statuses.add(404)
    if places or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}
    return statuses
