"""The effective alert level of the user's unit, as a banner on every page (base.html): one
query on the orders' (path, ends_at) index, made only when the page shows it."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from safecampus.orgs.models import Membership

from .selectors import Effective, effective_level


def _banner(user: Any) -> Effective | None:
    membership = (
        Membership.objects.filter(person=user, unit__archived_at__isnull=True)
        .select_related("unit")
        .order_by("-unit__depth", "pk")
        .first()
    )
    if membership is None:
        return None
    effective = effective_level(membership.unit)
    return effective if effective.raised else None


def alert_level(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.admin_role:
        return {}
    return {"alert_level": SimpleLazyObject(lambda: _banner(user) or False)}
