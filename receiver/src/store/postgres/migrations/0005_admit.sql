-- compatible_from: 1
-- A post's or a login attempt's admission in one round trip (issue 17).
-- Every receiver's admissions of one kind wait for one advisory lock, so the
-- time it is held bounds how many posts a second all receivers together can
-- take. Run from the receiver, the lock was held across three round trips
-- and a commit; here it is held while the server runs the function. Only a
-- new function: older code keeps admitting the old way, under the same lock,
-- so both can run side by side during a rolling restart.
--
-- It returns no row when the event was counted into every bucket, or one
-- row naming the first bucket at its limit (from 1, in the order given) and
-- the time of that bucket's oldest event still in the window.
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
    DELETE FROM rate_events e
    WHERE e.at_ms <= cutoff
      AND (e.bucket = ANY (names) OR (sweep IS NOT NULL AND starts_with(e.bucket, sweep)));
    RETURN QUERY
        SELECT l.idx::integer, coalesce(c.oldest, now_ms)
        FROM unnest(names, caps) WITH ORDINALITY AS l (name, cap, idx)
        LEFT JOIN (
            SELECT e.bucket, count(*) AS n, min(e.at_ms) AS oldest
            FROM rate_events e
            WHERE e.bucket = ANY (names) AND e.at_ms > cutoff
            GROUP BY e.bucket
        ) c ON c.bucket = l.name
        WHERE coalesce(c.n, 0) >= l.cap
        ORDER BY l.idx
        LIMIT 1;
    IF NOT FOUND THEN
        INSERT INTO rate_events (bucket, at_ms) SELECT b, now_ms FROM unnest(names) AS b;
    END IF;
END
$$;
