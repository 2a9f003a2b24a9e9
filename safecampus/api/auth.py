"""Bearer tokens for the API: POST /api/v1/auth/token, then `Authorization: Bearer <token>`."""

import hashlib
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from safecampus.orgs.models import ApiToken


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = (
            ApiToken.objects.select_related("person")
            .filter(key_hash=digest, expires_at__gt=timezone.now(), person__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=5):
            # Bookkeeping, not a change of record: a plain UPDATE, no audit entry.
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.person
        return found.person
