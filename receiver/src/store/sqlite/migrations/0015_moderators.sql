-- Named moderators (issue 18): an admin session remembers who logged in,
-- so that a moderator a site's `moderators` list limits sees only those
-- sites. NULL is the admin password's session, which sees every site.
-- Named moderators' password hashes are `meta` rows ('moderator_password:'
-- and the name), like the admin password's.
ALTER TABLE admin_sessions ADD COLUMN moderator TEXT;
