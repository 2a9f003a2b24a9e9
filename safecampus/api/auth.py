"""Bearer tokens for the API: POST /api/v1/auth/token, then `Authorization: Bearer <token>`."""

import hashlib
from datetime import timedelta
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from safecampus.lib.sql import fetch_one
from safecampus.orgs.models import ApiToken, Person

# Every API request runs this: one statement, written out once (bench/reports_submit.py).
# The person's columns, and whether the token's last use is old enough to note again.
_BEARER_SQL = (
    "SELECT p.*, t.id AS token_id, "
    "CASE WHEN t.last_used_at IS NULL OR t.last_used_at < %s THEN 1 ELSE 0 END AS token_stale "
    "FROM orgs_apitoken t JOIN orgs_person p ON p.id = t.person_id "
    "WHERE t.key_hash = %s AND t.expires_at > %s AND p.is_active"
)
USE_NOTED_EVERY = timedelta(minutes=5)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        person = fetch_one(Person, _BEARER_SQL, [adapt(now - USE_NOTED_EVERY), digest, adapt(now)])
        if person is None:
            return None
        if person.token_stale:
            # Bookkeeping, not a change of record: a plain UPDATE, no audit entry.
            ApiToken.objects.filter(pk=person.token_id).update(last_used_at=now)
        request.user = person
        return person
