-- Outbox claims (issue 13): a sender takes a message by writing its name and
-- a lease into the row before sending it, so that several receivers on one
-- database never send the same message twice. A claim whose lease ran out
-- (its sender died mid-way) is taken again; sending or failing clears it.
-- Both columns are NULL for a message nobody holds, as every row was before.
--
-- The table is made again rather than altered, for AUTOINCREMENT: each
-- message's Message-ID is made from its row id, and without AUTOINCREMENT
-- SQLite hands the id of a sent (deleted) last row to the next one, so two
-- different messages could carry the same Message-ID, and a mail provider
-- that drops repeated Message-IDs would drop the second.
CREATE TABLE outbox_claimed (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('new_comment', 'confirm', 'reply')),
    comment_id      INTEGER NOT NULL,
    recipient       TEXT,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    failed_at       INTEGER,
    -- Who is sending the message, and until when the claim holds.
    claimed_by      TEXT,
    claimed_until   INTEGER
) STRICT;

INSERT INTO outbox_claimed (id, kind, comment_id, recipient, created_at, attempts,
                            next_attempt_at, last_error, failed_at)
SELECT id, kind, comment_id, recipient, created_at, attempts,
       next_attempt_at, last_error, failed_at
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_claimed RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE failed_at IS NULL;
