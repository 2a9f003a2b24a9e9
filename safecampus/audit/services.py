"""Writing to the audit trail, and checking that it is intact."""

import contextvars
import datetime as dt
import decimal
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.lib.sql import pg_values, prepared_cursor

from .models import AuditEntry

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that orders writers of the chain.
CHAIN_LOCK = 7_205_001


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str
    ip: str = ""


_request_var: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)
_actor_var: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


def client_ip(request: Any) -> str:
    from django.conf import settings

    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:45]
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


@contextmanager
def request_context(request: Any) -> Iterator[None]:
    token = _request_var.set(request)
    try:
        yield
    finally:
        _request_var.reset(token)


@contextmanager
def acting_as(label: str, person: Any = None) -> Iterator[None]:
    """Attribute changes made outside a request (a command, the worker) to someone."""
    actor = Actor(id=getattr(person, "pk", None), label=str(person or label))
    token = _actor_var.set(actor)
    try:
        yield
    finally:
        _actor_var.reset(token)


def current_actor() -> Actor:
    actor = _actor_var.get()
    if actor is not None:
        return actor
    request = _request_var.get()
    if request is None:
        return Actor(id=None, label="system")
    user = getattr(request, "user", None)
    ip = client_ip(request)
    if user is not None and user.is_authenticated:
        return Actor(id=user.pk, label=user.get_username(), ip=ip)
    return Actor(id=None, label="anonymous", ip=ip)


def jsonable(value: Any) -> Any:
    """A value as it is hashed: only types that survive a JSON round trip unchanged."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time | uuid.UUID | decimal.Decimal | float):
        return str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    ip: str,
    action: str,
    model: str,
    object_id: str,
    object_repr: str,
    changes: dict,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        "at": jsonable(at),
        "actor_id": actor_id,
        "actor_label": actor_label,
        "ip": ip,
        "action": action,
        "model": model,
        "object_id": object_id,
        "object_repr": object_repr,
        "changes": changes,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def hash_prefix(entry: dict[str, Any]) -> str:
    """The canonical JSON of an entry without `prev_hash` and `seq`, open at the end:
    those two keys sort last, so the entry's hash is sha256(prefix + '"prev_hash":"…",
    "seq":N}'). Lets the database add what only the chain knows (audit/pgsql.py)."""
    payload = {k: v for k, v in entry.items() if k not in ("seq", "prev_hash", "hash")}
    payload["at"] = jsonable(payload["at"])
    return _canonical(payload)[:-1] + ","


def hash_prefix_around(entry: dict[str, Any], holes: list[str]) -> list[str] | None:
    """hash_prefix(entry) cut around placeholders, for a database function that knows
    some values only as it writes (reports/pgsql.py): `holes` are strings standing in
    for them, in the order they come in the canonical JSON. Answers the pieces between
    them (one more than the holes), to be joined with each value JSON-encoded; None if
    a placeholder is not there exactly once (the entry's own text holds one)."""
    rest = hash_prefix(entry)
    pieces = []
    for hole in holes:
        quoted = json.dumps(hole)
        head, found, rest = rest.partition(quoted)
        if not found or quoted in rest:
            return None
        pieces.append(head)
    pieces.append(rest)
    return pieces


def chain_lock() -> None:
    """Take the chain's lock now rather than at the append (PostgreSQL; held until
    COMMIT), for a writer that must lock something else which appenders lock after
    the chain. SQLite: the writer already holds the whole database."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def audit_pending(
    *,
    action: str,
    model: str = "",
    object_id: Any = "",
    object_repr: str = "",
    changes: dict | None = None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """An entry's fields before the chain gives it its place (seq, prev_hash, hash)."""
    actor = actor or current_actor()
    return {
        "at": timezone.now(),
        "actor_id": actor.id,
        "actor_label": actor.label[:150],
        "ip": actor.ip,
        "action": action,
        "model": model,
        "object_id": str(object_id)[:64],
        "object_repr": str(object_repr)[:200],
        "changes": jsonable(changes or {}),
    }


def audit_record(
    *,
    action: str,
    model: str = "",
    object_id: Any = "",
    object_repr: str = "",
    changes: dict | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    """Append one entry to the chain, in the caller's transaction."""
    return audit_append(
        audit_pending(
            action=action,
            model=model,
            object_id=object_id,
            object_repr=object_repr,
            changes=changes,
            actor=actor,
        )
    )


def append_params(pending: dict[str, Any]) -> list[Any]:
    """The arguments of the database's append function (audit/pgsql.py), in order."""
    return [hash_prefix(pending), *_pending_values(pending.__getitem__)]


# Called with the arguments of append_params; answers the new entry's id, seq, hash and
# prev_hash.
APPEND_FUNCTION = "safecampus_audit_append"
_APPEND_CALL = (
    f"SELECT entry_id, entry_seq, entry_hash, entry_prev FROM {APPEND_FUNCTION}"  # noqa: S608
    f"({', '.join(['%s'] * 10)})"
)


def audit_append(pending: dict[str, Any]) -> AuditEntry:
    """Append an entry made by audit_pending, in the caller's transaction."""
    # Inside the caller's transaction no savepoint is needed: an error here fails it.
    if connection.vendor == "postgresql":
        # Lock, head and insert in one round trip (audit/pgsql.py).
        with transaction.atomic(savepoint=False), prepared_cursor() as cursor:
            cursor.execute(_APPEND_CALL, append_params(pending))
            pk, seq, hash_, prev_hash = cursor.fetchone()
        return AuditEntry(pk=pk, seq=seq, prev_hash=prev_hash, hash=hash_, **pending)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # SQLite transactions are IMMEDIATE (settings): this writer already holds the
        # database's write lock, so no other can append after the same head.
        cursor.execute(_HEAD_SQL)
        last = cursor.fetchone()
        fields = {
            "seq": last[0] + 1 if last else 1,
            **pending,
            "prev_hash": last[1] if last else GENESIS,
        }
        fields["hash"] = entry_hash(**fields)
        cursor.execute(
            _APPEND_SQL,
            [
                AuditEntry._meta.get_field(name).get_db_prep_save(fields[name], connection)
                for name in _APPEND_COLUMNS
            ],
        )
        (pk,) = cursor.fetchone()
        return AuditEntry(pk=pk, **fields)


_HEAD_SQL = "SELECT seq, hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1"
_APPEND_COLUMNS = [
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "ip",
    "action",
    "model",
    "object_id",
    "object_repr",
    "changes",
    "prev_hash",
    "hash",
]
# An entry's columns before the chain gives it its place (audit_pending's keys).
_PENDING_COLUMNS = [c for c in _APPEND_COLUMNS if c not in ("seq", "prev_hash", "hash")]
_pending_values = pg_values([AuditEntry._meta.get_field(c) for c in _PENDING_COLUMNS])
# Fixed column names; the values are parameters.
_APPEND_SQL = (
    f"INSERT INTO audit_auditentry ({', '.join(_APPEND_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_APPEND_COLUMNS))}) RETURNING id"
)


@dataclass(frozen=True)
class RecordedHead:
    """A chain head copied outside the table: the daily message to the auditors, or a
    receipt handed out (a daily report's receipt is its entry's seq and hash). `hash`
    may be a prefix of at least HEAD_HASH_MIN characters (what receipts show)."""

    seq: int
    hash: str
    source: str


@dataclass(frozen=True)
class HeadProblem:
    head: RecordedHead
    # "cut_off": beyond the table's last entry; "missing": no entry with that seq below
    # it; "mismatch": the entry's hash is another.
    kind: str
    message: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    head: str = GENESIS
    # What broke the chain: "missing", "out_of_order", "unlinked", "changed"; "" if intact.
    kind: str = ""
    # The last entry that verified: its seq (the head's).
    head_seq: int = 0
    heads_checked: int = 0
    head_problems: tuple[HeadProblem, ...] = ()
    # A recorded head lies beyond the table's last entry: the end was cut off.
    truncated: bool = False

    @property
    def chain_broken(self) -> bool:
        """The chain itself does not hold together (rather than a recorded head)."""
        return self.kind in ("missing", "out_of_order", "unlinked", "changed")


# The shortest hash prefix a recorded head may give: 12 hex characters (48 bits), what a
# receipt prints. Fewer (8 are 32 bits) could be matched by brute force by whoever rewrites
# the tail with access to the database.
HEAD_HASH_MIN = 12
_HEAD_RE = re.compile(rf"(\d+)[^0-9A-Za-z]+([0-9A-Fa-f]{{{HEAD_HASH_MIN},64}})(?![0-9A-Za-z])")
# A run that looks like a hash (even a too-short one): a line holding one is a head, and
# is refused rather than skipped as text when it is not one.
_HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8,64}(?![0-9A-Za-z])")


def heads_parse(text: str) -> list[RecordedHead]:
    """Heads pasted or kept in a file: one per line, a sequence number then its hash (or
    the first HEAD_HASH_MIN (12) or more characters of it), e.g. `1234 9f2c…` as the daily message and a
    receipt show them; text around them is allowed, so a whole message can be pasted.
    Lines without a hash-like run of hex digits are text and skipped; a line with one but
    no sequence number before it is refused, naming the line."""
    heads = []
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        match = _HEAD_RE.search(line)
        if match is None:
            if _HEX_RUN.search(line):
                bad.append(number)
            continue
        if len(match.group(1)) > 18:  # no such entry: a number copied wrong
            bad.append(number)
            continue
        seq = int(match.group(1))
        if seq == 0:  # the head of an empty trail: nothing to hold it to
            continue
        heads.append(
            RecordedHead(
                seq=seq,
                hash=match.group(2).lower(),
                source=_("line %(n)d") % {"n": number},
            )
        )
    if bad:
        raise ValidationError(
            {
                "heads": _(
                    "Line %(lines)s: write the sequence number, then the hash or at least "
                    "its first %(min)d characters (e.g. 1234 9f2c61d0a4b7…)."
                )
                % {"lines": ", ".join(str(n) for n in bad), "min": HEAD_HASH_MIN}
            }
        )
    return heads


def _head_problems(heads: list[RecordedHead], last_seq: int) -> list[HeadProblem]:
    stored: dict[int, str] = {}
    seqs = sorted({h.seq for h in heads})
    for i in range(0, len(seqs), 500):
        stored.update(
            AuditEntry.objects.filter(seq__in=seqs[i : i + 500]).values_list("seq", "hash")
        )
    problems = []
    for head in sorted(heads, key=lambda h: (h.seq, h.source)):
        found = stored.get(head.seq)
        if found is None and head.seq > last_seq:
            message = _(
                "entry %(seq)d (%(source)s) is missing: the trail ends at entry "
                "%(last)d, everything after it was cut off"
            ) % {"seq": head.seq, "source": head.source, "last": last_seq}
            problems.append(HeadProblem(head, "cut_off", message))
        elif found is None:
            message = _("entry %(seq)d (%(source)s) is missing") % {
                "seq": head.seq,
                "source": head.source,
            }
            problems.append(HeadProblem(head, "missing", message))
        elif len(head.hash) < HEAD_HASH_MIN or not found.startswith(head.hash):
            message = _(
                "entry %(seq)d does not match the hash recorded in %(source)s: it was rewritten"
            ) % {"seq": head.seq, "source": head.source}
            problems.append(HeadProblem(head, "mismatch", message))
    return problems


def audit_verify(heads: list[RecordedHead] | None = None) -> VerifyResult:
    """Walk the chain in order and name the first entry that does not fit; then check
    every head recorded outside the table (`heads`) against it. The chain alone cannot
    see its end cut off: only a head recorded elsewhere can."""
    chain = _chain_verify()
    if not heads:
        return chain
    last_seq = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    problems = _head_problems(heads, last_seq)
    if not problems:
        return replace(chain, heads_checked=len(heads))
    truncated = any(p.kind == "cut_off" for p in problems)
    if chain.ok:
        first = problems[0]
        return replace(
            chain,
            ok=False,
            broken_seq=first.head.seq,
            reason=first.message,
            kind="truncated" if truncated else f"head_{first.kind}",
            heads_checked=len(heads),
            head_problems=tuple(problems),
            truncated=truncated,
        )
    return replace(
        chain, heads_checked=len(heads), head_problems=tuple(problems), truncated=truncated
    )


def _chain_verify() -> VerifyResult:
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    columns = _APPEND_COLUMNS
    rows = AuditEntry.objects.order_by("seq").values_list(*columns).iterator(chunk_size=2000)

    def broken(seq: int, kind: str, reason: str) -> VerifyResult:
        return VerifyResult(
            False, checked, seq, reason, prev_hash, kind=kind, head_seq=expected_seq - 1
        )

    for row in rows:
        entry = dict(zip(columns, row, strict=True))
        stored_hash = entry.pop("hash")
        seq = entry["seq"]
        if seq > expected_seq:
            return broken(
                seq,
                "missing",
                _("entries %(first)d–%(last)d are missing")
                % {"first": expected_seq, "last": seq - 1},
            )
        if seq != expected_seq:
            return broken(seq, "out_of_order", _("entry %(seq)d is out of order") % {"seq": seq})
        if entry["prev_hash"] != prev_hash:
            return broken(seq, "unlinked", _("it does not follow the entry before it"))
        if entry_hash(**entry) != stored_hash:
            return broken(seq, "changed", _("its content was changed"))
        prev_hash = stored_hash
        expected_seq += 1
        checked += 1
    return VerifyResult(True, checked, None, "", prev_hash, head_seq=expected_seq - 1)
