//! One person's data, by email address: everything kiln holds about it as
//! JSON (`kiln export --email`), and forgetting it (`kiln forget`): their
//! comments go (a comment with replies stays as a "deleted" marker, like any
//! deletion), and so do their subscription and the mail queued for them.
//! Both are one statement set in one transaction.

use anyhow::Result;
use rusqlite::OptionalExtension;
use serde_json::{json, Value};

use super::{parse_status, remove_comment, SqliteStore};
use crate::store::Forgotten;

impl SqliteStore {
    /// Every comment (any status) and the subscription of `email`, compared
    /// ignoring case, as one JSON document. The client address is included:
    /// it is the commenter's own (anonymized) data.
    pub fn personal_data(&self, email: &str) -> Result<Value> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, t.key, c.page_url, c.parent_id, c.status, c.author, c.email,
                    c.website, c.text, c.remote_addr, c.created_at, c.approved_at, c.notify
             FROM comments c JOIN threads t ON t.id = c.thread_id
             WHERE c.email = ?1 COLLATE NOCASE ORDER BY c.id",
        )?;
        let time = |secs: Option<i64>| secs.map(kiln_bake::export::unix_to_rfc3339);
        let comments = stmt
            .query_map([email], |r| {
                Ok(json!({
                    "id": r.get::<_, i64>(0)?,
                    "thread": r.get::<_, String>(1)?,
                    "page_url": r.get::<_, String>(2)?,
                    "parent": r.get::<_, Option<i64>>(3)?,
                    "status": r.get::<_, String>(4)?,
                    "name": r.get::<_, String>(5)?,
                    "email": r.get::<_, Option<String>>(6)?,
                    "website": r.get::<_, Option<String>>(7)?,
                    "text": r.get::<_, String>(8)?,
                    "client_address": r.get::<_, Option<String>>(9)?,
                    "created_at": time(r.get(10)?),
                    "approved_at": time(r.get(11)?),
                    "reply_notifications": r.get::<_, i64>(12)? != 0,
                }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let subscription = self
            .conn
            .query_row(
                "SELECT created_at, confirmed_at, unsubscribed_at FROM subscribers
                 WHERE email = ?1 COLLATE NOCASE",
                [email],
                |r| {
                    Ok(json!({
                        "created_at": time(r.get(0)?),
                        "confirmed_at": time(r.get(1)?),
                        "unsubscribed_at": time(r.get(2)?),
                    }))
                },
            )
            .optional()?;
        Ok(json!({
            "email": email,
            "comments": comments,
            "subscription": subscription,
        }))
    }

    /// Removes everything kiln holds about `email` (ignoring case), in one
    /// transaction. Replies are removed before what they answer, so a
    /// person's own conversation goes entirely.
    pub fn forget(&mut self, email: &str) -> Result<Forgotten> {
        let tx = self.write_tx()?;
        let rows: Vec<(i64, String, i64)> = {
            let mut stmt = tx.prepare(
                "SELECT id, status, thread_id FROM comments
                 WHERE email = ?1 COLLATE NOCASE ORDER BY id DESC",
            )?;
            let rows = stmt
                .query_map([email], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows
        };
        let mut done = Forgotten::default();
        for (id, status, thread_id) in rows {
            let status = parse_status(&status)?;
            tx.execute("DELETE FROM outbox WHERE comment_id = ?1", [id])?;
            remove_comment(&tx, id, status, thread_id)?;
            let kept: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM comments WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )?;
            if kept {
                done.kept_as_deleted += 1;
            } else {
                done.removed += 1;
            }
        }
        done.queued_mail = tx.execute(
            "DELETE FROM outbox WHERE recipient = ?1 COLLATE NOCASE",
            [email],
        )? as u64;
        done.subscription = tx.execute(
            "DELETE FROM subscribers WHERE email = ?1 COLLATE NOCASE",
            [email],
        )? > 0;
        tx.commit()?;
        Ok(done)
    }
}
