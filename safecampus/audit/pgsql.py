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
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    -- A new snapshot for this statement: it sees every append committed before
    -- the lock was granted.
    SELECT e.seq, e.hash INTO entry_seq, entry_prev
        FROM audit_auditentry e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        entry_seq := 0;
        entry_prev := '{GENESIS}';
    END IF;
    entry_seq := entry_seq + 1;
    entry_hash := encode(sha256(convert_to(
        p_prefix || '"prev_hash":"' || entry_prev || '","seq":' || entry_seq || '}}',
        'UTF8')), 'hex');
    INSERT INTO audit_auditentry (seq, at, actor_id, actor_label, ip, action, model,
        object_id, object_repr, changes, prev_hash, hash)
    VALUES (entry_seq, p_at, p_actor_id, p_actor_label, p_ip, p_action, p_model,
        p_object_id, p_object_repr, p_changes, entry_prev, entry_hash)
    RETURNING id INTO entry_id;
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
