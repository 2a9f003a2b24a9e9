"""What the page shell shows on every page: the user's unit and role, and admin links."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import access
from .models import Membership


def inbox_unread_count(user: Any) -> int:
    from safecampus.notify.selectors import inbox_unread_count as count

    return count(user)


def worker_status() -> tuple[bool, Any]:
    from safecampus.worker.loop import worker_status as status

    return status()


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
        "inbox_unread": inbox_unread_count(user),
        # Watch the watcher: administrators and managers see when the worker is down.
        "worker_down": (access.can_manage_accounts(user) or bool(access.manageable_paths(user)))
        and not worker_status()[0],
    }


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"shell": SimpleLazyObject(lambda: _shell(user))}
