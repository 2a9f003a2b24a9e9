"""What every page shows of notify: the number of unread messages in the user's inbox."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .selectors import inbox_unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    """`inbox_unread`: counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: inbox_unread_count(user))}
