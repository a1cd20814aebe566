-- Likes (issue 18, `[reactions]`): one row per comment and reader. A reader
-- is known only by `reader`, an HMAC under the receiver's secret of their
-- anonymized address and the comment id, so one like per reader per comment
-- needs neither a cookie nor an address at rest, and two comments' rows
-- cannot be linked to one reader. The rows go with their comment (and are
-- removed when it becomes a "deleted" marker). PostgreSQL has the same
-- table (its migration `reactions`).
CREATE TABLE reactions (
    comment_id INTEGER NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reader     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (comment_id, reader)
) STRICT, WITHOUT ROWID;
