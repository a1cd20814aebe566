-- Sites (issue 18): one receiver serves several sites, and `/about/` on one
-- is not `/about/` on another. A thread belongs to a site (`[sites]`'s own
-- origins are the site named 'default', where every existing thread lands)
-- and its key is unique within that site only. SQLite cannot drop the
-- UNIQUE on `key`, so the table is rebuilt in its place, keeping every row
-- id; `migrate_to` runs migrations with foreign keys off and checks them
-- before committing, as SQLite's documented procedure does. PostgreSQL has
-- the same change (its migration 0006).
CREATE TABLE threads_sited (
    id              INTEGER PRIMARY KEY,
    -- The opaque id chosen by the site (by default the page's URL path).
    key             TEXT NOT NULL,
    -- The page URL of the first comment, for links from moderation views.
    url             TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    changed_seq     INTEGER NOT NULL DEFAULT 0,
    published_count INTEGER NOT NULL DEFAULT 0,
    title           TEXT NOT NULL DEFAULT '',
    -- The `name` of the site the thread is on.
    site            TEXT NOT NULL DEFAULT 'default',
    UNIQUE (site, key)
) STRICT;

INSERT INTO threads_sited (id, key, url, created_at, changed_seq, published_count, title, site)
    SELECT id, key, url, created_at, changed_seq, published_count, title, 'default' FROM threads;

DROP TABLE threads;
ALTER TABLE threads_sited RENAME TO threads;
CREATE INDEX threads_changed ON threads (changed_seq);
