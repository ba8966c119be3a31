-- hivejob line, version 2: the runner's server-side half.
--
-- Finishing a job, retry delays, kind loads and the scheduler are SQL
-- functions so that each is one round trip for a whole batch, runs in id
-- order (no deadlocks between supervisors), and can be read and tested on
-- its own. Every function pins search_path to the schema it was created in.

-- Seconds until the next attempt after attempt p_attempt failed.
-- p_policy: {"policy": "exponential", "cap": S} (attempt^4, capped) or
-- {"policy": "schedule", "steps": [S0, S1, ...]} (steps[attempt], the last
-- one repeating). A worker's retry_after is clamped to the policy's range.
CREATE FUNCTION hivejob_retry_delay(p_attempt integer, p_policy jsonb,
    p_retry_after double precision)
RETURNS double precision
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    d double precision;
    lo double precision := 1;
    hi double precision;
    n integer;
BEGIN
    IF p_policy->>'policy' = 'schedule' THEN
        n := jsonb_array_length(p_policy->'steps');
        d := (p_policy->'steps'->>least(p_attempt, n - 1))::double precision;
        SELECT coalesce(min(s::double precision) FILTER (WHERE s::double precision > 0), 1),
               max(s::double precision)
          INTO lo, hi
          FROM jsonb_array_elements_text(p_policy->'steps') s;
    ELSE
        hi := coalesce((p_policy->>'cap')::double precision, 3600);
        d := least(power(p_attempt, 4), hi);
    END IF;
    IF p_retry_after IS NOT NULL THEN
        RETURN greatest(lo, least(p_retry_after, greatest(hi, lo)));
    END IF;
    -- +-10 % so that jobs failing together do not retry together
    RETURN least(d * (0.9 + random() * 0.2), greatest(hi, d));
END;
$$;

-- Finish one job if it is still ours: running, the attempt we claimed, and
-- our id last in attempted_by. Returns the new state, or NULL when the row
-- moved on without us (a rescue, a newer attempt): then nothing changes.
CREATE FUNCTION hivejob_finish_one(p_supervisor text, o jsonb)
RETURNS river_job_state
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    j river_job%ROWTYPE;
    how text := o->>'outcome';
    err jsonb;
    meta jsonb;
    delay double precision;
    snoozes integer;
    st river_job_state;
BEGIN
    SELECT * INTO j FROM river_job
     WHERE id = (o->>'id')::bigint
       AND state = 'running'
       AND attempt = (o->>'attempt')::integer
       AND attempted_by[array_upper(attempted_by, 1)] = p_supervisor
     FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    meta := jsonb_build_object('hivejob', coalesce(o->'meta', '{}'::jsonb));
    err := jsonb_build_object('at', to_jsonb(j.attempted_at), 'attempt', j.attempt,
        'error', coalesce(o->>'error', ''), 'trace', coalesce(o->>'trace', ''));

    IF how = 'complete' THEN
        UPDATE river_job SET state = 'completed', finalized_at = now(),
               metadata = metadata || meta
         WHERE id = j.id;
        RETURN 'completed';
    END IF;

    -- Claimed but never started (a claim whose reply was lost), or stopped
    -- by a shutdown: the attempt is given back. After p_max_interrupts
    -- interruptions one counts, so a job longer than every drain still ends.
    IF how = 'release' OR (how = 'interrupt' AND
        coalesce((j.metadata->>'interruptions')::integer, 0) <
            coalesce((o->>'max_interrupts')::integer, 3)) THEN
        UPDATE river_job SET state = 'available', attempt = attempt - 1,
               scheduled_at = now(),
               metadata = CASE WHEN how = 'interrupt' THEN metadata ||
                   jsonb_build_object('interruptions',
                       coalesce((metadata->>'interruptions')::integer, 0) + 1)
                   ELSE metadata END
         WHERE id = j.id;
        RETURN 'available';
    END IF;
    IF how = 'interrupt' THEN
        err := err || jsonb_build_object('error', 'interrupted by shutdown too many times');
        meta := jsonb_build_object('hivejob', coalesce(o->'meta', '{}'::jsonb) ||
            '{"class": "interrupted"}');
    END IF;

    -- An operator asked for a cancel: no outcome but success may run again.
    IF how = 'cancel' OR j.metadata ? 'cancel_attempted_at' THEN
        IF how <> 'cancel' AND coalesce(o->>'error', '') = '' THEN
            err := err || jsonb_build_object('error', 'job cancelled by request');
        END IF;
        UPDATE river_job SET state = 'cancelled', finalized_at = now(),
               errors = array_append(coalesce(errors, '{}'), err),
               metadata = metadata || meta
         WHERE id = j.id;
        RETURN 'cancelled';
    END IF;

    IF how = 'snooze' THEN
        snoozes := coalesce((j.metadata->>'snoozes')::integer, 0) + 1;
        delay := greatest(0, least(coalesce((o->>'snooze')::double precision, 0), 2592000));
        -- Past 100 snoozes each one spends an attempt, so a job that only
        -- ever snoozes still ends.
        IF snoozes <= 100 OR j.attempt < j.max_attempts THEN
            st := CASE WHEN delay <= 5 THEN 'available' ELSE 'scheduled' END;
            UPDATE river_job SET state = st,
                   scheduled_at = now() + delay * interval '1 second',
                   attempt = CASE WHEN snoozes <= 100 THEN attempt - 1 ELSE attempt END,
                   metadata = metadata || meta || jsonb_build_object('snoozes', snoozes)
             WHERE id = j.id;
            RETURN st;
        END IF;
        err := err || jsonb_build_object('error', 'snoozed more than 100 times');
    END IF;

    IF j.attempt >= j.max_attempts THEN
        UPDATE river_job SET state = 'discarded', finalized_at = now(),
               errors = array_append(coalesce(errors, '{}'), err),
               metadata = metadata || meta
         WHERE id = j.id;
        RETURN 'discarded';
    END IF;

    delay := hivejob_retry_delay(j.attempt, o->'retry', (o->>'retry_after')::double precision);
    st := CASE WHEN delay <= 5 THEN 'available' ELSE 'retryable' END;
    UPDATE river_job SET state = st,
           scheduled_at = now() + delay * interval '1 second',
           errors = array_append(coalesce(errors, '{}'), err),
           metadata = metadata || meta
     WHERE id = j.id;
    RETURN st;
END;
$$;

-- Finish a batch of jobs, locking rows in id order (within a kind's
-- apply_order). Where the kind has an
-- apply function it runs in the same transaction, after the row's UPDATE
-- matched, in a subtransaction of its own: an apply error undoes that job's
-- finish alone, which is then finished again as a cancel (SQLSTATE classes
-- 22 and 23: the data will never fit) or a retry (anything else).
CREATE FUNCTION hivejob_finish(p_supervisor text, p_outcomes jsonb)
RETURNS TABLE (job_id bigint, job_state river_job_state)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    o jsonb;
    res jsonb;
    fn text;
BEGIN
    -- "order" is the kind's apply_order key from the job's args: applies
    -- that lock the same rows (a webhook endpoint) take them in one order
    -- in every supervisor's batch, so they cannot deadlock.
    FOR o IN SELECT e FROM jsonb_array_elements(p_outcomes) e
             ORDER BY coalesce(e->>'order', ''), (e->>'id')::bigint
    LOOP
        job_id := (o->>'id')::bigint;
        fn := o->>'apply';
        IF fn IS NULL THEN
            job_state := hivejob_finish_one(p_supervisor, o);
            RETURN NEXT;
            CONTINUE;
        END IF;
        BEGIN
            job_state := hivejob_finish_one(p_supervisor, o);
            IF job_state IS NOT NULL THEN
                EXECUTE format('SELECT %s($1, $2)', fn) INTO res
                    USING o->'job', jsonb_build_object('state', job_state,
                        'outcome', o->>'outcome', 'result', o->'result',
                        'error', o->>'error', 'class', o->'meta'->>'class',
                        'duration_ms', o->'meta'->'wall_ms');
                IF res ? 'cancel' AND job_state <> 'cancelled' THEN
                    UPDATE river_job SET state = 'cancelled', finalized_at = now(),
                           errors = array_append(coalesce(errors, '{}'),
                               jsonb_build_object('at', to_jsonb(attempted_at),
                                   'attempt', attempt, 'error', res->>'cancel',
                                   'trace', ''))
                     WHERE id = job_id;
                    job_state := 'cancelled';
                END IF;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            job_state := hivejob_finish_one(p_supervisor, o || jsonb_build_object(
                'outcome', CASE WHEN SQLSTATE LIKE '22%' OR SQLSTATE LIKE '23%'
                                THEN 'cancel' ELSE 'retry' END,
                'error', format('apply %s failed: %s (SQLSTATE %s)', fn, SQLERRM, SQLSTATE),
                'trace', '',
                'meta', coalesce(o->'meta', '{}'::jsonb) || '{"class": "apply"}'));
        END;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Run a kind's load function over a batch of job documents, one
-- subtransaction each, so that one failing load fails only its job.
CREATE FUNCTION hivejob_load(p_fn text, p_jobs jsonb)
RETURNS TABLE (job_id bigint, result jsonb, error text, errcode text)
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    j jsonb;
BEGIN
    FOR j IN SELECT e FROM jsonb_array_elements(p_jobs) e LOOP
        job_id := (j->>'id')::bigint;
        BEGIN
            EXECUTE format('SELECT %s($1)', p_fn) INTO result USING j;
            error := NULL;
            errcode := NULL;
        EXCEPTION WHEN OTHERS THEN
            result := NULL;
            error := SQLERRM;
            errcode := SQLSTATE;
        END;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- River's scheduler: retryable and scheduled rows due within 5 s become
-- available. Where that would break a unique key (the key's states include
-- available but not the row's current state), the row is discarded and
-- marked, as River does. Returns how many rows moved.
CREATE FUNCTION hivejob_schedule(p_limit integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    n integer;
BEGIN
    WITH due AS (
        SELECT id, unique_key, unique_states
          FROM river_job
         WHERE state IN ('retryable', 'scheduled')
           AND scheduled_at <= now() + interval '5 seconds'
         ORDER BY priority, scheduled_at, id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), conflict AS (
        SELECT d.id FROM due d
         WHERE d.unique_key IS NOT NULL AND d.unique_states IS NOT NULL
           AND river_job_state_in_bitmask(d.unique_states, 'available')
           AND (EXISTS (SELECT 1 FROM river_job o
                         WHERE o.unique_key = d.unique_key AND o.id <> d.id
                           AND o.unique_states IS NOT NULL
                           AND river_job_state_in_bitmask(o.unique_states, o.state))
                OR EXISTS (SELECT 1 FROM due e
                            WHERE e.unique_key = d.unique_key AND e.id < d.id
                              AND river_job_state_in_bitmask(e.unique_states, 'available')))
    )
    UPDATE river_job j
       SET state = CASE WHEN c.id IS NULL THEN 'available' ELSE 'discarded' END::river_job_state,
           finalized_at = CASE WHEN c.id IS NULL THEN NULL ELSE now() END,
           metadata = CASE WHEN c.id IS NULL THEN j.metadata
                      ELSE j.metadata || '{"unique_key_conflict": "scheduler_discarded"}' END
      FROM due LEFT JOIN conflict c ON c.id = due.id
     WHERE j.id = due.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
