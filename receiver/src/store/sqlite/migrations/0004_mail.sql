-- Email (issue 4). Mail is queued in `outbox` in the same transaction as the
-- change that causes it, and a background task delivers it, so a submission
-- never waits for or fails on SMTP. A row names an event (which comment, which
-- kind of message); the message itself is built when it is sent.

-- The author asked to hear about replies to this comment.
ALTER TABLE comments ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;

-- Addresses that opted in to reply notifications (double opt-in: nothing is
-- sent to an address until `confirmed_at` is set) or that unsubscribed.
CREATE TABLE subscribers (
    email           TEXT PRIMARY KEY COLLATE NOCASE,
    created_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    unsubscribed_at INTEGER
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    -- new_comment: to the moderators; confirm: the double opt-in question;
    -- reply: a reply to a subscribed comment was published.
    kind            TEXT NOT NULL CHECK (kind IN ('new_comment', 'confirm', 'reply')),
    comment_id      INTEGER NOT NULL,
    -- NULL for new_comment, which goes to the configured moderators.
    recipient       TEXT,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- The last SMTP error (never a credential); set failed_at when given up.
    last_error      TEXT,
    failed_at       INTEGER
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE failed_at IS NULL;
