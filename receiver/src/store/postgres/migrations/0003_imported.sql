-- compatible_from: 1
-- Imports (issue 14), as SQLite's 0008: each comment brought from another
-- system (or restored from a kiln export) is remembered by the source's own
-- id, so the same import run again adds nothing and a later import can
-- answer a comment an earlier one brought. A comment deleted since keeps its
-- row with no comment, so it is not brought back. `comments.avatar` keeps
-- the avatar key a restored comment came with. A new table and a nullable
-- column: a kiln that knows only version 1 keeps working.
CREATE TABLE imported (
    source      text NOT NULL,
    source_id   text NOT NULL,
    comment_id  bigint REFERENCES comments (id) ON DELETE SET NULL,
    imported_at bigint NOT NULL,
    PRIMARY KEY (source, source_id)
);

CREATE INDEX imported_comment ON imported (comment_id);

ALTER TABLE comments ADD COLUMN avatar text;
