//! The queries behind the spam checks that need history: has this text come
//! from this client or address before, and has this address been approved
//! before (for opt-in auto-approval). Each is a function of a connection as
//! well, so a batch of submissions (`posting.rs`) asks them inside its own
//! transaction and sees the comments stored earlier in the batch.

use anyhow::Result;
use rusqlite::{params, Connection};

use super::SqliteStore;

impl SqliteStore {
    pub fn is_duplicate(
        &self,
        site: &str,
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool> {
        is_duplicate(&self.conn, (site, thread), text, remote_addr, email, since)
    }

    pub fn has_approved_comment(&self, email: &str) -> Result<bool> {
        has_approved_comment(&self.conn, email)
    }
}

/// Whether a comment with exactly `text` came into the same thread from
/// the same anonymized client address or the same email (ignoring case)
/// since `since`. Deleted comments do not count: the author may post
/// again. Other threads do not either: "Thank you!" under two posts is
/// not spam.
pub(super) fn is_duplicate(
    conn: &Connection,
    (site, thread): (&str, &str),
    text: &str,
    remote_addr: Option<&str>,
    email: Option<&str>,
    since: i64,
) -> Result<bool> {
    if remote_addr.is_none() && email.is_none() {
        return Ok(false);
    }
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (
                 SELECT 1 FROM comments
                 WHERE thread_id = (SELECT id FROM threads WHERE site = ?6 AND key = ?5)
                   AND text = ?1 AND created_at >= ?4 AND status <> 'deleted'
                   AND ((?2 IS NOT NULL AND remote_addr = ?2)
                        OR (?3 IS NOT NULL AND email = ?3 COLLATE NOCASE)))",
        )?
        .query_row(
            params![text, remote_addr, email, since, thread, site],
            |r| r.get(0),
        )?)
}

/// Whether `email` (ignoring case) has an approved comment.
pub(super) fn has_approved_comment(conn: &Connection, email: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM comments
                            WHERE email = ?1 COLLATE NOCASE AND status = 'approved')",
        )?
        .query_row([email], |r| r.get(0))?)
}
