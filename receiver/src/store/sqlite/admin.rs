//! The admin page's state in the database: the password's argon2 hash and
//! the login sessions. Hashing and checking live in `crate::password`; this
//! only stores what they produce, so every SQL statement stays in the store.

use anyhow::Result;
use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::store::{AdminSession, MODERATOR_PASSWORD_PREFIX};

/// The `meta` key holding the admin password's PHC string.
const PASSWORD_KEY: &str = "admin_password";

impl SqliteStore {
    /// The stored password hash (a PHC string), if a password was ever set.
    pub fn admin_password_hash(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [PASSWORD_KEY],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Replaces the password hash and ends every session, in one transaction:
    /// a new password logs everybody out.
    pub fn set_admin_password_hash(&mut self, phc: &str) -> Result<()> {
        self.set_password(PASSWORD_KEY, phc, None)
    }

    /// Stores a password hash under `key` and ends `moderator`'s sessions
    /// (`None`: every session), in one transaction.
    fn set_password(&mut self, key: &str, phc: &str, moderator: Option<&str>) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, phc],
        )?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE ?1 IS NULL OR moderator = ?1",
            [moderator],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a new session (by the hash of its cookie value) and drops
    /// expired ones.
    pub fn create_admin_session(
        &mut self,
        id_hash: &str,
        csrf: &str,
        moderator: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM admin_sessions WHERE expires_at <= ?1", [now])?;
        tx.execute(
            "INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at, moderator)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id_hash, csrf, now, expires_at, moderator],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A live session, or `None` if there is no such session or it has
    /// expired.
    pub fn admin_session(&self, id_hash: &str, now: i64) -> Result<Option<AdminSession>> {
        Ok(self
            .conn
            .query_row(
                "SELECT csrf, moderator FROM admin_sessions WHERE id_hash = ?1 AND expires_at > ?2",
                params![id_hash, now],
                |r| {
                    Ok(AdminSession {
                        csrf: r.get(0)?,
                        moderator: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// A named moderator's password hash, if one was set.
    pub fn moderator_password_hash(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [format!("{MODERATOR_PASSWORD_PREFIX}{name}")],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets a named moderator's password hash and ends that moderator's
    /// sessions, in one transaction.
    pub fn set_moderator_password_hash(&mut self, name: &str, phc: &str) -> Result<()> {
        let key = format!("{MODERATOR_PASSWORD_PREFIX}{name}");
        self.set_password(&key, phc, Some(name))
    }

    /// The named moderator accounts, sorted.
    pub fn moderator_accounts(&self) -> Result<Vec<String>> {
        let mut statement = self
            .conn
            .prepare("SELECT key FROM meta WHERE substr(key, 1, ?1) = ?2 ORDER BY key")?;
        let keys = statement.query_map(
            params![
                MODERATOR_PASSWORD_PREFIX.len() as i64,
                MODERATOR_PASSWORD_PREFIX
            ],
            |r| r.get::<_, String>(0),
        )?;
        keys.map(|k| Ok(k?[MODERATOR_PASSWORD_PREFIX.len()..].to_owned()))
            .collect()
    }

    /// Ends a session (logout). Ending an unknown session is not an error.
    pub fn end_admin_session(&mut self, id_hash: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM admin_sessions WHERE id_hash = ?1", [id_hash])?;
        Ok(())
    }
}

// Tested on both backends, with one body, in store/tests.rs.
