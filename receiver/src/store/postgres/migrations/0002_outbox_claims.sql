-- compatible_from: 1
-- Outbox claims: a sender takes a message by writing its name and a lease
-- into the row (`FOR UPDATE SKIP LOCKED`, so receivers claiming at once take
-- different rows), sends it, then deletes it or records the failure, which
-- clears the claim. A lease that ran out (its sender died) lets another take
-- it. Nullable columns, so a kiln that knows only version 1 keeps working.
ALTER TABLE outbox ADD COLUMN claimed_by text, ADD COLUMN claimed_until bigint;
