//! The receiver's own keys and the admin page's state on PostgreSQL: the
//! signing secret and avatar salt in `meta`, the admin password's hash, and
//! the login sessions. The SQL mirrors `sqlite/admin.rs` and the secret in
//! `sqlite/mail.rs`; being in the database, all of it is shared by every
//! receiver on the same database.

use anyhow::Result;
use kiln_bake::avatar::AvatarKeys;

use super::PgStore;
use crate::store::{random_hex, AdminSession, MODERATOR_PASSWORD_PREFIX};

/// The `meta` key holding the admin password's PHC string.
const PASSWORD_KEY: &str = "admin_password";

impl PgStore {
    /// The signing secret, made by whichever receiver asks first: two asking
    /// at once both insert-or-nothing, then read the one that won.
    pub fn secret(&mut self) -> Result<String> {
        // Read first: once a receiver has made the key, a bake on a
        // read-only connection signs its forms with it without writing.
        if let Some(row) = self
            .query("SELECT value FROM meta WHERE key = 'secret'", &[])?
            .into_iter()
            .next()
        {
            return Ok(row.try_get(0)?);
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING",
                &[&random_hex(32)],
            )?;
            Ok(tx
                .query_one("SELECT value FROM meta WHERE key = 'secret'", &[])?
                .try_get(0)?)
        })
    }

    pub fn avatar_keys(&mut self, gravatar: bool) -> Result<AvatarKeys> {
        let salt: String = self
            .query_one("SELECT value FROM meta WHERE key = 'avatar_salt'", &[])?
            .try_get(0)?;
        Ok(AvatarKeys::new(salt.as_bytes(), gravatar))
    }

    /// The stored password hash (a PHC string), if a password was ever set.
    pub fn admin_password_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&PASSWORD_KEY])?
            .map(|row| row.get(0)))
    }

    /// Replaces the password hash and ends every session, in one transaction:
    /// a new password logs everybody out.
    pub fn set_admin_password_hash(&mut self, phc: &str) -> Result<()> {
        self.set_password(PASSWORD_KEY, phc, None)
    }

    /// Stores a password hash under `key` and ends `moderator`'s sessions
    /// (`None`: every session), in one transaction.
    fn set_password(&mut self, key: &str, phc: &str, moderator: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &phc],
            )?;
            tx.execute(
                "DELETE FROM admin_sessions WHERE $1::text IS NULL OR moderator = $1",
                &[&moderator],
            )?;
            Ok(())
        })
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
        self.write(|tx| {
            tx.execute("DELETE FROM admin_sessions WHERE expires_at <= $1", &[&now])?;
            tx.execute(
                "INSERT INTO admin_sessions (id_hash, csrf, created_at, expires_at, moderator)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&id_hash, &csrf, &now, &expires_at, &moderator],
            )?;
            Ok(())
        })
    }

    /// A live session, or `None` if there is no such session or it has
    /// expired.
    pub fn admin_session(&mut self, id_hash: &str, now: i64) -> Result<Option<AdminSession>> {
        Ok(self
            .query_opt(
                "SELECT csrf, moderator FROM admin_sessions WHERE id_hash = $1 AND expires_at > $2",
                &[&id_hash, &now],
            )?
            .map(|row| AdminSession {
                csrf: row.get(0),
                moderator: row.get(1),
            }))
    }

    /// A named moderator's password hash, if one was set.
    pub fn moderator_password_hash(&mut self, name: &str) -> Result<Option<String>> {
        let key = format!("{MODERATOR_PASSWORD_PREFIX}{name}");
        Ok(self
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|row| row.get(0)))
    }

    /// Sets a named moderator's password hash and ends that moderator's
    /// sessions, in one transaction.
    pub fn set_moderator_password_hash(&mut self, name: &str, phc: &str) -> Result<()> {
        let key = format!("{MODERATOR_PASSWORD_PREFIX}{name}");
        self.set_password(&key, phc, Some(name))
    }

    /// The named moderator accounts, sorted.
    pub fn moderator_accounts(&mut self) -> Result<Vec<String>> {
        let rows = self.query(
            r#"SELECT substr(key, $1) FROM meta WHERE starts_with(key, $2) ORDER BY key COLLATE "C""#,
            &[
                &(MODERATOR_PASSWORD_PREFIX.len() as i32 + 1),
                &MODERATOR_PASSWORD_PREFIX,
            ],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Ends a session (logout). Ending an unknown session is not an error.
    pub fn end_admin_session(&mut self, id_hash: &str) -> Result<()> {
        // Ending it twice is ending it once: safe to run again (`query`).
        self.query("DELETE FROM admin_sessions WHERE id_hash = $1", &[&id_hash])?;
        Ok(())
    }
}
