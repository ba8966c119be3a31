-- hivejob line, version 1: supervisor leases.
--
-- One row per live hivejobd. The lease is renewed in database time, so the
-- clocks of the hosts running supervisors never matter; a row whose
-- lease_expires_at has passed belongs to a supervisor that is gone, and the
-- rows it claimed in river_job (its id is the last element of attempted_by)
-- may be rescued.
CREATE TABLE hivejob_supervisor (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    version text NOT NULL,
    uid_base bigint NOT NULL,
    uid_count integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz NOT NULL,
    leader boolean NOT NULL DEFAULT false,
    children jsonb NOT NULL DEFAULT '[]',
    CONSTRAINT id_length CHECK (char_length(id) > 0 AND char_length(id) < 128),
    CONSTRAINT uid_range CHECK (uid_base > 0 AND uid_count > 0)
);
