-- compatible_from: 1
-- What several receivers on one database share besides comments
-- (store/postgres/coordination.rs). Only new tables: older code ignores them.

-- The sliding logs of the rate limits: one row per accepted post in each of
-- its buckets (`post:ip:<client>`, `post:thread:<key>`, `post:all`) and per
-- counted login attempt (`login:ip:<address>`, `login:all`). Admissions run
-- under an advisory transaction lock, so concurrent receivers count each
-- other's rows; rows older than the window are deleted as they go. Losing
-- the newest rows in a crash is harmless, so they are written without
-- waiting for the disk (`synchronous_commit = off`, per transaction).
CREATE TABLE rate_events (
    bucket text NOT NULL,
    -- Milliseconds since the epoch, on the receiver's clock.
    at_ms  bigint NOT NULL
);
CREATE INDEX rate_events_bucket_at ON rate_events (bucket, at_ms);
-- For the sweep of every bucket's old rows.
CREATE INDEX rate_events_at ON rate_events (at_ms);

-- Each build hook's and the publish command's last run, so the admin page of
-- every receiver shows them, and a receiver that takes over publishing knows
-- which change sequence each strategy last published (`covered_seq`).
CREATE TABLE publish_runs (
    kind        text NOT NULL CHECK (kind IN ('hook', 'command')),
    name        text NOT NULL,
    at          bigint NOT NULL,
    outcome     text NOT NULL,
    ok          boolean NOT NULL,
    attempts    integer NOT NULL,
    covered_seq bigint NOT NULL,
    PRIMARY KEY (kind, name)
);
