"""The effective alert level of the user's unit, as a banner on every page (base.html): one
query on the orders' (path, ends_at) index, made only when the page shows it.
A person in several units sees the level of the first (outermost) of them."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from safecampus.orgs import access

from .selectors import Effective, effective_level


def _banner(user: Any) -> Effective | None:
    # The user's units as access already read them for the page (cached per request): the
    # banner costs the one query on the orders.
    paths = access.member_paths(user)
    if not paths:
        return None
    effective = effective_level(paths[0])
    return effective if effective.raised else None


def alert_level(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.admin_role:
        return {}
    return {"alert_level": SimpleLazyObject(lambda: _banner(user) or False)}
