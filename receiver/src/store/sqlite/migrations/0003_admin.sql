-- The admin page: one password (an argon2id hash in `meta` under
-- 'admin_password'), and its login sessions. A session is known by the
-- SHA-256 of its cookie value, so a copy of the database cannot be used to
-- log in; `csrf` is the token every form of that session must carry.
CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);
