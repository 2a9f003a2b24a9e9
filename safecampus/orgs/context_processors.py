"""What the page shell shows on every page: the user's unit and role, and admin links.

The inbox count and the worker's warning come from notify/context_processors.py and
worker/context_processors.py: orgs, below them, knows nothing of either."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import access
from .models import Membership


def _shell(user: Any) -> dict[str, Any]:
    memberships = list(
        Membership.objects.filter(person=user, unit__archived_at__isnull=True)
        .select_related("unit")
        .order_by("unit__depth", "role")[:5]
    )
    first = memberships[0] if memberships else None
    return {
        "unit": first.unit if first else None,
        "role": first.get_role_display()
        if first
        else (user.get_admin_role_display() if user.admin_role else ""),
        "admin_role": user.get_admin_role_display() if user.admin_role else "",
        "can_manage_accounts": access.can_manage_accounts(user),
        "can_edit_calendar": access.can_edit_calendar(user),
        "can_edit_policy": access.can_edit_security_policy(user),
        "can_read_audit": access.can_read_audit(user),
        "can_import": access.can_import(user),
        "sees_units": access.sees_everything(user) or bool(memberships),
    }


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"shell": SimpleLazyObject(lambda: _shell(user))}
