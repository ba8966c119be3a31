-- hivejob line, version 4: webhook endpoints and their delivery log, and
-- the load and apply functions of the webhook_dispatch kind.

CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url text NOT NULL,
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    event_types text[] NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    first_failure_at timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at timestamptz,
    disabled_reason text
);

CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id bigint NOT NULL,
    event_id text NOT NULL,
    attempt integer NOT NULL,
    status integer NOT NULL,
    error text,
    class text,
    duration_ms integer,
    response_excerpt text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook_created_idx
    ON webhook_deliveries (webhook_id, created_at DESC);

-- What a delivery needs: the endpoint, its secrets, its health. A missing
-- or disabled endpoint ends the job before any request is made.
CREATE FUNCTION hivejob_webhook_load(job jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
    w webhooks%ROWTYPE;
    wid uuid;
BEGIN
    IF jsonb_typeof(job->'args'->'webhook_id') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'args.webhook_id must be a string (a uuid)' USING ERRCODE = '22023';
    END IF;
    BEGIN
        wid := (job->'args'->>'webhook_id')::uuid;
    EXCEPTION WHEN invalid_text_representation THEN
        -- Class 22: bad_args; and the error names the member.
        RAISE EXCEPTION 'args.webhook_id must be a uuid (%)', SQLERRM USING ERRCODE = '22P02';
    END;
    SELECT * INTO w FROM webhooks WHERE id = wid;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('cancel', format('webhook %s does not exist', wid));
    END IF;
    IF NOT w.enabled OR w.disabled_at IS NOT NULL THEN
        RETURN jsonb_build_object('cancel', format('webhook %s is disabled%s', wid,
            coalesce(': ' || w.disabled_reason, '')));
    END IF;
    RETURN jsonb_build_object(
        'url', w.url,
        'secret', w.secret,
        'previous_secret', CASE WHEN w.previous_secret_expires_at > now()
                           THEN w.previous_secret END,
        'first_failure_at', extract(epoch FROM w.first_failure_at),
        'last_success_at', extract(epoch FROM w.last_success_at),
        'job_created_at', (SELECT to_jsonb(created_at) FROM river_job
                            WHERE id = (job->>'id')::bigint));
END;
$$;

-- After each attempt, in the job's own transaction: the endpoint's health
-- and one delivery row. A disable (410, or failing longer than
-- give_up_after) also cancels the endpoint's other pending deliveries.
-- Interrupted attempts (a shutdown) and jobs refused as bad_args before
-- any request are not deliveries and leave no trace.
CREATE FUNCTION hivejob_webhook_apply(job jsonb, outcome jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    wid uuid := (job->'args'->>'webhook_id')::uuid;
    r jsonb := coalesce(outcome->'result', '{}'::jsonb);
    ok boolean := outcome->>'state' = 'completed';
    st integer := coalesce((r->>'status')::integer, 0);
    disable text := r->>'disable';
    err text := CASE WHEN ok THEN NULL ELSE coalesce(r->>'error', outcome->>'error') END;
BEGIN
    IF outcome->>'outcome' IN ('interrupt', 'release') THEN
        RETURN '{}';
    END IF;
    -- Refused before any request (args the worker rejects, an endpoint
    -- secret it cannot use): not the endpoint's failure, not a delivery.
    IF coalesce(r->>'class', outcome->>'class') = 'bad_args' THEN
        RETURN '{}';
    END IF;
    UPDATE webhooks SET
        last_status = st,
        last_error = err,
        last_attempt_at = now(),
        last_success_at = CASE WHEN ok THEN now() ELSE last_success_at END,
        first_failure_at = CASE WHEN ok THEN NULL ELSE coalesce(first_failure_at, now()) END,
        consecutive_failures = CASE WHEN ok THEN 0 ELSE consecutive_failures + 1 END,
        enabled = CASE WHEN disable IS NOT NULL THEN false ELSE enabled END,
        disabled_at = CASE WHEN disable IS NOT NULL THEN coalesce(disabled_at, now())
                      ELSE disabled_at END,
        disabled_reason = coalesce(disable, disabled_reason)
     WHERE id = wid;
    IF NOT FOUND THEN
        RETURN '{}';	-- deleted meanwhile: nothing to record
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, job_id, event_id, attempt, status,
        error, class, duration_ms, response_excerpt)
    VALUES (wid, (job->>'id')::bigint, coalesce(job->'args'->>'event_id', ''),
        (job->>'attempt')::integer, st, err,
        nullif(coalesce(r->>'class', outcome->>'class'), ''),
        coalesce((r->>'duration_ms')::integer, (outcome->>'duration_ms')::integer),
        r->>'excerpt');
    IF disable IS NOT NULL THEN
        UPDATE river_job SET state = 'cancelled', finalized_at = now(),
               errors = array_append(coalesce(errors, '{}'), jsonb_build_object(
                   'at', now(), 'attempt', attempt,
                   'error', format('webhook %s was disabled: %s', wid, disable),
                   'trace', ''))
         WHERE kind = 'webhook_dispatch'
           AND state IN ('available', 'scheduled', 'retryable', 'pending')
           AND args->>'webhook_id' = wid::text
           AND id <> (job->>'id')::bigint;
    END IF;
    RETURN '{}';
END;
$$;
