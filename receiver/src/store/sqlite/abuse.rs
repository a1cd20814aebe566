//! The queries behind the spam checks that need history: has this text come
//! from this client or address before, and has this address been approved
//! before (for opt-in auto-approval).

use anyhow::Result;
use rusqlite::params;

use super::SqliteStore;

impl SqliteStore {
    /// Whether a comment with exactly `text` came into the same thread from
    /// the same anonymized client address or the same email (ignoring case)
    /// since `since`. Deleted comments do not count: the author may post
    /// again. Other threads do not either: "Thank you!" under two posts is
    /// not spam.
    pub fn is_duplicate(
        &self,
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool> {
        if remote_addr.is_none() && email.is_none() {
            return Ok(false);
        }
        Ok(self.conn.query_row(
            "SELECT EXISTS (
                 SELECT 1 FROM comments
                 WHERE thread_id = (SELECT id FROM threads WHERE key = ?5)
                   AND text = ?1 AND created_at >= ?4 AND status <> 'deleted'
                   AND ((?2 IS NOT NULL AND remote_addr = ?2)
                        OR (?3 IS NOT NULL AND email = ?3 COLLATE NOCASE)))",
            params![text, remote_addr, email, since, thread],
            |r| r.get(0),
        )?)
    }

    /// Whether `email` (ignoring case) has an approved comment.
    pub fn has_approved_comment(&self, email: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM comments
                            WHERE email = ?1 COLLATE NOCASE AND status = 'approved')",
            [email],
            |r| r.get(0),
        )?)
    }
}
