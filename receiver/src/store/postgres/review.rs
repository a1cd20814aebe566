//! Moderation beyond approve/reject/delete on PostgreSQL: marking spam,
//! unpublishing, editing, and the admin page's search. The SQL mirrors
//! `sqlite/review.rs`; the batches lock their rows as `change_each` does.

use std::cell::Cell;

use anyhow::Result;
use kiln_bake::markdown;
use postgres::types::ToSql;

use super::{comment, queue, PgStore, Refused, Touched, Tx, SELECT_COMMENT};
use crate::store::{CommentEdit, Refusal, Search, Status, StoredComment};

impl PgStore {
    /// Marks pending comments as spam. All or nothing.
    pub fn spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.change_each(
            ids,
            |tx, id, status, _, _| {
                if status != Status::Pending {
                    return Ok(Err(Refusal::NotPending(id, status.as_str())));
                }
                tx.execute("UPDATE comments SET status = 'spam' WHERE id = $1", &[&id])?;
                Ok(Ok(()))
            },
            |_| Ok(()),
        )
    }

    /// Returns comments marked as spam to the queue. All or nothing.
    pub fn not_spam(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.change_each(
            ids,
            |tx, id, status, _, _| {
                if status != Status::Spam {
                    return Ok(Err(Refusal::NotSpam(id, status.as_str())));
                }
                tx.execute(
                    "UPDATE comments SET status = 'pending' WHERE id = $1",
                    &[&id],
                )?;
                Ok(Ok(()))
            },
            |_| Ok(()),
        )
    }

    /// Takes approved comments off the page and back into the queue, unless
    /// they have published replies. All or nothing.
    pub fn unpublish(&mut self, ids: &[i64]) -> Result<Refused<()>> {
        self.change_each(
            ids,
            |tx, id, status, thread_id, touched| {
                if status != Status::Approved {
                    return Ok(Err(Refusal::NotPublished(id, status.as_str())));
                }
                back_to_queue(tx, id, thread_id, touched)
            },
            |_| Ok(()),
        )
    }

    /// Replaces a comment's fields and stored HTML; with `hold`, a published
    /// comment also goes back to the queue (refused when it has published
    /// replies) and the moderators are told. Deleted markers cannot be edited.
    pub fn edit(
        &mut self,
        id: i64,
        edit: &CommentEdit,
        hold: bool,
    ) -> Result<Refused<StoredComment>> {
        let mail_events = self.mail_events;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let html = markdown::to_html(&edit.text);
        let held = Cell::new(false);
        let outcome = self.change_each(
            &[id],
            |tx, id, status, thread_id, touched| {
                if status == Status::Deleted {
                    return Ok(Err(Refusal::DeletedMarker(id)));
                }
                held.set(hold && status == Status::Approved);
                if held.get() {
                    if let Err(refusal) = back_to_queue(tx, id, thread_id, touched)? {
                        return Ok(Err(refusal));
                    }
                } else if status.is_published() {
                    touched.thread(thread_id, 0);
                }
                tx.execute(
                    "UPDATE comments SET author = $2, email = $3, website = $4, text = $5,
                            html = $6, html_version = $7,
                            identity_subject = CASE WHEN author = $2 THEN identity_subject END
                     WHERE id = $1",
                    &[
                        &id,
                        &edit.author,
                        &edit.email,
                        &edit.website,
                        &edit.text,
                        &html,
                        &markdown::VERSION,
                    ],
                )?;
                Ok(Ok(()))
            },
            |tx| match held.get() {
                true => queue::after_held_edit(tx, mail_events, id, now),
                false => Ok(()),
            },
        )?;
        match outcome {
            Ok(()) => Ok(Ok(self.get(id)?.expect("edited comment exists"))),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// Comments matching `search`, newest first. Only the conditions given
    /// are put in the statement, so the planner can use the status or thread
    /// index. Words match case-insensitively for ASCII only, as SQLite's
    /// LIKE does: ILIKE under the "C" collation folds nothing else.
    pub fn search(&mut self, search: &Search) -> Result<Vec<StoredComment>> {
        let mut conditions = Vec::new();
        let mut values: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(status) = search.status {
            values.push(Box::new(status.as_str()));
            conditions.push(format!("c.status = ${}", values.len()));
        }
        if let Some(site) = &search.site {
            values.push(Box::new(site.clone()));
            conditions.push(format!("t.site = ${}", values.len()));
        }
        if let Some(thread) = &search.thread {
            values.push(Box::new(thread.clone()));
            conditions.push(format!("t.key = ${}", values.len()));
        }
        if let Some(words) = &search.words {
            // `\` is ILIKE's escape, so `%` and `_` match themselves.
            let escaped = words
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            values.push(Box::new(format!("%{escaped}%")));
            let n = values.len();
            conditions.push(format!(
                "(c.text COLLATE \"C\" ILIKE ${n} OR c.author COLLATE \"C\" ILIKE ${n} \
                 OR c.email COLLATE \"C\" ILIKE ${n} OR t.key COLLATE \"C\" ILIKE ${n})"
            ));
        }
        values.push(Box::new(i64::try_from(search.limit).unwrap_or(i64::MAX)));
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{SELECT_COMMENT} {filter} ORDER BY c.created_at DESC, c.id DESC LIMIT ${}",
            values.len()
        );
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        self.conn
            .query(&sql, &params)?
            .iter()
            .map(comment)
            .collect()
    }
}

/// Takes a (locked) published comment off the page and back into the queue,
/// unless it has replies on the page: those would lose their parent. A
/// reply being stored holds the parent's row FOR SHARE, so the count here
/// sees every reply that could still become published.
fn back_to_queue(
    tx: &mut Tx<'_>,
    id: i64,
    thread_id: i64,
    touched: &mut Touched,
) -> Result<Refused<()>> {
    let replies: i64 = tx
        .query_one(
            "SELECT count(*) FROM comments
             WHERE parent_id = $1 AND status IN ('approved', 'deleted')",
            &[&id],
        )?
        .try_get(0)?;
    if replies > 0 {
        return Ok(Err(Refusal::HasPublishedReplies(id)));
    }
    tx.execute(
        "UPDATE comments SET status = 'pending', approved_at = NULL WHERE id = $1",
        &[&id],
    )?;
    touched.thread(thread_id, -1);
    Ok(Ok(()))
}
