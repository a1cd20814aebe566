//! The spam checks that need history, on PostgreSQL: has this text come
//! into the thread from this client or address before, and has this address
//! been approved before. The SQL follows `sqlite/abuse.rs`, with addresses
//! compared as `lower(x COLLATE "C")` (ASCII folding, like NOCASE) to use the
//! `comments_email` index, and a type on each parameter that is otherwise
//! only seen by `IS NOT NULL`, from which PostgreSQL cannot tell its type.

use anyhow::Result;

use super::PgStore;

impl PgStore {
    /// Whether a comment with exactly `text` came into the same thread from
    /// the same anonymized client address or the same email (ignoring ASCII
    /// case) since `since`. Deleted comments and other threads do not count.
    pub fn is_duplicate(
        &mut self,
        site: &str,
        thread: &str,
        text: &str,
        remote_addr: Option<&str>,
        email: Option<&str>,
        since: i64,
    ) -> Result<bool> {
        if remote_addr.is_none() && email.is_none() {
            return Ok(false);
        }
        Ok(self
            .conn
            .query_one(
                r#"SELECT EXISTS (
                       SELECT 1 FROM comments
                       WHERE thread_id = (SELECT id FROM threads WHERE site = $6 AND key = $5)
                         AND text = $1 AND created_at >= $4 AND status <> 'deleted'
                         AND (($2::text IS NOT NULL AND remote_addr = $2::text)
                              OR ($3::text IS NOT NULL
                                  AND lower(email COLLATE "C") = lower($3::text COLLATE "C"))))"#,
                &[&text, &remote_addr, &email, &since, &thread, &site],
            )?
            .get(0))
    }

    /// Whether `email` (ignoring ASCII case) has an approved comment.
    pub fn has_approved_comment(&mut self, email: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_one(
                r#"SELECT EXISTS (SELECT 1 FROM comments
                                  WHERE lower(email COLLATE "C") = lower($1 COLLATE "C")
                                    AND status = 'approved')"#,
                &[&email],
            )?
            .get(0))
    }
}
