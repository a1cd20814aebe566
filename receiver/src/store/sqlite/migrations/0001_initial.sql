-- kiln's first schema. Threads are created by their first comment; comments
-- reference their thread and, for replies, their parent in the same thread.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE threads (
    id              INTEGER PRIMARY KEY,
    -- The opaque id chosen by the site (by default the page's URL path).
    key             TEXT NOT NULL UNIQUE,
    -- The page URL of the first comment, for links from moderation views.
    url             TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Bumped from a database-wide sequence whenever what the thread shows
    -- changes, so a bake can find the changed threads without reading comments.
    changed_seq     INTEGER NOT NULL DEFAULT 0,
    -- Comments the thread shows (approved, or deleted but kept for replies).
    published_count INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX threads_changed ON threads (changed_seq);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    thread_id   INTEGER NOT NULL REFERENCES threads (id),
    parent_id   INTEGER REFERENCES comments (id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'spam', 'deleted')),
    author      TEXT NOT NULL,
    email       TEXT,
    website     TEXT,
    text        TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    -- Anonymized client address (/24 for IPv4, /48 for IPv6), never the full one.
    remote_addr TEXT,
    created_at  INTEGER NOT NULL,
    approved_at INTEGER
) STRICT;

CREATE INDEX comments_thread_status ON comments (thread_id, status);
CREATE INDEX comments_status_created ON comments (status, created_at);
CREATE INDEX comments_parent ON comments (parent_id);
