-- compatible_from: 8
-- Sites (issue 18), as SQLite's 0012: a thread belongs to a site (the
-- `name` of a `[[sites.site]]` entry; 'default' for `[sites]`'s own origins,
-- where every existing thread lands), and its key is unique within that site
-- only. Older kiln writes threads with `ON CONFLICT (key)`, which needs the
-- unique key this drops, so only this kiln may use the database after it.
ALTER TABLE threads ADD COLUMN site text NOT NULL DEFAULT 'default';
ALTER TABLE threads DROP CONSTRAINT threads_key_key;
ALTER TABLE threads ADD CONSTRAINT threads_site_key UNIQUE (site, key);
