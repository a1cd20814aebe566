-- Imports (issue 14). Every comment brought in from another system (or
-- restored from a kiln export) is remembered by the source's own id, so that
-- running the same import again adds nothing and a later import can answer a
-- comment an earlier one brought. A comment deleted since keeps its row with
-- no comment: the source id stays known, and is not brought back.
CREATE TABLE imported (
    source      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    comment_id  INTEGER REFERENCES comments (id) ON DELETE SET NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (source, source_id)
) STRICT;

CREATE INDEX imported_comment ON imported (comment_id);

-- The avatar key a comment restored from a kiln export came with. An export
-- carries keys, not addresses; keeping the key keeps the restored comment's
-- identicon. NULL for every other comment, whose key is made from its address.
ALTER TABLE comments ADD COLUMN avatar TEXT;
