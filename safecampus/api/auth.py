"""Bearer tokens for the API: POST /api/v1/auth/token, then `Authorization: Bearer <token>`."""

import functools
import hashlib
from datetime import timedelta
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from safecampus.lib.sql import fetch_one, select_list
from safecampus.orgs import access
from safecampus.orgs.models import ApiToken, Person

# Every API request runs this: one statement, written out once (bench/reports_submit.py).
# The person's columns, whether the token's last use is old enough to note again, and
# the person's memberships ("path:role,…", the same rows as orgs.access._SCOPE_SQL).
_BEARER_SQL = (
    f"SELECT {select_list(Person, 'p')}, t.id AS token_id, "  # noqa: S608
    "CASE WHEN t.last_used_at IS NULL OR t.last_used_at < %s THEN 1 ELSE 0 END AS token_stale, "
    "(SELECT {agg}(u.path || ':' || m.role, ',') FROM orgs_membership m "
    "JOIN orgs_unit u ON u.id = m.unit_id "
    "WHERE m.person_id = p.id AND u.archived_at IS NULL) AS scope_rows "
    "FROM orgs_apitoken t JOIN orgs_person p ON p.id = t.person_id "
    "WHERE t.key_hash = %s AND t.expires_at > %s AND p.is_active "
    # A reset deletes the account's tokens and the token endpoint issues none until the
    # holder has chosen a new password (orgs.passwords.password_must_change): belt and braces.
    "AND NOT p.must_change_password"
)
_AGGREGATE = {"postgresql": "string_agg", "sqlite": "group_concat"}
USE_NOTED_EVERY = timedelta(minutes=5)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        digest = token_digest(token)
        now = timezone.now()
        adapt = connection.ops.adapt_datetimefield_value
        sql = _sql(connection.vendor)
        params = [adapt(now - USE_NOTED_EVERY), digest, adapt(now)]
        person = fetch_one(Person, sql, params)
        if person is None:
            return None
        access.remember_scope(
            person, [m.split(":", 1) for m in (person.scope_rows or "").split(",") if m]
        )
        if person.token_stale:
            # Bookkeeping, not a change of record: a plain UPDATE, no audit entry.
            ApiToken.objects.filter(pk=person.token_id).update(last_used_at=now)
        request.user = person
        return person


def token_digest(token: str) -> str:
    """What the database keeps of a token (ApiToken.key_hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _sql(vendor: str) -> str:
    return _BEARER_SQL.format(agg=_AGGREGATE[vendor])
