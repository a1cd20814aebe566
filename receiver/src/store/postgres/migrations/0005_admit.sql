-- compatible_from: 1
-- A post's or a login attempt's admission in one round trip, at a cost that
-- does not grow with the events in the window (issue 17).
--
-- Every receiver's admissions of one kind wait for one advisory lock, so the
-- time it is held bounds how many posts a second all receivers together can
-- take. Run from the receiver, the lock was held across three round trips
-- and a commit, and each admission counted every event of its buckets still
-- in the window: with high limits, thousands of rows a post. Here the server
-- runs the whole admission, and `rate_counts` keeps each bucket's count.
--
-- Only new objects. Older receivers keep admitting the old way, under the
-- same lock, and the triggers keep the counts right for their rows too, so
-- both can run side by side during a rolling restart.

-- How many events each bucket of `rate_events` holds, kept by the triggers
-- below on every insert, delete and truncate, whoever makes them.
CREATE TABLE rate_counts (
    bucket text PRIMARY KEY,
    n      bigint NOT NULL
);
INSERT INTO rate_counts (bucket, n) SELECT bucket, count(*) FROM rate_events GROUP BY bucket;

CREATE FUNCTION kiln_rate_counted() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rate_counts AS c (bucket, n)
        SELECT bucket, count(*) FROM new_rows GROUP BY bucket
        ON CONFLICT (bucket) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE rate_counts c SET n = c.n - gone.k
        FROM (SELECT bucket, count(*) AS k FROM old_rows GROUP BY bucket) gone
        WHERE c.bucket = gone.bucket;
        -- A second statement: one statement cannot change a row twice.
        DELETE FROM rate_counts c
        WHERE c.n <= 0 AND c.bucket IN (SELECT bucket FROM old_rows);
    ELSE
        DELETE FROM rate_counts;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER rate_events_inserted AFTER INSERT ON rate_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kiln_rate_counted();
CREATE TRIGGER rate_events_deleted AFTER DELETE ON rate_events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kiln_rate_counted();
CREATE TRIGGER rate_events_truncated AFTER TRUNCATE ON rate_events
    FOR EACH STATEMENT EXECUTE FUNCTION kiln_rate_counted();

-- Counts an event at `now_ms` into every bucket of `names` unless one of
-- them already holds its cap (`caps`, in the same order) of events within
-- `window_ms`. Returns no row when the event was counted, or one row naming
-- the first bucket at its cap (from 1) and the time of that bucket's oldest
-- event in the window. With `sweep`, old rows of every bucket starting
-- with it go too.
CREATE FUNCTION kiln_admit(
    lock_class integer,
    lock_key   integer,
    names      text[],
    caps       bigint[],
    window_ms  bigint,
    now_ms     bigint,
    sweep      text
) RETURNS TABLE (refused integer, oldest_ms bigint)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    cutoff bigint := now_ms - window_ms;
BEGIN
    -- Losing the newest rows in a crash only forgets a little of a limit.
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(lock_class, lock_key);
    -- Each statement from here on sees what every admission before this one
    -- committed (a volatile function takes a new snapshot per statement).
    -- After this delete, every row left in these buckets is in the window,
    -- so their counts are the counts within the window.
    -- Two statements, so that the one run every time can use the index on
    -- (bucket, at_ms) whatever plan the function keeps.
    DELETE FROM rate_events e WHERE e.bucket = ANY (names) AND e.at_ms <= cutoff;
    IF sweep IS NOT NULL THEN
        DELETE FROM rate_events e WHERE starts_with(e.bucket, sweep) AND e.at_ms <= cutoff;
    END IF;
    RETURN QUERY
        SELECT l.idx::integer,
               coalesce((SELECT min(e.at_ms) FROM rate_events e WHERE e.bucket = l.name), now_ms)
        FROM unnest(names, caps) WITH ORDINALITY AS l (name, cap, idx)
        LEFT JOIN rate_counts c ON c.bucket = l.name
        WHERE coalesce(c.n, 0) >= l.cap
        ORDER BY l.idx
        LIMIT 1;
    IF NOT FOUND THEN
        INSERT INTO rate_events (bucket, at_ms) SELECT b, now_ms FROM unnest(names) AS b;
    END IF;
END
$$;
