"""One error shape for the whole API: {"detail": "...", "errors": [{"field", "reason"}]}."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError


def _field_of(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload")]
    return ".".join(parts) or "body"


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
                {"field": field, "reason": " ".join(e.messages)}
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
