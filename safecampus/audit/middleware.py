from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .services import request_context


class AuditContextMiddleware:
    """Makes the request's user and address the author of what it changes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_context(request):
            return self.get_response(request)
