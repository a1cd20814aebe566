CREATE OR REPLACE FUNCTION try_admit(lock boolean, lim int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE n bigint; now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
BEGIN
  IF lock THEN PERFORM pg_advisory_xact_lock(1802071150, 1); END IF;
  SELECT count(*) INTO n FROM rate_events WHERE bucket = 'post:all' AND at_ms > now_ms - 600000;
  PERFORM pg_sleep(0.002); -- the decision takes a moment, as it does from Rust
  IF n >= lim THEN RETURN false; END IF;
  INSERT INTO rate_events VALUES ('post:all', now_ms);
  RETURN true;
END $$;
