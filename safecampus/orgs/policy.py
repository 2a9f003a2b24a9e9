"""The security policy as the rest of the system reads it (cached for a minute)."""

from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db.utils import DatabaseError

from .models import MOBILE_RE, Person, SecurityPolicy

_KEY = "safecampus:security-policy"


def current_policy() -> SecurityPolicy:
    policy = cache.get(_KEY)
    if policy is None:
        try:
            policy = SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy()
        except DatabaseError:  # before the first migration
            policy = SecurityPolicy()
        cache.set(_KEY, policy, 60)
    return policy


def forget_policy() -> None:
    cache.delete(_KEY)


def axes_failure_limit(request: Any, credentials: Any) -> int:
    return current_policy().failure_limit


def axes_cooloff(request: Any = None) -> timedelta:
    return timedelta(minutes=current_policy().cooloff_minutes)


def axes_username(request: Any, credentials: Any) -> str:
    """Count failures per account: a mobile number and the username are the same account."""
    raw = str((credentials or {}).get("username", "")).strip()
    if MOBILE_RE.match(raw):
        username = Person.objects.filter(mobile=raw).values_list("username", flat=True).first()
        if username:
            return username
    return raw


def password_expired(user: Any) -> bool:
    """True when the policy's maximum password age has passed (or it was never set)."""
    from django.utils import timezone

    days = current_policy().password_max_age_days
    if not days:
        return False
    changed = user.password_changed_at
    return changed is None or timezone.now() - changed > timedelta(days=days)
