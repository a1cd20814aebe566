//! One person's data on PostgreSQL, by email address: everything kiln holds
//! about it as JSON, and forgetting it, with the semantics of
//! `sqlite/privacy.rs` (a comment with replies stays as a "deleted" marker).
//! Addresses compare ignoring ASCII case, as SQLite's NOCASE does, through
//! `lower(… COLLATE "C")`, which the schema's indexes are built on.

use anyhow::Result;
use serde_json::{json, Value};

use super::comments::remove_comment;
use super::{status, PgStore, Touched};
use crate::store::Forgotten;

impl PgStore {
    /// Every comment (any status) and the subscription of `email`, as one
    /// JSON document, read in one transaction so the two parts agree.
    pub fn personal_data(&mut self, email: &str) -> Result<Value> {
        let time = |secs: Option<i64>| secs.map(kiln_bake::export::unix_to_rfc3339);
        self.write(|tx| {
            let comments = tx
                .query(
                    "SELECT c.id, t.key, c.page_url, c.parent_id, c.status, c.author, c.email,
                            c.website, c.text, c.remote_addr, c.created_at, c.approved_at,
                            c.notify
                     FROM comments c JOIN threads t ON t.id = c.thread_id
                     WHERE lower(c.email COLLATE \"C\") = lower($1 COLLATE \"C\")
                     ORDER BY c.id",
                    &[&email],
                )?
                .iter()
                .map(|r| {
                    Ok(json!({
                        "id": r.try_get::<_, i64>(0)?,
                        "thread": r.try_get::<_, String>(1)?,
                        "page_url": r.try_get::<_, String>(2)?,
                        "parent": r.try_get::<_, Option<i64>>(3)?,
                        "status": r.try_get::<_, String>(4)?,
                        "name": r.try_get::<_, String>(5)?,
                        "email": r.try_get::<_, Option<String>>(6)?,
                        "website": r.try_get::<_, Option<String>>(7)?,
                        "text": r.try_get::<_, String>(8)?,
                        "client_address": r.try_get::<_, Option<String>>(9)?,
                        "created_at": time(r.try_get(10)?),
                        "approved_at": time(r.try_get(11)?),
                        "reply_notifications": r.try_get::<_, bool>(12)?,
                    }))
                })
                .collect::<Result<Vec<_>>>()?;
            let subscription = tx
                .query_opt(
                    "SELECT created_at, confirmed_at, unsubscribed_at FROM subscribers
                     WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\")",
                    &[&email],
                )?
                .map(|r| -> Result<Value> {
                    Ok(json!({
                        "created_at": time(r.try_get(0)?),
                        "confirmed_at": time(r.try_get(1)?),
                        "unsubscribed_at": time(r.try_get(2)?),
                    }))
                })
                .transpose()?;
            Ok(json!({
                "email": email,
                "comments": comments,
                "subscription": subscription,
            }))
        })
    }

    /// Removes everything kiln holds about `email`, in one transaction. The
    /// comments are locked in id order (as every batch locks them), then
    /// removed replies first, so a person's own conversation goes entirely;
    /// then the threads and the change sequence, the subscription, and the
    /// queued mail, in the order every transaction takes them.
    pub fn forget(&mut self, email: &str) -> Result<Forgotten> {
        self.write(|tx| {
            let rows = tx.query(
                "SELECT id, status, thread_id FROM comments
                 WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\")
                 ORDER BY id FOR UPDATE",
                &[&email],
            )?;
            let mut done = Forgotten::default();
            let mut touched = Touched::default();
            let mut ids = Vec::with_capacity(rows.len());
            for row in rows.iter().rev() {
                let id: i64 = row.try_get(0)?;
                remove_comment(tx, id, status(row.try_get(1)?)?, row.try_get(2)?, &mut touched)?;
                let kept: bool = tx
                    .query_one("SELECT EXISTS (SELECT 1 FROM comments WHERE id = $1)", &[&id])?
                    .try_get(0)?;
                if kept {
                    done.kept_as_deleted += 1;
                } else {
                    done.removed += 1;
                }
                ids.push(id);
            }
            touched.touch(tx)?;
            // The subscription before the outbox, as `unsubscribe` and
            // queueing take them.
            done.subscription = tx.execute(
                "DELETE FROM subscribers WHERE lower(email COLLATE \"C\") = lower($1 COLLATE \"C\")",
                &[&email],
            )? > 0;
            tx.execute("DELETE FROM outbox WHERE comment_id = ANY($1)", &[&ids])?;
            done.queued_mail = tx.execute(
                "DELETE FROM outbox WHERE lower(recipient COLLATE \"C\") = lower($1 COLLATE \"C\")",
                &[&email],
            )?;
            Ok(done)
        })
    }
}
