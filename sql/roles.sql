-- Least-privilege group roles for hivejob, applied by an operator who owns
-- the schema's objects (or a superuser) and may create roles:
--
--     psql -v schema=public -f sql/roles.sql
--
-- Run it after `hivejobctl migrate`, and again after each migration that
-- adds tables or functions. Running it twice changes nothing.
--
-- The three roles are NOLOGIN groups; grant them to login users:
--
--     CREATE ROLE hub_worker LOGIN PASSWORD '...' IN ROLE hivejob_supervisor;
--     CREATE ROLE hub_api LOGIN PASSWORD '...' IN ROLE hivejob_enqueue;
--     CREATE ROLE oncall LOGIN PASSWORD '...' IN ROLE hivejob_readonly;
--
-- hivejob_supervisor  what hivejobd needs: the job, queue, lease, leader and
--                     periodic tables, the hivejob_* functions, and the tables
--                     the built-in kinds' load and apply functions touch
--                     (they run with the caller's rights). No DDL, and not
--                     River's river_leader or river_client*. `hivejobctl
--                     migrate` needs the schema's owner instead.
-- hivejob_enqueue     INSERT into river_job (RETURNING id, queue, state)
--                     and pg_notify; no UPDATE, DELETE or other table.
-- hivejob_readonly    SELECT on every River and hivejob table, except the
--                     webhook secrets (webhooks.secret, previous_secret).
--
-- A custom kind's load or apply function, and the tables it touches, must
-- be granted to hivejob_supervisor separately. Before PostgreSQL 15, PUBLIC
-- may CREATE in schema public: REVOKE CREATE ON SCHEMA public FROM PUBLIC
-- for "no DDL" to hold there.

\set ON_ERROR_STOP on
\if :{?schema}
\else
DO $$ BEGIN RAISE EXCEPTION 'roles.sql: set the schema: psql -v schema=public -f sql/roles.sql'; END $$;
\endif

BEGIN;

-- The DO blocks below cannot see psql variables: pass the schema this way.
SELECT set_config('hivejob.schema', :'schema', true) AS schema;

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['hivejob_supervisor', 'hivejob_enqueue',
                             'hivejob_readonly'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;   -- created concurrently by another run
            END;
        END IF;
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA :"schema"
    TO hivejob_supervisor, hivejob_enqueue, hivejob_readonly;

-- hivejob_supervisor ------------------------------------------------------

GRANT SELECT ON :"schema".river_migration TO hivejob_supervisor;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    :"schema".river_job,
    :"schema".river_queue,
    :"schema".hivejob_supervisor,
    :"schema".hivejob_leader,
    :"schema".hivejob_periodic
    TO hivejob_supervisor;
GRANT USAGE ON SEQUENCE :"schema".river_job_id_seq TO hivejob_supervisor;

-- What the built-in kinds' load and apply functions do.
GRANT SELECT, UPDATE ON :"schema".webhooks TO hivejob_supervisor;
GRANT INSERT ON :"schema".webhook_deliveries TO hivejob_supervisor;
GRANT USAGE ON SEQUENCE :"schema".webhook_deliveries_id_seq TO hivejob_supervisor;
GRANT SELECT, UPDATE ON :"schema".feedback_records TO hivejob_supervisor;
GRANT SELECT, INSERT, UPDATE ON :"schema".embeddings TO hivejob_supervisor;

-- Every hivejob_* function, and River's river_job_state_in_bitmask (the
-- unique index's predicate). PUBLIC has EXECUTE too unless an operator
-- revoked it; these grants keep working if so.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = current_setting('hivejob.schema')
           AND (p.proname LIKE 'hivejob\_%' OR p.proname = 'river_job_state_in_bitmask')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO hivejob_supervisor', f);
    END LOOP;
END
$$;

-- hivejob_enqueue ---------------------------------------------------------

GRANT INSERT ON :"schema".river_job TO hivejob_enqueue;
-- INSERT ... RETURNING needs SELECT on the columns it returns, and
-- `hivejobctl enqueue --unique-by` reads back a duplicate's id and state.
GRANT SELECT (id, queue, state, unique_key, unique_states)
    ON :"schema".river_job TO hivejob_enqueue;
GRANT USAGE ON SEQUENCE :"schema".river_job_id_seq TO hivejob_enqueue;
GRANT EXECUTE ON FUNCTION
    :"schema".river_job_state_in_bitmask(bit, :"schema".river_job_state)
    TO hivejob_enqueue;

-- hivejob_readonly --------------------------------------------------------

GRANT SELECT ON
    :"schema".river_migration,
    :"schema".river_job,
    :"schema".river_leader,
    :"schema".river_queue,
    :"schema".river_client,
    :"schema".river_client_queue,
    :"schema".river_notification,
    :"schema".hivejob_supervisor,
    :"schema".hivejob_leader,
    :"schema".hivejob_periodic,
    :"schema".webhook_deliveries,
    :"schema".feedback_records,
    :"schema".embeddings
    TO hivejob_readonly;
-- Every column of webhooks but the secrets.
GRANT SELECT (id, url, previous_secret_expires_at, event_types, enabled,
              created_at, last_status, last_error, last_attempt_at,
              last_success_at, first_failure_at, consecutive_failures,
              disabled_at, disabled_reason)
    ON :"schema".webhooks TO hivejob_readonly;

COMMIT;
