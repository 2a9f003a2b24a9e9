"""PostgreSQL: a submission's writes as one function call.

After its checks, a submission appends its receipt to the audit chain, inserts the
report, updates the day's status row and moves one count in each ancestor's
counters: on PostgreSQL six round trips while the chain's lock is held (lock,
head, entry, report, status, counters), in a transaction that locked the status
row first. `safecampus_report_append` makes them one statement, which is its own
transaction: it locks the status row, checks that it is still as the caller read
it (without a lock), and writes, with plans the database keeps between calls;
bench/reports_submit.py measures it.
reports.services calls it on PostgreSQL and runs the same writes as plain
statements on SQLite; the report tests run on both.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

from safecampus.audit.pgsql import FUNCTION as AUDIT_APPEND
from safecampus.lib.sql import execute_on_postgresql

from .models import Status

FUNCTION = "safecampus_report_append"

_ARGS = """
    -- the audit entry (audit.services.append_params)
    p_prefix text, p_at timestamptz, p_actor_id bigint, p_actor_label varchar,
    p_ip varchar, p_action varchar, p_model varchar, p_object_id varchar,
    p_object_repr varchar, p_changes jsonb,
    -- the report, its receipt aside
    p_unit_id bigint, p_date date, p_version integer, p_schedule_id bigint,
    p_zero boolean, p_items jsonb, p_reason varchar, p_children jsonb,
    p_submitted_by_id bigint, p_submitted_at timestamptz, p_due_at timestamptz,
    p_late_seconds integer,
    -- the day's status row as the caller read it (its status p_old, its report
    -- p_seen_report), what it becomes, and the ancestors' counters: one count from
    -- p_old to p_new
    p_status_id bigint, p_status varchar, p_status_at timestamptz,
    p_old varchar, p_new varchar, p_paths text[], p_seen_report bigint"""

# Each counter column moves by (p_new = it) - (p_old = it): one static statement.
_SHIFT = ",\n        ".join(
    f"{s} = r.{s} + (p_new = '{s}')::int - (p_old = '{s}')::int" for s in Status.values
)

_CREATE = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}({_ARGS},
    OUT report_id bigint, OUT entry_seq bigint, OUT entry_hash varchar)
LANGUAGE plpgsql
-- The same plan every call: PostgreSQL would otherwise re-plan some statements each
-- time, which costs more than running them.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_status varchar;
    v_report bigint;
    v_path text;
BEGIN
    -- The row must still be as the caller read it (it may have read it without a
    -- lock): otherwise write nothing and answer NULLs, and the caller decides again.
    SELECT s.status, s.report_id INTO v_status, v_report
        FROM reports_reportstatus s WHERE s.id = p_status_id FOR UPDATE;
    IF NOT FOUND OR v_status <> p_old OR v_report IS DISTINCT FROM p_seen_report THEN
        RETURN;
    END IF;
    SELECT a.entry_seq, a.entry_hash INTO entry_seq, entry_hash
        FROM {AUDIT_APPEND}(p_prefix, p_at, p_actor_id, p_actor_label, p_ip, p_action,
            p_model, p_object_id, p_object_repr, p_changes) a;
    INSERT INTO reports_dailyreport (unit_id, date, version, schedule_id, zero, items,
        reason, children, submitted_by_id, submitted_at, due_at, late_seconds,
        audit_seq, audit_hash)
    VALUES (p_unit_id, p_date, p_version, p_schedule_id, p_zero, p_items, p_reason,
        p_children, p_submitted_by_id, p_submitted_at, p_due_at, p_late_seconds,
        entry_seq, entry_hash)
    RETURNING id INTO report_id;
    UPDATE reports_reportstatus
        SET status = p_status, submitted_at = p_status_at, report_id = {FUNCTION}.report_id
        WHERE id = p_status_id;
    IF p_old <> p_new THEN
        -- Top-down, one row at a time: every writer of the counters locks them in
        -- path order (reports.services.rollup_move), so none deadlocks another.
        FOREACH v_path IN ARRAY p_paths LOOP
            UPDATE reports_reportrollup r SET
            {_SHIFT}
            WHERE r.date = p_date
                AND r.unit_id = (SELECT u.id FROM orgs_unit u WHERE u.path = v_path);
        END LOOP;
    END IF;
END $$
"""  # noqa: S608 (constants of this module, no input)

_DROP = (
    f"DROP FUNCTION IF EXISTS {FUNCTION}(text, timestamptz, bigint, varchar, varchar, "
    "varchar, varchar, varchar, varchar, jsonb, bigint, date, integer, bigint, boolean, "
    "jsonb, varchar, jsonb, bigint, timestamptz, timestamptz, integer, bigint, varchar, "
    "timestamptz, varchar, varchar, text[], bigint)"
)


def install(connection: BaseDatabaseWrapper) -> None:
    execute_on_postgresql(connection, _CREATE)


def remove(connection: BaseDatabaseWrapper) -> None:
    execute_on_postgresql(connection, _DROP)
