-- hivejob line, version 3: leases, leadership, rescue, retention, periodic
-- jobs. Everything a crash must not lose lives in logged tables: after an
-- immediate restart of Postgres, unlogged tables come back empty.

-- Leadership among hivejob supervisors only. River's river_leader row also
-- carries River's periodic jobs, so a Go client in the same schema keeps it.
CREATE TABLE hivejob_leader (
    name text PRIMARY KEY DEFAULT 'default' CHECK (name = 'default'),
    leader_id text NOT NULL,
    elected_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

-- Durable periodic jobs: the next run of each schedule, moved forward in the
-- same transaction that enqueues a run, so a run is never doubled or lost
-- across restarts and changes of leader.
CREATE TABLE hivejob_periodic (
    name text PRIMARY KEY,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_job_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Take the lease for p_id. Refused while another live supervisor holds it,
-- unless that holder is p_dead_pid on our own host (a predecessor the
-- caller saw is gone), or while a live supervisor on this host uses an
-- overlapping uid range. Returns 'ok', or why not.
CREATE FUNCTION hivejob_lease_acquire(p_id text, p_host text, p_pid integer,
    p_version text, p_uid_base bigint, p_uid_count integer, p_lease double precision,
    p_dead_pid integer)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    s hivejob_supervisor%ROWTYPE;
BEGIN
    -- Serialise acquirers: the overlap check must see every live lease.
    PERFORM pg_advisory_xact_lock(hashtext('hivejob lease'));
    SELECT * INTO s FROM hivejob_supervisor WHERE id = p_id FOR UPDATE;
    IF FOUND AND s.lease_expires_at > now()
       AND NOT (s.host = p_host AND s.pid IN (p_pid, p_dead_pid)) THEN
        RETURN format('supervisor id "%s" is held by a live supervisor on host %s, pid %s'
            ' (lease until %s)', p_id, s.host, s.pid, s.lease_expires_at);
    END IF;
    SELECT * INTO s FROM hivejob_supervisor
     WHERE id <> p_id AND host = p_host AND lease_expires_at > now()
       AND uid_base < p_uid_base + p_uid_count AND p_uid_base < uid_base + uid_count
     LIMIT 1;
    IF FOUND THEN
        RETURN format('job uids %s-%s overlap those of live supervisor "%s" on this host'
            ' (pid %s, uids %s-%s): their slot sweeps would kill each other''s jobs',
            p_uid_base, p_uid_base + p_uid_count - 1, s.id, s.pid, s.uid_base,
            s.uid_base + s.uid_count - 1);
    END IF;
    INSERT INTO hivejob_supervisor (id, host, pid, version, uid_base, uid_count,
        started_at, heartbeat_at, lease_expires_at, leader, children)
    VALUES (p_id, p_host, p_pid, p_version, p_uid_base, p_uid_count, now(), now(),
        now() + p_lease * interval '1 second', false, '[]')
    ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
        version = EXCLUDED.version, uid_base = EXCLUDED.uid_base,
        uid_count = EXCLUDED.uid_count,
        started_at = CASE WHEN hivejob_supervisor.pid = EXCLUDED.pid
                     THEN hivejob_supervisor.started_at ELSE now() END,
        heartbeat_at = now(), lease_expires_at = EXCLUDED.lease_expires_at,
        leader = false, children = '[]';
    RETURN 'ok';
END;
$$;

-- Renew our lease; false when the row is no longer ours (another process
-- took the id after our lease lapsed): then we must stop.
CREATE FUNCTION hivejob_lease_renew(p_id text, p_pid integer,
    p_lease double precision, p_children jsonb)
RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path FROM CURRENT
AS $$
    UPDATE hivejob_supervisor
       SET heartbeat_at = now(), lease_expires_at = now() + p_lease * interval '1 second',
           children = p_children,
           leader = EXISTS (SELECT 1 FROM hivejob_leader
                             WHERE leader_id = p_id AND expires_at > now())
     WHERE id = p_id AND pid = p_pid
    RETURNING true;
$$;

-- Win or keep leadership. Returns the seconds we have led (0 when just
-- elected), or NULL when somebody else leads.
CREATE FUNCTION hivejob_leader_attempt(p_id text, p_ttl double precision)
RETURNS double precision
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    l hivejob_leader%ROWTYPE;
BEGIN
    DELETE FROM hivejob_leader WHERE expires_at < now();
    INSERT INTO hivejob_leader (leader_id, elected_at, expires_at)
    VALUES (p_id, now(), now() + p_ttl * interval '1 second')
    ON CONFLICT (name) DO NOTHING;
    UPDATE hivejob_leader SET expires_at = now() + p_ttl * interval '1 second'
     WHERE leader_id = p_id AND expires_at >= now()
    RETURNING * INTO l;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN extract(epoch FROM now() - l.elected_at);
END;
$$;

CREATE FUNCTION hivejob_leader_resign(p_id text, p_channel text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
BEGIN
    DELETE FROM hivejob_leader WHERE leader_id = p_id;
    IF FOUND THEN
        PERFORM pg_notify(p_channel, json_build_object('action', 'resigned',
            'leader_id', p_id)::text);
    END IF;
END;
$$;

-- The rescuer: running rows whose last claimer is a hivejob supervisor
-- whose lease has lapsed. Rows claimed by anyone else (a River client in
-- the same schema) are not ours to touch. Each goes through the guarded
-- finish as its owner, so a rescue can never land on a newer attempt.
CREATE FUNCTION hivejob_rescue(p_limit integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        SELECT j.id, j.attempt, s.id AS owner, s.host, s.pid, s.lease_expires_at
          FROM river_job j
          JOIN hivejob_supervisor s ON s.id = j.attempted_by[array_upper(j.attempted_by, 1)]
         WHERE j.state = 'running' AND s.lease_expires_at < now()
         ORDER BY j.id
         LIMIT p_limit
    LOOP
        IF hivejob_finish_one(r.owner, jsonb_build_object('id', r.id,
            'attempt', r.attempt, 'outcome', 'retry',
            'error', format('rescued: supervisor "%s" (host %s, pid %s) stopped renewing'
                ' its lease at %s', r.owner, r.host, r.pid, r.lease_expires_at),
            'meta', jsonb_build_object('class', 'lost', 'rescued_from', r.owner),
            'retry', '{"policy": "exponential", "cap": 3600}'::jsonb)) IS NOT NULL THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END;
$$;

-- Retention, in batches so that no statement runs long: River's defaults
-- are 24 h for completed and cancelled rows and 7 days for discarded ones.
-- Also leases long expired with nothing left running, and queue rows no
-- supervisor has touched for a day.
CREATE FUNCTION hivejob_clean(p_completed double precision,
    p_cancelled double precision, p_discarded double precision, p_batch integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM river_job WHERE id IN (
        SELECT id FROM river_job
         WHERE (state = 'completed' AND finalized_at < now() - p_completed * interval '1 second')
            OR (state = 'cancelled' AND finalized_at < now() - p_cancelled * interval '1 second')
            OR (state = 'discarded' AND finalized_at < now() - p_discarded * interval '1 second')
         LIMIT p_batch
           FOR UPDATE SKIP LOCKED);
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM hivejob_supervisor s
     WHERE s.lease_expires_at < now() - interval '1 day'
       AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.state = 'running'
                        AND j.attempted_by[array_upper(j.attempted_by, 1)] = s.id);
    DELETE FROM river_queue WHERE updated_at < now() - interval '1 day';
    RETURN n;
END;
$$;

-- Move a periodic schedule on from p_expect (its stored next run, the
-- guard) to p_next, and enqueue the run p_run_at (NULL: skip it) in the same
-- transaction: both or neither. Where no row exists yet it is created at
-- p_next without a run (a new schedule starts from now). The unique key is
-- River's: the SHA-256 of p_key, so a second insert of the same run is a
-- no-op even if two leaders ever raced. Returns the job id, or NULL.
CREATE FUNCTION hivejob_periodic_run(p_name text, p_expect timestamptz,
    p_run_at timestamptz, p_next timestamptz, p_kind text, p_args jsonb, p_queue text,
    p_priority integer, p_max_attempts integer, p_key text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    p hivejob_periodic%ROWTYPE;
    jid bigint;
BEGIN
    SELECT * INTO p FROM hivejob_periodic WHERE name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO hivejob_periodic (name, next_run_at) VALUES (p_name, p_next)
        ON CONFLICT (name) DO NOTHING;
        RETURN NULL;
    END IF;
    IF p.next_run_at IS DISTINCT FROM p_expect THEN
        RETURN NULL;
    END IF;
    IF p_run_at IS NOT NULL THEN
        INSERT INTO river_job (kind, args, queue, priority, max_attempts, state,
            scheduled_at, unique_key, unique_states, metadata)
        VALUES (p_kind, p_args, p_queue, p_priority, p_max_attempts, 'available',
            now(), sha256(convert_to(p_key, 'UTF8')), x'F5'::bit(8),
            jsonb_build_object('periodic', p_name, 'periodic_run_at', p_run_at))
        ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND unique_states IS NOT NULL
            AND river_job_state_in_bitmask(unique_states, state) DO NOTHING
        RETURNING id INTO jid;
        IF jid IS NOT NULL THEN
            PERFORM pg_notify(left(current_schema() || '.river_insert', 63),
                json_build_object('queue', p_queue)::text);
        END IF;
    END IF;
    UPDATE hivejob_periodic SET next_run_at = p_next,
           last_run_at = coalesce(p_run_at, last_run_at),
           last_job_id = coalesce(jid, last_job_id), updated_at = now()
     WHERE name = p_name;
    RETURN jid;
END;
$$;
