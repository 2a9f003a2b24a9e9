"""PostgreSQL: a submission's writes as one function call, and a unit's first report
through the API as one (safecampus_report_submit, below).

After its checks, a submission appends its receipt to the audit chain, inserts the
report, updates the day's status row and moves one count in each ancestor's
counters: on PostgreSQL six round trips while the chain's lock is held (lock,
head, entry, report, status, counters), in a transaction that locked the status
row first. `safecampus_report_append` makes them one statement, which is its own
transaction: it locks the status row, checks that it is still as the caller read
it (without a lock), and writes, with plans the database keeps between calls;
bench/reports_submit.py measures it.
reports.services calls it on PostgreSQL and runs the same writes as plain
statements on SQLite; the report tests run on both. Both functions write with the
same text (_writes), the audit chain's statements written into their bodies
(audit/pgsql.append_statements) rather than called: a PL/pgSQL call costs.

Python's constants are written into the functions when a migration installs them
(the statuses, ROLLUP_DEPTH, Unit.steplen, orgs.access.PATH_END): changing one needs a
migration that installs the functions again (install, install_submit).
"""

from django.db.backends.base.base import BaseDatabaseWrapper

from safecampus.audit.pgsql import append_statements
from safecampus.lib.sql import execute_on_postgresql
from safecampus.orgs.access import PATH_END
from safecampus.orgs.models import Unit

from .models import ROLLUP_DEPTH, Status

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

# After the checks, a submission's writes, for a PL/pgSQL body (both functions here):
# %(name)s are the values, as parameters or variables; the report's id, its receipt's
# seq and hash go into %(report_id)s, %(seq)s and %(hash)s. The body declares
# v_entry_id bigint, v_prev varchar and v_path text.
_WRITES = """
    %(append)s
    INSERT INTO reports_dailyreport (unit_id, date, version, schedule_id, zero, items,
        reason, children, submitted_by_id, submitted_at, due_at, late_seconds,
        audit_seq, audit_hash)
    VALUES (%(unit_id)s, %(date)s, %(version)s, %(schedule_id)s, %(zero)s, %(items)s,
        %(reason)s, %(children)s, %(submitted_by_id)s, %(submitted_at)s, %(due_at)s,
        %(late_seconds)s, %(seq)s, %(hash)s)
    RETURNING id INTO %(report_id)s;
    UPDATE reports_reportstatus
        SET status = %(status)s, submitted_at = %(status_at)s, report_id = %(report_id)s
        WHERE id = %(status_id)s;
    IF %(old)s <> %(new)s THEN
        -- Top-down, one row at a time: every writer of the counters locks them in
        -- path order (reports.services.rollup_move), so none deadlocks another.
        FOREACH v_path IN ARRAY %(paths)s LOOP
            UPDATE reports_reportrollup r SET
            %(shift)s
            WHERE r.date = %(date)s
                AND r.unit_id = (SELECT u.id FROM orgs_unit u WHERE u.path = v_path);
        END LOOP;
    END IF;"""

_ENTRY = ["prefix", "at", "actor_id", "actor_label", "ip", "action", "model", "object_id"]
_ENTRY += ["object_repr", "changes"]


def _writes(*, out: str, **names: str) -> str:
    """_WRITES for the function named `out`, whose OUT parameters report_id, entry_seq
    and entry_hash receive the report's id and its receipt."""
    names.update(report_id=f"{out}.report_id", seq=f"{out}.entry_seq", hash=f"{out}.entry_hash")
    # Each counter column moves by (new = it) - (old = it): one static statement.
    shift = ",\n            ".join(
        f"{s} = r.{s} + ({names['new']} = '{s}')::int - ({names['old']} = '{s}')::int"
        for s in Status.values
    )
    append = append_statements(
        **{k: names[k] for k in _ENTRY},
        seq=names["seq"],
        hash=names["hash"],
        prev="v_prev",
        id="v_entry_id",
    )
    return _WRITES % {**names, "append": append.strip(), "shift": shift}


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
    v_entry_id bigint;
    v_prev varchar;
    v_path text;
BEGIN
    -- The row must still be as the caller read it (it may have read it without a
    -- lock): otherwise write nothing and answer NULLs, and the caller decides again.
    SELECT s.status, s.report_id INTO v_status, v_report
        FROM reports_reportstatus s WHERE s.id = p_status_id FOR UPDATE;
    IF NOT FOUND OR v_status <> p_old OR v_report IS DISTINCT FROM p_seen_report THEN
        RETURN;
    END IF;
{
    _writes(
        **{k: f"p_{k}" for k in _ENTRY},
        unit_id="p_unit_id",
        date="p_date",
        version="p_version",
        schedule_id="p_schedule_id",
        zero="p_zero",
        items="p_items",
        reason="p_reason",
        children="p_children",
        submitted_by_id="p_submitted_by_id",
        submitted_at="p_submitted_at",
        due_at="p_due_at",
        late_seconds="p_late_seconds",
        status_id="p_status_id",
        status="p_status",
        new="p_new",
        old="p_old",
        status_at="p_status_at",
        paths="p_paths",
        out=FUNCTION,
    )
}
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


# --- A first report through the API, token to receipt in one statement -------------------
#
# The busiest request there is, a unit's first report of the day through the API, as one
# call: the bearer token, whether its person may report for the unit, the day's status
# row (locked), the decision, the roll-up of the units below it if it has any, and the
# writes (_writes, as FUNCTION's); the caller notes the token's use afterwards. It decides only the plain case and answers NULLs for
# everything else, having written nothing: an administrator, an archived unit, no row
# for the day, an exempt day, a report already there (a second tap, a correction).
# reports.services.report_submit_direct then leaves the request to the usual path, which
# decides again from the start and words any refusal. So each rule here is the usual
# path's own, narrowed, never widened: tests/test_report_direct.py compares the two for
# every person and unit of the test district. Python still builds the audit entry's
# canonical JSON; the four values only the database knows (the actor's id and name, how
# late, the unit's name) go between its pieces, JSON-encoded as Python would.

SUBMIT_FUNCTION = "safecampus_report_submit"

_SUBMIT_ARGS = """
    p_key_hash varchar, p_now timestamptz, p_noted_before timestamptz,
    p_unit bigint, p_date date, p_zero boolean, p_items jsonb, p_reason varchar,
    -- the audit entry: its canonical JSON in five pieces, around the actor's id, the
    -- actor's name, how late and the unit's name; its other fields; the changes but
    -- how late
    p_piece1 text, p_piece2 text, p_piece3 text, p_piece4 text, p_piece5 text,
    p_ip varchar, p_action varchar, p_model varchar, p_object_id varchar, p_changes jsonb,
    -- who may report: these roles in the unit or above it, those in the unit itself
    -- (comma-separated: a text is quicker to send than an array)
    p_manage_roles text, p_reporter_roles text"""

_CREATE_SUBMIT = f"""
CREATE OR REPLACE FUNCTION {SUBMIT_FUNCTION}({_SUBMIT_ARGS},
    OUT report_id bigint, OUT entry_seq bigint, OUT entry_hash varchar,
    OUT person_id bigint, OUT person_username varchar, OUT due_at timestamptz,
    OUT late_seconds integer, OUT schedule_id bigint, OUT children jsonb,
    OUT token_to_note bigint)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_token bigint;
    v_used timestamptz;
    v_person bigint;
    v_admin varchar;
    v_label varchar;
    v_path text;
    v_name varchar;
    v_numchild integer;
    v_archived timestamptz;
    v_status_id bigint;
    v_status varchar;
    v_report bigint;
    v_due timestamptz;
    v_schedule bigint;
    v_late integer;
    v_new varchar;
    v_repr varchar;
    v_paths text[];
    v_entry_id bigint;
    v_prev varchar;
    v_unit_path text;
    v_children jsonb := '{{}}';
BEGIN
    -- The token (api/auth.py's rules: its hash, not expired, the person active).
    SELECT t.id, t.last_used_at, p.id, p.admin_role, left(p.username, 150)
        INTO v_token, v_used, v_person, v_admin, v_label
        FROM orgs_apitoken t JOIN orgs_person p ON p.id = t.person_id
        WHERE t.key_hash = p_key_hash AND t.expires_at > p_now AND p.is_active;
    IF NOT FOUND OR v_admin <> '' THEN
        RETURN;
    END IF;
    SELECT u.path, u.name, u.numchild, u.archived_at
        INTO v_unit_path, v_name, v_numchild, v_archived
        FROM orgs_unit u WHERE u.id = p_unit;
    IF NOT FOUND OR v_archived IS NOT NULL THEN
        RETURN;
    END IF;
    -- reports.services.can_report and orgs.access.unit_visible, narrowed: a manager
    -- role in the unit or above it, or a reporter role in the unit itself, in units
    -- not archived.
    PERFORM 1 FROM orgs_membership m JOIN orgs_unit mu ON mu.id = m.unit_id
        WHERE m.person_id = v_person AND mu.archived_at IS NULL
            AND ((m.role = ANY(string_to_array(p_manage_roles, ','))
                    AND left(v_unit_path, length(mu.path)) = mu.path)
                OR (m.unit_id = p_unit AND m.role = ANY(string_to_array(p_reporter_roles, ','))))
        LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- The day's row, locked: a second tap waits here, then finds the report.
    SELECT s.id, s.status, s.report_id, s.due_at, s.schedule_id
        INTO v_status_id, v_status, v_report, v_due, v_schedule
        FROM reports_reportstatus s WHERE s.unit_id = p_unit AND s.date = p_date
        FOR UPDATE;
    IF NOT FOUND OR v_report IS NOT NULL
            OR v_status NOT IN ('{Status.NOT_DUE.value}', '{Status.MISSING.value}')
            -- The deadline marked it missing while this waited for the row, after the
            -- caller read its clock: the usual path decides again, by a later clock.
            OR (v_status = '{Status.MISSING.value}' AND p_now < v_due) THEN
        RETURN;
    END IF;
    v_late := greatest(0, floor(extract(epoch FROM p_now - v_due)))::integer;
    v_new := CASE WHEN v_late > 0 THEN '{Status.LATE.value}' ELSE '{Status.ON_TIME.value}' END;
    v_repr := left(v_name, 200);
    -- A unit with units below it reports with their statuses counted
    -- (reports.services._children_rollup).
    IF v_numchild > 0 THEN
        SELECT jsonb_object_agg(c.status, c.n) INTO v_children
            FROM (SELECT s.status, count(*) AS n FROM reports_reportstatus s
                WHERE s.date = p_date AND s.path >= v_unit_path
                    AND s.path < v_unit_path || '{PATH_END}'
                    AND length(s.path) = length(v_unit_path) + {Unit.steplen}
                GROUP BY s.status) c;
    END IF;
    -- the ancestors' counters (reports.services._ancestor_paths)
    v_paths := ARRAY(SELECT left(v_unit_path, {Unit.steplen} * d) FROM generate_series(1,
        least(length(v_unit_path) / {Unit.steplen}, {ROLLUP_DEPTH})) d ORDER BY d);
{
    _writes(
        prefix="p_piece1 || v_person || p_piece2 || to_json(v_label)::text || p_piece3 "
        "|| v_late || p_piece4 || to_json(v_repr)::text || p_piece5",
        at="p_now",
        actor_id="v_person",
        actor_label="v_label",
        ip="p_ip",
        action="p_action",
        model="p_model",
        object_id="p_object_id",
        object_repr="v_repr",
        changes="p_changes || jsonb_build_object('late_s', v_late)",
        unit_id="p_unit",
        date="p_date",
        version="1",
        schedule_id="v_schedule",
        zero="p_zero",
        items="p_items",
        reason="p_reason",
        children="coalesce(v_children, '{}')",
        submitted_by_id="v_person",
        submitted_at="p_now",
        due_at="v_due",
        late_seconds="v_late",
        status_id="v_status_id",
        status="v_new",
        new="v_new",
        old="v_status",
        status_at="p_now",
        paths="v_paths",
        out=SUBMIT_FUNCTION,
    )
}
    -- api/auth.py's bookkeeping, the token's last use every few minutes, is the
    -- caller's, after this transaction: not while every submission waits on the chain.
    IF v_used IS NULL OR v_used < p_noted_before THEN
        token_to_note := v_token;
    END IF;
    person_id := v_person;
    person_username := v_label;
    due_at := v_due;
    late_seconds := v_late;
    schedule_id := v_schedule;
    children := coalesce(v_children, '{{}}');
END $$
"""  # noqa: S608 (constants of this module, no input)

_DROP_SUBMIT = (
    f"DROP FUNCTION IF EXISTS {SUBMIT_FUNCTION}(varchar, timestamptz, timestamptz, bigint, "
    "date, boolean, jsonb, varchar, text, text, text, text, text, varchar, varchar, varchar, "
    "varchar, jsonb, text, text)"
)


def install_submit(connection: BaseDatabaseWrapper) -> None:
    # Dropped first: CREATE OR REPLACE cannot change what a function answers.
    execute_on_postgresql(connection, _DROP_SUBMIT)
    execute_on_postgresql(connection, _CREATE_SUBMIT)


def remove_submit(connection: BaseDatabaseWrapper) -> None:
    execute_on_postgresql(connection, _DROP_SUBMIT)
