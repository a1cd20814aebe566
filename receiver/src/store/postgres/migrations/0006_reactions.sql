-- compatible_from: 1
-- Likes (issue 18, `[reactions]`), as SQLite's `reactions` migration: one row
-- per comment and reader, the reader known only by an HMAC under the
-- receiver's secret of their anonymized address and the comment id. Only a
-- new table: older code ignores it, and the cascade removes a deleted
-- comment's rows whoever deletes it.
CREATE TABLE reactions (
    comment_id bigint NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    reader     text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (comment_id, reader)
);
