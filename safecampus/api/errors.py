"""One error shape for the whole API: {"detail": "...", "errors": [{"field", "reason"}]}."""

import functools
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError


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
            {"field": _field_of(e.get("loc", [])), "reason": e.get("msg", "")} for e in exc.errors
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

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(
            request, {"detail": str(exc), "errors": []}, status=exc.status_code
        )


# --- Null characters ------------------------------------------------------------------


def refuse_null_characters(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps an API view: a NUL character in the query or in a string of the JSON body
    is a 422 naming the field. No PostgreSQL text can hold one (the write would fail
    as a 500) and the site's forms refuse it already (Django's CharField). Costs a
    substring search a request; the body is parsed only when it holds an escaped NUL."""

    @functools.wraps(view)  # its csrf_exempt too
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        field = _null_character_at(request)
        if field is None:
            return view(request, *args, **kwargs)
        reason = _("Null characters are not allowed.")
        return JsonResponse(
            {"detail": reason, "errors": [{"field": field, "reason": reason}]}, status=422
        )

    return guarded


def _null_character_at(request: HttpRequest) -> str | None:
    if "%00" in request.META.get("QUERY_STRING", ""):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return key.replace("\x00", "") or "query"
    try:
        body = request.body
    except RawPostDataException:
        return None
    if b"\\u0000" not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # ninja answers a body it cannot read
    return _null_in(data, [])


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
