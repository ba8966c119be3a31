-- hivejob line, version 5: customer feedback, its embeddings, and the load
-- and apply functions of the feedback_embedding and sentiment_analysis
-- kinds.
--
-- pgvector is not in Debian 12, so the vector is a real[] of exactly 768
-- elements. A site that has pgvector moves to it with one statement
-- (pgvector casts real[] to vector by assignment):
--   ALTER TABLE embeddings ALTER COLUMN embedding TYPE vector(768)
--       USING embedding::vector(768);

CREATE TABLE feedback_records (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    text text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE embeddings (
    feedback_record_id uuid NOT NULL REFERENCES feedback_records (id) ON DELETE CASCADE,
    model text NOT NULL,
    dimensions integer NOT NULL,
    embedding real[] NOT NULL CONSTRAINT embedding_has_768_elements
        CHECK (cardinality(embedding) = 768),
    content_sha256 text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feedback_record_id, model)
);

-- The record a feedback job names; 22xxx for malformed args (bad_args).
CREATE FUNCTION hivejob_feedback_record(job jsonb)
RETURNS feedback_records
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
    r feedback_records%ROWTYPE;
    rid uuid;
BEGIN
    IF jsonb_typeof(job->'args'->'feedback_record_id') IS DISTINCT FROM 'string' THEN
        RAISE EXCEPTION 'args.feedback_record_id must be a string (a uuid)'
            USING ERRCODE = '22023';
    END IF;
    BEGIN
        rid := (job->'args'->>'feedback_record_id')::uuid;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION 'args.feedback_record_id must be a uuid (%)', SQLERRM
            USING ERRCODE = '22P02';
    END;
    SELECT * INTO r FROM feedback_records WHERE id = rid;
    RETURN r;
END;
$$;

-- The text to work on and its hash; the record gone or empty ends the job.
-- For embeddings, an unchanged text (same hash and model) completes the job
-- at once: the model comes from the kind's settings, which load sees
-- without the secret ones.
CREATE FUNCTION hivejob_feedback_load(job jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT
AS $$
DECLARE
    r feedback_records%ROWTYPE := hivejob_feedback_record(job);
    sha text;
BEGIN
    IF r.id IS NULL THEN
        RETURN jsonb_build_object('cancel', format('feedback record %s does not exist',
            job->'args'->>'feedback_record_id'));
    END IF;
    IF btrim(r.text, E' \t\n\r\f') = '' THEN
        RETURN jsonb_build_object('cancel', format('feedback record %s has no text', r.id));
    END IF;
    sha := encode(sha256(convert_to(r.text, 'UTF8')), 'hex');
    IF job->>'kind' = 'feedback_embedding' AND EXISTS (
        SELECT 1 FROM embeddings e
         WHERE e.feedback_record_id = r.id AND e.model = hivejob_embedding_model(job)
           AND e.content_sha256 = sha) THEN
        RETURN jsonb_build_object('complete', 'the stored embedding is current');
    END IF;
    RETURN jsonb_build_object('text', r.text, 'content_sha256', sha);
END;
$$;

-- The model name an embedding is stored under: the provider's model, or
-- the offline hashing provider's own name.
CREATE FUNCTION hivejob_embedding_model(job jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN coalesce(job->'settings'->>'provider', 'hashing') = 'hashing'
                THEN 'hivejob-hashing-768'
                ELSE coalesce(job->'settings'->>'model', 'unknown') END
$$;

-- Did the record change while the job ran? Then its result is stale and
-- must not land; the change will have queued a job of its own.
CREATE FUNCTION hivejob_feedback_stale(job jsonb, rec feedback_records)
RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN rec.id IS NULL THEN format('feedback record %s was deleted while the job ran',
            job->'args'->>'feedback_record_id')
        WHEN encode(sha256(convert_to(rec.text, 'UTF8')), 'hex')
             IS DISTINCT FROM job->'input'->>'content_sha256'
        THEN format('feedback record %s was edited while the job ran; '
            'the result for the old text was not stored', rec.id)
    END
$$;

CREATE FUNCTION hivejob_embedding_apply(job jsonb, outcome jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    r jsonb := outcome->'result';
    rec feedback_records%ROWTYPE;
    why text;
BEGIN
    IF outcome->>'state' <> 'completed' OR r IS NULL OR r->'embedding' IS NULL THEN
        RETURN '{}';
    END IF;
    SELECT * INTO rec FROM feedback_records
     WHERE id = (job->'args'->>'feedback_record_id')::uuid FOR SHARE;
    why := hivejob_feedback_stale(job, rec);
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('cancel', why);
    END IF;
    INSERT INTO embeddings AS e (feedback_record_id, model, dimensions, embedding,
        content_sha256)
    VALUES (rec.id, hivejob_embedding_model(job),
        jsonb_array_length(r->'embedding'),
        ARRAY(SELECT x::real FROM jsonb_array_elements_text(r->'embedding') x),
        job->'input'->>'content_sha256')
    ON CONFLICT (feedback_record_id, model) DO UPDATE
       SET dimensions = EXCLUDED.dimensions, embedding = EXCLUDED.embedding,
           content_sha256 = EXCLUDED.content_sha256, updated_at = now();
    RETURN '{}';
END;
$$;

CREATE FUNCTION hivejob_sentiment_apply(job jsonb, outcome jsonb)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    r jsonb := outcome->'result';
    rec feedback_records%ROWTYPE;
    why text;
BEGIN
    IF outcome->>'state' <> 'completed' OR r IS NULL OR r->'sentiment' IS NULL THEN
        RETURN '{}';
    END IF;
    SELECT * INTO rec FROM feedback_records
     WHERE id = (job->'args'->>'feedback_record_id')::uuid FOR UPDATE;
    why := hivejob_feedback_stale(job, rec);
    IF why IS NOT NULL THEN
        RETURN jsonb_build_object('cancel', why);
    END IF;
    UPDATE feedback_records SET metadata = metadata || jsonb_build_object(
            'sentiment', r->>'sentiment',
            'sentiment_confidence', (r->>'confidence')::double precision,
            'sentiment_score', (r->>'score')::double precision,
            'sentiment_model', r->>'model',
            'sentiment_analyzed_at', now()),
           updated_at = now()
     WHERE id = rec.id;
    RETURN '{}';
END;
$$;
