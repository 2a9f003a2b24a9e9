"""What every page shows of the worker: a warning, to those who can act, when it is down."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from safecampus.orgs import access

from .loop import worker_status as _status


def worker_status(request: HttpRequest) -> dict[str, Any]:
    """`worker_down`: true when no worker has been seen lately and the user is one of the
    administrators and managers who are told (access.sees_worker_status)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "worker_down": SimpleLazyObject(
            lambda: access.sees_worker_status(user) and not _status()[0]
        )
    }
