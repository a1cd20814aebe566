-- compatible_from: 8
-- Named moderators (issue 18), as SQLite's 0015: an admin session remembers
-- who logged in, so that a moderator a site's `moderators` list limits sees
-- only those sites. NULL is the admin password's session, which sees every
-- site. A nullable column: older receivers still read and write sessions.
ALTER TABLE admin_sessions ADD COLUMN moderator text;
