"""The versioned JSON API: /api/v1/, schema at /api/v1/openapi.json, docs at /api/v1/docs."""

from typing import Any

from django.urls import URLPattern
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from safecampus.campaigns.api import router as campaigns_router
from safecampus.drills.api import router as drills_router
from safecampus.duty.api import router as duty_router
from safecampus.hazards.api import router as hazards_router
from safecampus.incidents.api import router as incidents_router
from safecampus.levels.api import router as levels_router
from safecampus.notices.api import router as notices_router
from safecampus.notify.api import router as notify_router
from safecampus.orgs.api import auth_router
from safecampus.orgs.api import router as orgs_router
from safecampus.reports.api import router as reports_router
from safecampus.reports.calendar_api import router as calendar_router
from safecampus.reports.schedules_api import router as schedules_router
from safecampus.routines.api import router as routines_router

from . import errors
from .auth import BearerToken


class Api(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        """The schema with the errors each operation can answer (errors.document)."""
        return errors.document(super().get_openapi_schema(**kwargs))  # type: ignore[return-value]


api = Api(
    title="safecampus API",
    version="1",
    description="Campus safety operations. Authenticate with POST /api/v1/auth/token, then "
    "send 'Authorization: Bearer <token>'. Every answer is limited to the caller's units.",
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=BearerToken(),
    parser=errors.JsonObjectParser(),
)
errors.install(api)
# Django tries the routes in this order: the busiest (a province's daily reports, all
# within minutes of a deadline) first.
api.add_router("/", reports_router)
api.add_router("/auth", auth_router)
api.add_router("/", orgs_router)
api.add_router("/", notify_router)
api.add_router("/", notices_router)
api.add_router("/", calendar_router)
api.add_router("/", schedules_router)
api.add_router("/", duty_router)
api.add_router("/", incidents_router)
api.add_router("/", hazards_router)
api.add_router("/", routines_router)
api.add_router("/", drills_router)
api.add_router("/", levels_router)
api.add_router("/", campaigns_router)


def urls() -> tuple[list[URLPattern], str, str]:
    """api.urls, each view answering a method it does not take in JSON
    (errors.method_not_allowed_in_json)."""
    patterns, app_name, namespace = api.urls
    wrapped = []
    for p in patterns:
        view = errors.method_not_allowed_in_json(p.callback)
        wrapped.append(URLPattern(p.pattern, view, p.default_args, p.name))
    return wrapped, app_name, namespace
