"""PostgreSQL: appending to the chain as one statement.

On PostgreSQL an append is a lock (the advisory lock that orders every writer of
the chain), a read of the chain's head and an insert: three round trips while
the lock is held. `safecampus_audit_append` does the three in the database, in
one call, with plans it keeps between calls. Python still builds the entry and
its canonical JSON (audit.services.hash_prefix); the function adds the two
fields only the chain knows, `prev_hash` and `seq`, which sort last, and hashes.
`audit verify` checks every hash in Python, whichever way the entry was written.

SQLite needs none of this: a writer holds the whole database (IMMEDIATE
transactions), and audit.services appends with plain statements.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

from safecampus.lib.sql import execute_on_postgresql

from .services import APPEND_FUNCTION as FUNCTION
from .services import CHAIN_LOCK, GENESIS

# The append's statements, the body of this PL/pgSQL function: %(name)s are the entry's values, as parameters or
# variables; the new entry's seq, hash and prev_hash go into %(seq)s, %(hash)s and
# %(prev)s, its id into %(id)s.
_STATEMENTS = """
    PERFORM pg_advisory_xact_lock(%(lock)s);
    -- A new snapshot for this statement: it sees every append committed before
    -- the lock was granted.
    SELECT e.seq, e.hash INTO %(seq)s, %(prev)s
        FROM audit_auditentry e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        %(seq)s := 0;
        %(prev)s := '%(genesis)s';
    END IF;
    %(seq)s := %(seq)s + 1;
    %(hash)s := encode(sha256(convert_to(
        %(prefix)s || '"prev_hash":"' || %(prev)s || '","seq":' || %(seq)s || '}',
        'UTF8')), 'hex');
    INSERT INTO audit_auditentry (seq, at, actor_id, actor_label, ip, action, model,
        object_id, object_repr, changes, prev_hash, hash)
    VALUES (%(seq)s, %(at)s, %(actor_id)s, %(actor_label)s, %(ip)s, %(action)s, %(model)s,
        %(object_id)s, %(object_repr)s, %(changes)s, %(prev)s, %(hash)s)
    RETURNING id INTO %(id)s;"""


def append_statements(**names: str) -> str:
    """The append for a PL/pgSQL body, its values and targets named (see _STATEMENTS)."""
    return _STATEMENTS % {"lock": CHAIN_LOCK, "genesis": GENESIS, **names}


_CREATE = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(
    p_prefix text, p_at timestamptz, p_actor_id bigint, p_actor_label varchar,
    p_ip varchar, p_action varchar, p_model varchar, p_object_id varchar,
    p_object_repr varchar, p_changes jsonb,
    OUT entry_id bigint, OUT entry_seq bigint, OUT entry_hash varchar,
    OUT entry_prev varchar)
LANGUAGE plpgsql
-- The same plan every call: PostgreSQL would otherwise re-plan some statements each
-- time, which costs more than running them.
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
{
    append_statements(
        prefix="p_prefix",
        at="p_at",
        actor_id="p_actor_id",
        actor_label="p_actor_label",
        ip="p_ip",
        action="p_action",
        model="p_model",
        object_id="p_object_id",
        object_repr="p_object_repr",
        changes="p_changes",
        seq="entry_seq",
        hash="entry_hash",
        prev="entry_prev",
        id="entry_id",
    )
}
END $$
"""  # noqa: S608 (constants of this module, no input)

_DROP = (
    f"DROP FUNCTION IF EXISTS {FUNCTION}(text, timestamptz, bigint, varchar, varchar, "
    "varchar, varchar, varchar, varchar, jsonb)"
)


def install(connection: BaseDatabaseWrapper) -> None:
    execute_on_postgresql(connection, _CREATE)


def remove(connection: BaseDatabaseWrapper) -> None:
    execute_on_postgresql(connection, _DROP)
